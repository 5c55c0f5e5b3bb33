"""The demo seed publishes each process's documents: small real PDFs naming their process,
stored content-addressed, in the audit chain, shown on the process pages; files for the first
processes and a fixed sample above them, and no row without its file."""

import hashlib
import re
import zlib
from collections import Counter, defaultdict
from datetime import date
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from core.codelists import Stage
from core.models import AuditEntry
from procurement import document_store
from procurement.demo import pdf
from procurement.demo.awards import shared_table_pdf
from procurement.demo.documents import SAMPLE_ONE_IN, has_files
from procurement.documents import check_document
from procurement.models import ProcessDocument, ProcessStatus, ProcurementProcess

pytestmark = pytest.mark.django_db
TODAY = "2026-11-25"
PROCESSES = 160
FIRST = 60
Kind = ProcessDocument.Kind


def xref_offsets_hold(content: bytes) -> bool:
    """Every object the cross-reference table lists starts where it says."""
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", content).group(1))
    assert content[start:].startswith(b"xref\n")
    table = content[start:].split(b"trailer")[0].splitlines()[2:]
    for number, line in enumerate(table):
        if number == 0:
            continue
        offset = int(line[:10])
        if not content[offset:].startswith(b"%d 0 obj\n" % number):
            return False
    return True


def test_the_pdf_writer_makes_a_valid_pdf_that_the_upload_checks_accept():
    content = pdf.one_page(
        "Bases integradas",
        ["Procedimiento: LP-SM-1-2026-MINSA-1", "Entidad: Ñuñoa (sede) \\ Apurímac", "x " * 60],
    )
    assert content.startswith(b"%PDF-1.4\n") and content.endswith(b"%%EOF\n")
    assert xref_offsets_hold(content)
    # parentheses and backslashes escaped, accents in WinAnsi
    assert b"(Entidad: \xd1u\xf1oa \\(sede\\) \\\\ Apur\xedmac) Tj" in content
    assert content.count(b" Tj T*") == 4  # the long line is wrapped in two
    checked = check_document(SimpleUploadedFile("bases.pdf", content))
    assert checked.extension == "pdf" and checked.size == len(content)
    assert pdf.one_page("Bases", ["a"]) == pdf.one_page("Bases", ["a"])  # deterministic


def test_which_processes_get_files():
    assert has_files(0, "X", 10) and has_files(9, "X", 10)
    sampled = [f"LP-SM-{n}-2026-MINSA-1" for n in range(2000)]
    above = [i for i in sampled if has_files(10, i, 10)]
    assert above == [i for i in sampled if zlib.crc32(i.encode()) % SAMPLE_ONE_IN == 0]
    assert 0.03 < len(above) / len(sampled) < 0.07


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """One seed for the read-only checks below, rolled back at the end; its files stay in a
    folder of its own."""
    media = tmp_path_factory.mktemp("media")
    out = StringIO()
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=fast, MEDIA_ROOT=media, ANCHOR_DIR=tmp_path_factory.mktemp("a")
        ),
        transaction.atomic(),
    ):
        call_command(
            "seed_demo",
            "--processes",
            str(PROCESSES),
            "--seed",
            "5",
            "--today",
            TODAY,
            "--document-files-for-first",
            str(FIRST),
            stdout=out,
        )
        yield {"output": out.getvalue(), "media": media}
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def seeded_media(request, media_in_tmp, settings):
    """Tests that read the seed read its files (conftest points MEDIA_ROOT elsewhere)."""
    if "seeded" in request.fixturenames:
        settings.MEDIA_ROOT = request.getfixturevalue("seeded")["media"]


