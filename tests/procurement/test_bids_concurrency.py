"""Concurrent bidders in two processes: every submission gets its own receipt and ledger
position, and the chain never forks (the advisory lock serialises ledger writers)."""

import threading

import pytest
from django.db import connection

from procurement.models import ReceiptLedgerEntry
from procurement.receipts import verify_ledger
from tests.procurement.bidding import called_tender


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_chain_without_forks():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises every writer anyway")
    tenders = [called_tender(items=1), called_tender(items=1)]
    bidders = [(tender, *tender.bidder()) for tender in tenders for _ in range(3)]
    receipts, errors = [], []
    start = threading.Barrier(len(bidders))

    def bid(tender, supplier, user):
        try:
            start.wait(timeout=30)
            for _round in range(2):  # a submission and a replacement
                receipts.append(tender.submit(user, supplier))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=bid, args=args) for args in bidders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(receipts) == 2 * len(bidders)
    positions = sorted(receipt.position for receipt in receipts)
    assert positions == list(range(1, len(receipts) + 1))
    assert ReceiptLedgerEntry.objects.count() == len(receipts)
    report = verify_ledger()
    assert report.ok and report.checked == len(receipts)
