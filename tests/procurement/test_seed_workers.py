"""The seed's bids, awards and documents built chunk by chunk in forked worker processes
(procurement.demo.workers): the same rows as built in this process, and the receipt ledger
and the audit chain still verify. Seeds of their own (small chunks force several workers)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from core import clock
from procurement import sealing
from procurement.demo import awards as demo_awards
from procurement.demo import bids as demo_bids
from procurement.demo import documents as demo_documents
from procurement.demo import workers
from procurement.models import (
    Award,
    BidOpening,
    BidVersion,
    Contract,
    OpenedBid,
    ProcessDocument,
    ProcessSealKey,
    ProcurementProcess,
)
from procurement.services.bids import _version_aad as version_aad

pytestmark = pytest.mark.django_db(transaction=False)


def _seeded(monkeypatch, settings, tmp_path, *, parallel: bool) -> tuple[dict, int, str, str]:
    """Seed 150 processes in chunks of 12, with or without workers; what it made (by
    identifier, not ids, which come from sequences), the chunks the workers built, and the
    verify commands' output; rolled back."""
    built_in_workers = []
    run = workers.run_chunks

    def counting(chunks, read, build, write, *, parallel, workers=None):
        def write_counted(result):
            built_in_workers.append(parallel)
            write(result)

        run(chunks, read, build, write_counted, parallel=parallel, workers=workers)

    monkeypatch.setattr(workers, "run_chunks", counting)
    monkeypatch.setattr(workers, "parallel_available", lambda: parallel)
    monkeypatch.setattr(demo_bids, "CHUNK", 12)
    monkeypatch.setattr(demo_awards, "CHUNK", 12)
    monkeypatch.setattr(demo_documents, "CHUNK", 12)
    settings.ANCHOR_DIR = tmp_path / f"anchors-{parallel}"  # each seed checked against its own
    with transaction.atomic():
        # A past day: the seed's last moment is that day's end, not the (moving) present.
        day = (clock.today() - timedelta(days=3)).isoformat()
        call_command(
            "seed_demo", "--processes", "150", "--seed", "5", "--today", day, stdout=StringIO()
        )
        made = {
            "versions": sorted(
                BidVersion.objects.values_list(
                    "bid__process__identifier", "number", "kind", "received_at", "bid__paper"
                )
            ),
            "opened": sorted(
                OpenedBid.objects.values_list(
                    "opening__process__identifier", "position", "total", "status"
                )
            ),
            "awards": sorted(
                Award.objects.values_list("process__identifier", "item__description", "amount")
            ),
            "contracts": sorted(
                Contract.objects.values_list("award__process__identifier", "amount", "status")
            ),
        }
        # The call's documents (opening acts name random receipt hashes); their minute of
        # publication follows the process's id, which differs between runs.
        made["documents"] = sorted(
            ProcessDocument.objects.filter(kind__in=list(demo_documents.TITLES)).values_list(
                "process__identifier", "kind", "file", "size", "sha256"
            )
        )
        made["published"] = sorted(
            (identifier, answers is not None, integrated is not None)
            for identifier, answers, integrated in ProcurementProcess.objects.values_list(
                "identifier", "answers_published_at", "integrated_bases_published_at"
            )
        )
        made["unsealed"] = _unseal_every_version()
        # Each chunk's ids come from a block reserved in chunk order (not from whichever
        # worker asked the sequence first): they ascend with the processes.
        made["ids_follow_processes"] = all(
            ids == sorted(ids)
            for ids in (
                list(BidOpening.objects.order_by("process_id").values_list("pk", flat=True)),
                list(
                    OpenedBid.objects.order_by("opening__process_id", "position").values_list(
                        "pk", flat=True
                    )
                ),
            )
        )
        receipts, audit = StringIO(), StringIO()
        call_command("verify_receipts", stdout=receipts)
        call_command("verify_audit", stdout=audit)
        transaction.set_rollback(True)
    return made, sum(built_in_workers), receipts.getvalue(), audit.getvalue()


def _unseal_every_version() -> int:
    """Each sealed version opens with its process's key (as the opening service opens it);
    returns how many: the ciphertexts came through the workers' COPY text intact."""
    keys = {
        process: sealing.unwrap_key(wrapped)
        for process, wrapped in ProcessSealKey.objects.values_list("process_id", "wrapped_key")
    }
    opened = 0
    for version in BidVersion.objects.select_related("bid"):
        key = keys[version.bid.process_id]
        content = sealing.unseal(
            key, bytes(version.sealed), version_aad(version.bid, version.number)
        )
        assert json.loads(content)["nonce"]
        opened += 1
    return opened


@pytest.mark.skipif(connection.vendor != "postgresql", reason="workers run on PostgreSQL only")
def test_rows_built_by_workers_are_the_ones_built_here_and_the_chains_verify(
    monkeypatch, settings, tmp_path
):
    in_workers, chunks, receipts, audit = _seeded(monkeypatch, settings, tmp_path, parallel=True)
    assert chunks > 4  # bids and awards of 150 processes in chunks of 12: several workers
    assert "OK" in receipts
    assert "Audit chain OK" in audit
    here, none, _receipts, _audit = _seeded(monkeypatch, settings, tmp_path, parallel=False)
    assert none == 0
    assert in_workers["versions"] and in_workers["opened"] and in_workers["awards"]
    assert in_workers["unsealed"] > 0
    assert in_workers["ids_follow_processes"]
    assert in_workers["documents"]  # the documents' PDFs made and stored by workers too
    assert in_workers == here  # each chunk's own random stream: same rows wherever built
