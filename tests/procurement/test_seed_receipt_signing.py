"""The seed's receipts signed in worker processes (a seed of its own: the other seed checks
share one seed per module, tests/seeding.py)."""

import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from procurement.models import ReceiptLedgerEntry

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="workers run on PostgreSQL only")
def test_receipts_signed_by_worker_processes_verify_and_match_this_ones(monkeypatch, tmp_path):
    # The chunk workers (procurement.demo.workers) sign each receipt as they make it, and this
    # process only chains them: a 40-process seed in chunks of 7 still verifies, with the very
    # signatures this process makes (Ed25519 is deterministic).
    from procurement import receipts
    from procurement.demo import bids as demo_bids
    from procurement.demo import workers

    sign = receipts.sign
    signed_in = tmp_path / "signers"  # a file named by the id of each process that signed
    signed_in.mkdir()

    def recorded(receipt: str) -> str:
        (signed_in / str(os.getpid())).touch()
        return sign(receipt)

    monkeypatch.setattr(receipts, "sign", recorded)
    monkeypatch.setattr(workers, "parallel_available", lambda: True)
    monkeypatch.setattr(demo_bids, "CHUNK", 7)
    call_command("seed_demo", "--processes", "40", "--seed", "3", stdout=StringIO())
    signers = {int(path.name) for path in signed_in.iterdir()}
    assert signers - {os.getpid()}  # signed in the workers
    entries = list(ReceiptLedgerEntry.objects.values_list("receipt_hash", "signature"))
    assert len(entries) > 7
    assert all(signature == sign(receipt) for receipt, signature in entries)
    out = StringIO()
    call_command("verify_receipts", stdout=out)
    assert "OK" in out.getvalue()
