"""The seed's receipt ledger signed in worker processes (a seed of its own: the other seed
checks share one seed per module, tests/seeding.py)."""

from io import StringIO

import pytest
from django.core.management import call_command

from procurement.models import ReceiptLedgerEntry

pytestmark = pytest.mark.django_db


def test_receipts_signed_by_worker_processes_verify_and_match_this_ones(monkeypatch):
    # Large seeds sign the ledger in a pool of forked workers (procurement.demo.bids._Signer);
    # forced here from the first receipt, a 40-process seed's ledger still verifies, with the
    # very signatures this process makes (Ed25519 is deterministic).
    from procurement import receipts
    from procurement.demo import bids as demo_bids

    monkeypatch.setattr(demo_bids, "SIGN_BATCH", 7)
    monkeypatch.setattr(demo_bids, "SIGN_IN_WORKERS_FROM", 1)
    call_command("seed_demo", "--processes", "40", "--seed", "3", stdout=StringIO())
    entries = list(ReceiptLedgerEntry.objects.values_list("receipt_hash", "signature"))
    assert len(entries) > 7
    assert all(signature == receipts.sign(receipt) for receipt, signature in entries)
    out = StringIO()
    call_command("verify_receipts", stdout=out)
    assert "OK" in out.getvalue()
