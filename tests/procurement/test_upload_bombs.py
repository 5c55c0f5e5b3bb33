"""Hostile uploads (issue 7 items 2, 3, 14): ZIP, DOCX and XLSX bombs, encrypted or exotic
ZIP containers, over-long names and unbounded error reports are refused quickly, as a form
error or a row error with a stable code, and leave nothing behind (no row, no file).

The bombs are built in memory and stay small: zeros deflated in a stream, or a ZIP whose
headers declare sizes its content does not have (the checks read headers only)."""

import io
import re
import struct
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from procurement.models import PlanItem, ProcessDocument
from procurement.plan_import import COLUMNS, MAX_ECHOED_CHARS, MAX_REPORTED_ERRORS
from procurement.services import processes
from tests.domain import raises_domain
from tests.factories import draft_plan, process_from_plan, published_plan

pytestmark = pytest.mark.django_db
CEILING_SECONDS = 2.0
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HEADER = ",".join(name for name, _field in COLUMNS)
GOOD_ROW = "bienes,44121701,Bolígrafos azules,1200,unidad,1800.50,COMPRE,3,si"


# --- building hostile files -------------------------------------------------------------------


def zeros_zip(megabytes: int, name="ceros.bin", extra: dict[str, bytes] | None = None) -> bytes:
    """A ZIP holding `megabytes` MB of zeros, written in a stream (the test stays light)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in (extra or {}).items():
            archive.writestr(part, content)
        with archive.open(name, "w") as entry:
            chunk = bytes(1024 * 1024)
            for _ in range(megabytes):
                entry.write(chunk)
    return buffer.getvalue()


def _patch_headers(data: bytes, name: str, **fields) -> bytes:
    """Rewrite header fields of entry `name` in both its local and central headers, the way
    a crafted bomb does: flags, method, uncompressed size."""
    data = bytearray(data)
    encoded = name.encode()
    # (signature, offset of flags, method, uncompressed size, name length, name start)
    layouts = [(b"PK\x03\x04", 6, 8, 22, 26, 30), (b"PK\x01\x02", 8, 10, 24, 28, 46)]
    for signature, flags_at, method_at, size_at, name_length_at, name_at in layouts:
        start = 0
        while (start := data.find(signature, start)) >= 0:
            (length,) = struct.unpack_from("<H", data, start + name_length_at)
            if bytes(data[start + name_at : start + name_at + length]) == encoded:
                if "flags" in fields:
                    struct.pack_into("<H", data, start + flags_at, fields["flags"])
                if "method" in fields:
                    struct.pack_into("<H", data, start + method_at, fields["method"])
                if "file_size" in fields:
                    struct.pack_into("<L", data, start + size_at, fields["file_size"])
            start += 4
    return bytes(data)


def small_zip(parts: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in (parts or {"anexo.txt": b"hola"}).items():
            archive.writestr(part, content)
    return buffer.getvalue()


def docx_parts() -> dict[str, bytes]:
    return {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}


def plan_xlsx(rows=(), *, dimension: str | None = None, shared_strings: bytes | None = None):
    """A plan spreadsheet; optionally with a forged dimension or shared-strings part."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([name for name, _field in COLUMNS])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml" and dimension is not None:
                forged = f'<dimension ref="{dimension}"/>' if dimension else ""
                content = re.sub(rb"<dimension [^>]*/>", forged.encode(), content)
            archive.writestr(info.filename, content)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
    return out.getvalue()


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- documents --------------------------------------------------------------------------------


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


def _refused(process, name: str, content: bytes, code: str, settings) -> None:
    proc, staff = process
    started = time.monotonic()
    with raises_domain(code, field="file") as refusal:
        processes.publish_document(
            staff, proc, kind="bases", title="Bases", upload=SimpleUploadedFile(name, content)
        )
    assert time.monotonic() - started < CEILING_SECONDS
    assert (refusal.value.code, refusal.value.field) == (code, "file")
    assert not ProcessDocument.objects.exists()
    assert media_files(settings) == []


def test_a_zip_of_zeros_is_refused_by_its_compression_ratio(process, settings):
    bomb = zeros_zip(20)  # 20 MB of zeros in about 20 KB
    assert len(bomb) < 100_000
    _refused(process, "anexos.zip", bomb, "archive_compression_ratio", settings)


def test_a_zip_declaring_gigabytes_is_refused_without_unpacking(process, settings):
    # The 19 GB of the review, as four entries declaring 4.7 GB each in 4 bytes of header.
    parts = {f"ceros-{n}.bin": b"0" * 100 for n in range(4)}
    bomb = small_zip(parts)
    for part in parts:
        bomb = _patch_headers(bomb, part, file_size=0xFFFFFFF0)
    _refused(process, "anexos.zip", bomb, "archive_too_large_unpacked", settings)


