"""Receipts verify offline with the public key alone; the ledger is append-only and its
chain breaks visibly when a row is altered."""

import copy
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from core import signing
from procurement.models import BidVersion, ReceiptLedgerEntry
from procurement.receipts import receipt_hash, verify_ledger, verify_receipt
from tests.procurement.bidding import called_tender

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_receipts():
    tender = called_tender()
    first_supplier, first_user = tender.bidder()
    second_supplier, second_user = tender.bidder()
    return [
        tender.submit(first_user, first_supplier),
        tender.submit(second_user, second_supplier),
    ]


def test_a_receipt_verifies_with_only_the_public_key(client, two_receipts):
    pem = client.get("/recibos/clave-publica.pem").content
    receipt = json.loads(two_receipts[0].as_json())  # what the bidder downloads
    assert (
        receipt_hash(receipt["content"], receipt["received_at"], receipt["nonce"])
        == (receipt["receipt_hash"])
    )
    assert verify_receipt(receipt, pem)


def test_a_receipt_fails_when_one_byte_changes(two_receipts):
    pem = signing.public_key_pem()
    receipt = two_receipts[0].as_dict()
    total = receipt["content"]["total"]
    changed = copy.deepcopy(receipt)
    changed["content"]["total"] = total[:-1] + ("1" if total[-1] != "1" else "2")
    assert not verify_receipt(changed, pem)
    for field in ["nonce", "received_at", "receipt_hash"]:
        changed = copy.deepcopy(receipt)
        value = changed[field]
        changed[field] = value[:-1] + ("0" if value[-1] != "0" else "1")
        assert not verify_receipt(changed, pem), field
    # A signature over another receipt's hash does not verify this one.
    changed = dict(receipt, signature=two_receipts[1].signature)
    assert not verify_receipt(changed, pem)
    other_key = (
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
        "-----END PUBLIC KEY-----\n"
    )
    assert not verify_receipt(receipt, other_key)


def test_ledger_rows_and_versions_cannot_be_updated_or_deleted(two_receipts):
    for statement in [
        "UPDATE procurement_receiptledgerentry SET paper = true",
        "DELETE FROM procurement_receiptledgerentry",
        "UPDATE procurement_bidversion SET received_at = received_at - interval '1 day'",
        "DELETE FROM procurement_bidversion",
    ]:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert ReceiptLedgerEntry.objects.count() == 2 and BidVersion.objects.count() == 2


def _tamper(sql: str, params=()):
    """Alter the ledger as a database superuser could: the append-only trigger switched off
    for the statement (deferred constraint checks run first, as ALTER TABLE requires)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE procurement_receiptledgerentry DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE procurement_receiptledgerentry ENABLE TRIGGER USER")


def test_verify_receipts_passes_on_an_intact_ledger(two_receipts, capsys):
    call_command("verify_receipts")
    assert "2 entries" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("sql", "position", "reason"),
    [
        (
            "UPDATE procurement_receiptledgerentry SET received_at = received_at - "
            "interval '1 second' WHERE position = 2",
            2,
            "chain hash",
        ),
        (
            "UPDATE procurement_receiptledgerentry SET receipt_hash = repeat('a', 64) "
            "WHERE position = 1",
            1,
            "chain hash",
        ),
        (
            "UPDATE procurement_receiptledgerentry SET paper = NOT paper WHERE position = 2",
            2,
            "chain hash",
        ),
        ("DELETE FROM procurement_receiptledgerentry WHERE position = 1", 2, "missing"),
    ],
)
def test_an_altered_row_breaks_the_chain_visibly(two_receipts, sql, position, reason):
    _tamper(sql)
    report = verify_ledger()
    assert report.bad_position == position and reason in report.reason
    with pytest.raises(CommandError, match=f"position {position}"):
        call_command("verify_receipts")


def test_a_recomputed_chain_still_fails_on_the_signature(two_receipts):
    """Whoever rewrites a receipt hash and recomputes the chain cannot forge the signature."""
    from procurement.receipts import chain_hash, instant

    entry = ReceiptLedgerEntry.objects.get(position=2)
    forged = "b" * 64
    new_chain = chain_hash(
        entry.previous_hash,
        forged,
        entry.process.identifier,
        instant(entry.received_at),
        2,
        entry.kind,
        entry.paper,
    )
    _tamper(
        "UPDATE procurement_receiptledgerentry SET receipt_hash = %s, chain_hash = %s "
        "WHERE position = 2",
        [forged, new_chain],
    )
    report = verify_ledger()
    assert report.bad_position == 2 and "signature" in report.reason
    with pytest.raises(CommandError, match="position 2"):
        call_command("verify_receipts")


def test_the_readme_snippet_verifies_a_downloaded_receipt(two_receipts, tmp_path, monkeypatch):
    """The few lines of Python the README gives bidders work as printed."""
    from pathlib import Path

    from django.conf import settings

    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Bid receipts") :]
    snippet = section[section.index("```python") + len("```python") : section.index("```\n")]
    snippet = "\n".join(line.removeprefix("  ") for line in snippet.splitlines())
    (tmp_path / "recibo.json").write_text(two_receipts[0].as_json(), encoding="utf-8")
    (tmp_path / "clave-publica.pem").write_text(signing.public_key_pem(), encoding="ascii")
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})  # noqa: S102 - our own README
    forged = json.loads(two_receipts[0].as_json())
    forged["content"]["total"] = "1.00"
    (tmp_path / "recibo.json").write_text(json.dumps(forged), encoding="utf-8")
    with pytest.raises(AssertionError, match="changed"):
        exec(compile(snippet, "README.md", "exec"), {})  # noqa: S102


def test_the_receipt_page_answers_odd_hashes_with_404(client, two_receipts):
    known = two_receipts[0].receipt_hash
    assert client.get(f"/recibos/{known}/").status_code == 200
    for odd in [
        known.upper(),
        known[:63],
        known + "0",
        "é" * 64,
        "\uff10" * 64,  # fullwidth digits
        known[:63] + "%0A",
        "0" * 64,  # well formed, unknown
        "%00" * 5,
    ]:
        assert client.get(f"/recibos/{odd}/").status_code == 404, odd
