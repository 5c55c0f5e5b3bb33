"""Orphan ciphertext: a sealed file written by a transaction that rolls back is removed by
the service when it raises, and otherwise by the pruning of `verify_documents
--prune-orphans` (sparing young files, keeping every file a SealedDocument refers to)."""

import io
import os
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from core import clock
from procurement import document_store
from procurement.models import BidVersion, SealedDocument
from procurement.services import bids
from tests.procurement.bidding import called_tender, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def tender():
    return called_tender()


def _sealed_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "sealed"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def _age(settings, name: str, seconds: int) -> None:
    path = Path(settings.MEDIA_ROOT) / name
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_a_rolled_back_draft_leaves_an_orphan_that_the_pruning_removes(tender, settings):
    supplier, user = tender.bidder()
    with clock.pinned(tender.during):
        kept = bids.upload_draft_document(user, tender.process, supplier, pdf("a"), title="A")
        with pytest.raises(RuntimeError), transaction.atomic():
            bids.upload_draft_document(user, tender.process, supplier, pdf("b"), title="B")
            raise RuntimeError("the request failed after the file was written")
    assert list(SealedDocument.objects.values_list("pk", flat=True)) == [kept.pk]
    files = _sealed_files(settings)
    assert len(files) == 2
    orphan = next(str(f.relative_to(settings.MEDIA_ROOT)) for f in files if kept.file not in str(f))
    # Young: its transaction may still be committing.
    assert document_store.prune_sealed_orphans() == []
    _age(settings, orphan, 7200)
    _age(settings, kept.file, 7200)  # old but referenced: kept
    assert document_store.prune_sealed_orphans(dry_run=True) == [orphan]
    assert len(_sealed_files(settings)) == 2
    out = io.StringIO()
    call_command("verify_documents", "--prune-orphans", stdout=out)
    assert f"removed {orphan}" in out.getvalue()
    assert "1 orphan sealed bid file(s) removed" in out.getvalue()
    assert _sealed_files(settings) == [Path(settings.MEDIA_ROOT) / kept.file]


def test_an_error_after_the_draft_is_written_discards_its_file(tender, settings, monkeypatch):
    supplier, user = tender.bidder()

    def broken(*args, **kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(bids.audit, "record", broken)
    with clock.pinned(tender.during), pytest.raises(RuntimeError):
        bids.upload_draft_document(user, tender.process, supplier, pdf(), title="Propuesta")
    assert not SealedDocument.objects.exists()
    assert _sealed_files(settings) == []


def test_an_error_in_a_paper_bid_discards_its_scanned_files(tender, settings, monkeypatch):
    supplier, _user = tender.bidder()

    def broken(*args, **kwargs):
        raise RuntimeError("the ledger is unavailable")

    monkeypatch.setattr(bids.receipts, "append_to_ledger", broken)
    with clock.pinned(tender.during), pytest.raises(RuntimeError):
        bids.record_paper_bid(
            tender.staff,
            tender.process,
            supplier,
            prices=tender.prices(),
            uploads=[pdf("uno", "uno.pdf"), pdf("dos", "dos.pdf")],
        )
    assert not BidVersion.objects.exists() and not SealedDocument.objects.exists()
    assert _sealed_files(settings) == []
