"""The public receipt ledger pages: /recibos/ and /recibos/<receipt hash>/."""

import pytest

from core import signing
from procurement.services import bids
from tests.procurement.bidding import called_tender

pytestmark = pytest.mark.django_db


@pytest.fixture
def receipted():
    tender = called_tender()
    supplier, user = tender.bidder()
    receipt = tender.submit(user, supplier)
    return tender, supplier, user, receipt


def test_the_ledger_lists_receipts_without_the_bidder(client, receipted):
    tender, supplier, user, receipt = receipted
    response = client.get("/recibos/")
    assert response.status_code == 200
    page = response.content.decode()
    assert receipt.receipt_hash in page and receipt.chain_hash in page
    assert tender.process.identifier in page
    assert f"/procesos/{tender.process.identifier}/" in page
    for identity in [supplier.ruc, supplier.legal_name, user.email]:
        assert identity not in page
    assert client.get("/recibos/?page=abc").status_code == 200
    assert client.get("/recibos/?page=99999999999999999999").status_code == 200


def test_one_receipt_page_and_404s(client, receipted):
    tender, supplier, _user, receipt = receipted
    response = client.get(f"/recibos/{receipt.receipt_hash}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert tender.process.identifier in page and receipt.signature in page
    assert "#1" in page and signing.key_id() in page and "load_pem_public_key" in page
    assert supplier.ruc not in page
    assert client.get(f"/recibos/{'0' * 64}/").status_code == 404
    for malformed in ["abc", receipt.receipt_hash.upper(), receipt.receipt_hash + "0", "x" * 64]:
        assert client.get(f"/recibos/{malformed}/").status_code == 404
    # The public key sits next to them and still answers.
    pem = client.get("/recibos/clave-publica.pem")
    assert pem.status_code == 200 and pem.content.decode() == signing.public_key_pem()


def test_the_ledger_says_when_there_is_nothing_yet(client):
    response = client.get("/recibos/")
    assert response.status_code == 200 and bids.ReceiptLedgerEntry.objects.count() == 0