def test_the_unpacked_size_limit_is_a_setting(process, settings):
    settings.UPLOAD_MAX_UNCOMPRESSED_BYTES = 1024
    _refused(
        process,
        "anexos.zip",
        small_zip({"a.txt": b"x" * 2000}),
        "archive_too_large_unpacked",
        settings,
    )


def test_a_docx_bomb_is_refused(process, settings):
    bomb = _patch_headers(small_zip(docx_parts()), "word/document.xml", file_size=1_900_000_000)
    _refused(process, "bases.docx", bomb, "archive_too_large_unpacked", settings)


def test_too_many_entries_are_refused_before_listing_them(process, settings):
    settings.UPLOAD_MAX_ARCHIVE_ENTRIES = 50
    bomb = small_zip({f"parte-{n}.txt": b"" for n in range(51)})
    _refused(process, "anexos.zip", bomb, "archive_too_many_entries", settings)


def test_an_entry_count_of_zip64_size_is_refused(process, settings):
    data = bytearray(small_zip())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 0xFFFF, 0xFFFF)
    _refused(process, "anexos.zip", bytes(data), "archive_too_many_entries", settings)


def test_an_encrypted_zip_is_refused(process, settings):
    bomb = _patch_headers(small_zip(), "anexo.txt", flags=0x1)
    _refused(process, "anexos.zip", bomb, "archive_encrypted", settings)


@pytest.mark.parametrize("method", [99, 93, 12, 14, 9])  # AES, zstd, bzip2, LZMA, deflate64
def test_compression_methods_other_than_stored_or_deflate_are_refused(process, settings, method):
    bomb = _patch_headers(small_zip(), "anexo.txt", method=method)
    _refused(process, "anexos.zip", bomb, "archive_unsupported_compression", settings)


def test_a_broken_zip_is_refused(process, settings):
    _refused(process, "anexos.zip", b"PK\x03\x04" + b"\x00" * 64, "archive_invalid", settings)


@pytest.mark.parametrize(
    "content",
    [
        _patch_headers(small_zip(), "anexo.txt", flags=0x1),
        _patch_headers(small_zip(), "anexo.txt", method=99),
        _patch_headers(small_zip(), "anexo.txt", method=93),
    ],
)
def test_the_staff_page_answers_a_form_error_not_a_500(client, process, settings, content):
    proc, staff = process
    client.force_login(staff)
    response = client.post(
        f"/gestion/procesos/{proc.pk}/documentos/",
        {"kind": "bases", "title": "Anexos", "file": SimpleUploadedFile("anexos.zip", content)},
    )
    assert response.status_code == 400
    codes = [error.code for error in response.context["document_form"].errors.as_data()["file"]]
    assert codes in (["archive_encrypted"], ["archive_unsupported_compression"])
    assert not ProcessDocument.objects.exists() and media_files(settings) == []


def test_a_file_name_over_255_bytes_is_kept_shortened_not_a_500(client, process):
    proc, staff = process
    client.force_login(staff)
    long_name = "Términos de referencia " + "ñ" * 300 + ".pdf"
    assert len(long_name.encode()) > 255
    response = client.post(
        f"/gestion/procesos/{proc.pk}/documentos/",
        {"kind": "bases", "title": "Bases", "file": SimpleUploadedFile(long_name, PDF)},
    )
    assert response.status_code == 302
    document = ProcessDocument.objects.get()
    assert document.filename.startswith("Términos de referencia ñ")
    assert document.filename.endswith(".pdf")
    assert len(document.filename.encode()) <= 255


def test_control_characters_and_folders_never_reach_the_stored_name(process):
    proc, staff = process
    document = processes.publish_document(
        staff,
        proc,
        kind="bases",
        title="Bases",
        upload=SimpleUploadedFile("..\\carpeta\\ba\x00ses\x07.pdf", PDF),
    )
    assert document.filename == "bases.pdf"


def test_legitimate_containers_still_pass(process):
    proc, staff = process
    document = processes.publish_document(
        staff,
        proc,
        kind="bases",
        title="Anexos",
        upload=SimpleUploadedFile("anexos.zip", small_zip({"a.txt": b"texto " * 1000})),
    )
    assert document.content_type == "application/zip"


# --- plan files -------------------------------------------------------------------------------


@pytest.fixture
def workspace(client):
    version, staff = draft_plan(items=[{"description": "Ítem existente"}])
    client.force_login(staff)
    return client, version


def _upload(client, version, name, content):
    started = time.monotonic()
    response = client.post(
        f"/gestion/planes/{version.pk}/cargar/",
        {"file": SimpleUploadedFile(name, content), "mode": "replace"},
    )
    elapsed = time.monotonic() - started
    return response, elapsed


def _plan_refused(client, version, name, content, code):
    response, elapsed = _upload(client, version, name, content)
    assert response.status_code == 400
    assert elapsed < CEILING_SECONDS
    assert [e.code for e in response.context["upload_result"].errors] == [code]
    assert list(PlanItem.objects.filter(version=version).values_list("description", flat=True)) == [
        "Ítem existente"
    ]
    return response