def test_published_processes_get_the_documents_their_stage_calls_for(seeded):
    today = date.fromisoformat(TODAY)
    processes = list(ProcurementProcess.objects.order_by("pk").prefetch_related("stages"))
    documents = defaultdict(list)
    # The opening acts follow the bids (tests/procurement/test_seed_bids.py checks them).
    for document in ProcessDocument.objects.exclude(kind=Kind.ACT).order_by("published_at", "pk"):
        documents[document.process_id].append(document)
    left_out = 0
    for position, process in enumerate(processes):
        mine = documents[process.pk]
        if process.status == ProcessStatus.DRAFT:
            assert mine == []
            continue
        if not has_files(position, process.identifier, FIRST):
            assert mine == []
            left_out += 1
            continue
        kinds = [d.kind for d in mine]
        assert kinds[0] == Kind.BASES and mine[0].published_at == process.published_at
        assert kinds in (
            [Kind.BASES],
            [Kind.BASES, Kind.ANSWERS],
            [Kind.BASES, Kind.ANSWERS, Kind.INTEGRATED_BASES],
        )
        stages = {s.stage: s for s in process.stages.all()}
        by_kind = {d.kind: d for d in mine}
        answers = by_kind.get(Kind.ANSWERS)
        assert (answers.published_at if answers else None) == process.answers_published_at
        if answers:
            day = timezone.localtime(answers.published_at).date()
            assert stages[Stage.QUESTIONS].end < day <= stages[Stage.ANSWERS].end
            assert day < today
            assert process.history.filter(at__lte=answers.published_at).last().to_status == (
                ProcessStatus.CALLED
            )
        integrated = by_kind.get(Kind.INTEGRATED_BASES)
        assert (integrated.published_at if integrated else None) == (
            process.integrated_bases_published_at
        )
        if integrated:
            day = timezone.localtime(integrated.published_at).date()
            assert stages[Stage.INTEGRATION].start <= day <= stages[Stage.INTEGRATION].end
            assert day < stages[Stage.BIDS].start and day < today
            assert integrated.published_at > answers.published_at
        for document in mine:
            assert document.published_by.email == "publicaciones@demo.portal.pe"
            assert not document.published_by.is_active
            assert not document.published_by.has_usable_password()
            assert document.file.name == document_store.name_for(document.sha256, "pdf")
            assert document.filename.endswith(f"-{process.identifier}.pdf")
            assert document.content_type == "application/pdf"
    kinds = Counter(ProcessDocument.objects.values_list("kind", flat=True))
    assert kinds[Kind.BASES] and kinds[Kind.ANSWERS] and kinds[Kind.INTEGRATED_BASES]
    # the sample above the limit is used, and the output says who was left out
    assert left_out > 0
    output = seeded["output"]
    assert f"{left_out} published processes have no documents" in output
    total = ProcessDocument.objects.exclude(kind=Kind.ACT).count()  # the acts: bids
    assert re.search(rf"Documents: {total} PDF documents for \d+ published processes", output)
    assert re.search(r"[\d.]+ (KB|MB) on disk", output)


def test_each_document_is_a_real_pdf_naming_its_process_and_the_store_verifies(seeded):
    documents = ProcessDocument.objects.select_related("process", "entity")
    hashes = set()
    # The evaluation tables of the processes without files share one PDF (a published table
    # needs its document): one stored file, no other document among them.
    shared = hashlib.sha256(shared_table_pdf()).hexdigest()
    sharing = documents.filter(sha256=shared)
    assert sharing.exists() and not sharing.filter(evaluation__isnull=True).exists()
    for document in documents.exclude(sha256=shared):
        with document_store.open_verified(document.file.name, document.sha256) as handle:
            content = handle.read()
        assert content.startswith(b"%PDF-") and xref_offsets_hold(content)
        assert document.process.identifier.encode() in content
        assert document.entity.ruc.encode() in content
        assert len(content) == document.size
        check_document(SimpleUploadedFile(document.filename, content))
        hashes.add(document.sha256)
    assert len(hashes) == documents.exclude(sha256=shared).count()  # each its own content
    out = StringIO()
    call_command("verify_documents", stdout=out)
    assert f"Documents OK: {len(hashes) + 1} stored file(s)" in out.getvalue()


def test_each_document_has_its_audit_entry_in_time_order(seeded):
    published = AuditEntry.objects.filter(action="process.document_published")
    assert published.count() == ProcessDocument.objects.count()
    for document in ProcessDocument.objects.all()[:50]:
        entry = published.get(object_type="procurement.processdocument", object_id=str(document.pk))
        assert entry.created_at == document.published_at
        assert entry.data["sha256"] == document.sha256
        assert entry.data["identifier"] == document.process.identifier
    answered = ProcurementProcess.objects.filter(answers_published_at__isnull=False)
    entries = AuditEntry.objects.filter(action="process.answers_published")
    assert entries.count() == answered.count() > 0
    assert AuditEntry.objects.filter(action="process.integrated_bases_published").count() == (
        ProcurementProcess.objects.filter(integrated_bases_published_at__isnull=False).count()
    )
    times = list(AuditEntry.objects.order_by("sequence").values_list("created_at", flat=True))
    assert times == sorted(times)
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert f"{AuditEntry.objects.count()} entries verified" in out.getvalue()


def test_the_process_page_lists_the_documents_and_serves_them(seeded, client):
    process = (
        ProcurementProcess.objects.filter(integrated_bases_published_at__isnull=False)
        .order_by("pk")
        .first()
    )
    response = client.get(reverse("procurement:process_detail", args=[process.identifier]))
    assert response.status_code == 200
    for document in process.documents.all():
        url = reverse("procurement:process_document", args=[process.identifier, document.pk])
        assert url in response.content.decode()
        download = client.get(url)
        assert download.status_code == 200
        assert b"".join(download.streaming_content).startswith(b"%PDF-")
