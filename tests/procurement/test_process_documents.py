"""Process documents: checked by content, hashed, immutable, amended by replacement."""

import hashlib
import io
import logging
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from openpyxl import Workbook

from core.workdays import WorkingCalendar
from notifications.models import Event
from procurement import document_store
from procurement.models import ProcessDocument
from procurement.services import processes
from tests.domain import raises_domain
from tests.factories import (
    EntityFactory,
    designate_committee_of_two,
    lp_calendar,
    process_from_plan,
    published_plan,
    staff_of,
)

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("anexo.txt", "hola")
    return buffer.getvalue()


@pytest.fixture
def process():
    version, staff = published_plan(
        items=[
            {
                "description": "Servidores",
                "catalog_item": "43211503",
                "estimated_value": Decimal("450000"),
            }
        ]
    )
    return process_from_plan(staff, version), staff


def publish(process, staff, name, content, **kwargs):
    kwargs.setdefault("kind", "bases")
    kwargs.setdefault("title", "Bases")
    return processes.publish_document(
        staff, process, upload=SimpleUploadedFile(name, content), **kwargs
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [("bases.pdf", PDF), ("bases.docx", None), ("anexos.xlsx", None), ("anexos.zip", None)],
)
def test_allowed_types_are_accepted_and_hashed(process, name, content):
    content = (
        content
        or {"docx": docx_bytes, "xlsx": xlsx_bytes, "zip": plain_zip}[name.rsplit(".", 1)[1]]()
    )
    document = publish(*process, name, content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    with document.file.open("rb") as handle:
        assert handle.read() == content


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("bases.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "file_content_mismatch"),
        ("bases.docx", plain_zip(), "file_content_mismatch"),  # a zip that is not Word
        ("bases.docx", PDF, "file_content_mismatch"),
        ("bases.xlsx", docx_bytes(), "file_content_mismatch"),
        ("bases.exe", b"MZ\x90\x00", "file_type_not_allowed"),
        ("bases", PDF, "file_type_not_allowed"),
        ("bases.pdf", b"", "file_empty"),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused(process, name, content, code):
    with raises_domain(code, field="file") as refusal:
        publish(*process, name, content)
    assert (refusal.value.code, refusal.value.field) == (code, "file")
    assert not ProcessDocument.objects.exists()


def test_size_limit_is_configurable(process, settings):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 1024
    with raises_domain("file_too_large", field="file") as refusal:
        publish(*process, "bases.pdf", PDF + b"0" * 2048)
    assert refusal.value.code == "file_too_large"


def test_documents_are_immutable_in_the_database(process):
    document = publish(*process, "bases.pdf", PDF)
    for statement in [
        "UPDATE procurement_processdocument SET title = 'x' WHERE id = %s",
        "DELETE FROM procurement_processdocument WHERE id = %s",
    ]:
        with (
            pytest.raises(DatabaseError, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [document.pk])
    assert ProcessDocument.objects.get(pk=document.pk).title == "Bases"


def test_an_amendment_replaces_with_a_reason_and_is_announced(process):
    proc, staff = process
    original = publish(proc, staff, "bases.pdf", PDF)
    call = WorkingCalendar().next_working_day(timezone.localdate())
    processes.set_calendar(staff, proc, lp_calendar(call))
    designate_committee_of_two(staff, proc)
    processes.publish_call(actor=staff, process=proc)
    with raises_domain("reason_required", field="reason") as refusal:
        publish(proc, staff, "bases-v2.pdf", PDF + b"%v2", replaces=original)
    assert (refusal.value.code, refusal.value.field) == ("reason_required", "reason")
    amended = publish(
        proc, staff, "bases-v2.pdf", PDF + b"%v2", replaces=original, reason="Corrige el anexo 3"
    )
    assert amended.replaces == original and original.replaced_by == amended
    assert Event.objects.filter(
        kind="process.document_published", object_id=str(amended.pk)
    ).exists()
    with raises_domain("already_replaced", field="replaces") as refusal:
        publish(proc, staff, "bases-v3.pdf", PDF + b"%v3", replaces=original, reason="otra vez")
    assert (refusal.value.code, refusal.value.field) == ("already_replaced", "replaces")


def test_public_page_lists_documents_with_hash_and_serves_them(client, process):
    proc, staff = process
    document = publish(proc, staff, "bases.pdf", PDF)
    assert (
        client.get(f"/procesos/{proc.identifier}/documentos/{document.pk}/").status_code == 404
    )  # draft
    call = WorkingCalendar().next_working_day(timezone.localdate())
    processes.set_calendar(staff, proc, lp_calendar(call))
    designate_committee_of_two(staff, proc)
    processes.publish_call(actor=staff, process=proc)
    html = client.get(f"/procesos/{proc.identifier}/").content.decode()
    assert document.sha256 in html
    response = client.get(f"/procesos/{proc.identifier}/documentos/{document.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]


def test_staff_page_upload_and_other_entities_refused(client, process):
    proc, staff = process
    client.force_login(staff)
    url = f"/gestion/procesos/{proc.pk}/documentos/"
    bad = client.post(
        url,
        {
            "kind": "bases",
            "title": "Bases",
            "file": SimpleUploadedFile("bases.pdf", b"MZ\x90\x00rest"),
        },
    )
    assert bad.status_code == 400 and "PDF" in bad.content.decode()
    good = client.post(
        url, {"kind": "bases", "title": "Bases", "file": SimpleUploadedFile("bases.pdf", PDF)}
    )
    assert good.status_code == 302
    client.force_login(staff_of(EntityFactory()))
    assert (
        client.post(
            url, {"kind": "bases", "title": "X", "file": SimpleUploadedFile("x.pdf", PDF)}
        ).status_code
        == 403
    )
    assert ProcessDocument.objects.count() == 1


def test_draft_bases_can_be_published_in_advance_but_other_draft_documents_stay_private(
    client, process
):
    proc, staff = process
    assert client.get(f"/procesos/{proc.identifier}/").status_code == 404
    bases = publish(proc, staff, "bases.pdf", PDF, kind="bases", title="Bases (borrador interno)")
    draft = publish(
        proc, staff, "proyecto.pdf", PDF + b"%p", kind="draft_bases", title="Proyecto de bases"
    )
    response = client.get(f"/procesos/{proc.identifier}/")
    html = response.content.decode()
    assert (
        response.status_code == 200 and "Prepublicación" in html or "prepublicación" in html.lower()
    )
    assert "Proyecto de bases" in html and "borrador interno" not in html
    assert client.get(f"/procesos/{proc.identifier}/documentos/{draft.pk}/").status_code == 200
    assert client.get(f"/procesos/{proc.identifier}/documentos/{bases.pk}/").status_code == 404
    assert proc.identifier not in client.get("/procesos/").content.decode()


# --- the content-addressed store --------------------------------------------------------------


def _published(process):
    """The process, published (so its documents are public)."""
    proc, staff = process
    call = WorkingCalendar().next_working_day(timezone.localdate())
    processes.set_calendar(staff, proc, lp_calendar(call))
    designate_committee_of_two(staff, proc)
    processes.publish_call(actor=staff, process=proc)
    return proc, staff


def _stored(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_documents_are_stored_under_their_hash_and_identical_content_once(process, settings):
    proc, staff = process
    sha = hashlib.sha256(PDF).hexdigest()
    first = publish(proc, staff, "bases.pdf", PDF)
    assert first.file.name == f"documents/{sha[:2]}/{sha[2:4]}/{sha}.pdf"
    version, other_staff = published_plan(
        items=[
            {
                "description": "Otro",
                "catalog_item": "43211503",
                "estimated_value": Decimal("450000"),
            }
        ]
    )
    other = publish(process_from_plan(other_staff, version), other_staff, "copia.pdf", PDF)
    assert other.file.name == first.file.name and other.filename == "copia.pdf"
    assert _stored(settings) == [Path(settings.MEDIA_ROOT) / first.file.name]


def test_a_rolled_back_publication_leaves_an_orphan_that_the_cleanup_removes(process, settings):
    proc, staff = process
    kept = publish(proc, staff, "bases.pdf", PDF)
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(proc, staff, "anexo.pdf", PDF + b"%orphan", title="Anexo")
        raise RuntimeError("the request failed after the file was written")
    assert ProcessDocument.objects.count() == 1
    assert len(_stored(settings)) == 2
    # A young orphan may belong to a transaction still committing: spared by default.
    assert document_store.prune_orphans() == []
    orphan = hashlib.sha256(PDF + b"%orphan").hexdigest()
    assert document_store.prune_orphans(grace_seconds=0) == [
        f"documents/{orphan[:2]}/{orphan[2:4]}/{orphan}.pdf"
    ]
    assert _stored(settings) == [Path(settings.MEDIA_ROOT) / kept.file.name]


def test_verify_documents_prunes_orphans_from_the_command_line(process, settings):
    proc, staff = process
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(proc, staff, "anexo.pdf", PDF)
        raise RuntimeError
    out = io.StringIO()
    call_command("verify_documents", "--prune-orphans", "--grace-minutes=0", stdout=out)
    assert "1 orphan file(s) removed" in out.getvalue()
    assert _stored(settings) == []


def test_verify_documents_passes_then_names_the_first_swapped_file(process, settings):
    proc, staff = process
    first = publish(proc, staff, "bases.pdf", PDF)
    second = publish(proc, staff, "anexo.pdf", PDF + b"%2", title="Anexo")
    out = io.StringIO()
    call_command("verify_documents", stdout=out)
    assert "2 stored file(s)" in out.getvalue()
    for document in (second, first):
        (Path(settings.MEDIA_ROOT) / document.file.name).write_bytes(PDF + b"%swapped")
    with pytest.raises(CommandError) as failure:
        call_command("verify_documents", stdout=io.StringIO(), stderr=io.StringIO())
    assert f"document {first.pk} of {proc.identifier}" in str(failure.value)
    assert first.sha256 in str(failure.value)
    assert "2 document(s)" in str(failure.value)


def test_verify_documents_reports_a_missing_file(process, settings):
    proc, staff = process
    document = publish(proc, staff, "bases.pdf", PDF)
    (Path(settings.MEDIA_ROOT) / document.file.name).unlink()
    with pytest.raises(CommandError, match="missing"):
        call_command("verify_documents", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize("damage", ["swap", "delete"])
def test_a_file_that_no_longer_matches_its_hash_is_not_served(
    client, process, settings, caplog, damage
):
    proc, staff = _published(process)
    document = publish(proc, staff, "bases.pdf", PDF)
    path = Path(settings.MEDIA_ROOT) / document.file.name
    if damage == "swap":
        path.write_bytes(PDF + b"%swapped")
    else:
        path.unlink()
    url = f"/procesos/{proc.identifier}/documentos/{document.pk}/"
    with caplog.at_level(logging.ERROR, logger="procurement.views.processes"):
        response = client.get(url)
    assert response.status_code == 503
    assert b"%swapped" not in response.content
    assert document.sha256 in response.content.decode()
    assert any(document.sha256 in record.getMessage() for record in caplog.records)


def test_republishing_the_same_content_repairs_a_damaged_copy(client, process, settings):
    proc, staff = _published(process)
    document = publish(proc, staff, "bases.pdf", PDF)
    (Path(settings.MEDIA_ROOT) / document.file.name).write_bytes(b"%PDF-damaged")
    publish(proc, staff, "bases-copia.pdf", PDF, kind="other", title="Copia")
    response = client.get(f"/procesos/{proc.identifier}/documentos/{document.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF


def test_documents_stored_before_the_content_addressed_layout_are_still_served(
    client, process, settings
):
    """Rows are immutable, so older rows keep their name (procesos/<id>/<prefix>-<name>)."""
    proc, staff = _published(process)
    sha = hashlib.sha256(PDF).hexdigest()
    legacy = f"procesos/{proc.pk}/{sha[:16]}-bases.pdf"
    (Path(settings.MEDIA_ROOT) / legacy).parent.mkdir(parents=True)
    (Path(settings.MEDIA_ROOT) / legacy).write_bytes(PDF)
    document = ProcessDocument.objects.create(
        process=proc,
        entity_id=proc.entity_id,
        kind="bases",
        title="Bases",
        file=legacy,
        filename="bases.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256=sha,
        published_at=timezone.now(),
        published_by=staff,
    )
    response = client.get(f"/procesos/{proc.identifier}/documentos/{document.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    call_command("verify_documents", stdout=io.StringIO())
    assert document_store.prune_orphans(grace_seconds=0) == []  # the old layout is left alone