def test_an_xlsx_declaring_the_whole_sheet_is_refused(workspace):
    client, version = workspace
    bomb = plan_xlsx(dimension="A1:XFD1048576")
    assert len(bomb) < 20_000
    _plan_refused(client, version, "pac.xlsx", bomb, "sheet_too_large")


def test_an_xlsx_declaring_too_many_rows_is_refused(workspace):
    client, version = workspace
    _plan_refused(client, version, "pac.xlsx", plan_xlsx(dimension="A1:I900000"), "sheet_too_large")


def test_an_xlsx_whose_shared_strings_unpack_to_gigabytes_is_refused(workspace):
    client, version = workspace
    bomb = _patch_headers(
        plan_xlsx(shared_strings=b"<sst/>"), "xl/sharedStrings.xml", file_size=1_900_000_000
    )
    _plan_refused(client, version, "pac.xlsx", bomb, "archive_too_large_unpacked")


def test_an_xlsx_with_a_highly_compressed_part_is_refused(workspace):
    client, version = workspace
    repeated = b"<sst>" + b"<si><t>a</t></si>" * 400_000 + b"</sst>"  # 6.8 MB in a few KB
    _plan_refused(
        client, version, "pac.xlsx", plan_xlsx(shared_strings=repeated), "archive_compression_ratio"
    )


def test_an_encrypted_or_zstd_xlsx_is_a_row_error_not_a_500(workspace):
    client, version = workspace
    base = plan_xlsx()
    _plan_refused(
        client,
        version,
        "pac.xlsx",
        _patch_headers(base, "xl/workbook.xml", flags=1),
        "archive_encrypted",
    )
    _plan_refused(
        client,
        version,
        "pac.xlsx",
        _patch_headers(base, "xl/workbook.xml", method=93),
        "archive_unsupported_compression",
    )


def test_rows_past_the_item_limit_are_not_read(workspace, settings):
    client, version = workspace
    settings.PLAN_UPLOAD_MAX_ITEMS = 3
    row = ["bienes", "44121701", "Bolígrafos", 10, "unidad", 100, "COMPRE", 3, "si"]
    # Without a declared dimension the reader stops at the limit (with one, see above).
    _plan_refused(client, version, "pac.xlsx", plan_xlsx([row] * 4, dimension=""), "too_many_items")
    _plan_refused(client, version, "pac.xlsx", plan_xlsx([row] * 4), "sheet_too_large")
    response, _elapsed = _upload(client, version, "pac.xlsx", plan_xlsx([row] * 3))
    assert response.status_code == 302
    assert PlanItem.objects.filter(version=version).count() == 3


def test_a_csv_with_a_duplicated_column_is_refused(workspace):
    client, version = workspace
    header = HEADER + ",descripcion"
    row = GOOD_ROW + ",Otra descripción"
    _plan_refused(
        client, version, "pac.csv", f"{header}\n{row}".encode(), "header_duplicate_columns"
    )


def test_the_error_report_does_not_echo_unbounded_input(workspace):
    client, version = workspace
    huge_code = "9" * 10_000
    rows = [GOOD_ROW.replace("44121701", huge_code)] * 300
    response, _elapsed = _upload(client, version, "pac.csv", "\n".join([HEADER, *rows]).encode())
    assert response.status_code == 400
    result = response.context["upload_result"]
    assert len(result.errors) == MAX_REPORTED_ERRORS
    assert result.more_errors == 300 - MAX_REPORTED_ERRORS
    assert all(len(error.message) < 200 + MAX_ECHOED_CHARS for error in result.errors)
    assert len(response.content) < 150_000


def test_unknown_header_names_are_cut_in_the_report(workspace):
    client, version = workspace
    header = HEADER + "," + "x" * 50_000
    response, _elapsed = _upload(client, version, "pac.csv", f"{header}\n{GOOD_ROW},".encode())
    assert response.status_code == 400
    (error,) = response.context["upload_result"].errors
    assert error.code == "header_unknown_columns"
    assert len(error.column) <= MAX_ECHOED_CHARS
    assert len(response.content) < 60_000


# --- limits said where they are asked ----------------------------------------------------------


def test_help_texts_follow_the_settings(workspace, process, settings):
    from procurement.forms import PlanUploadForm, ProcessDocumentForm

    settings.DOCUMENT_MAX_UPLOAD_BYTES = 7 * 1024 * 1024
    settings.PLAN_UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    assert "7 MB" in str(ProcessDocumentForm(process=process[0]).fields["file"].help_text)
    assert "3 MB" in str(PlanUploadForm().fields["file"].help_text)


def test_a_csv_of_millions_of_empty_lines_is_refused_without_reading_them(workspace):
    client, version = workspace
    _plan_refused(
        client, version, "pac.csv", (HEADER + "\n" * 4_000_000).encode(), "too_many_items"
    )
