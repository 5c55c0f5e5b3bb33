"""Checking an uploaded document by its content, not its name: PDF, DOCX, XLSX or ZIP only,
within the limits of `procurement.uploads.document_limits()`. ZIP containers are judged from
their headers (procurement.uploads.check_archive): nothing is decompressed here."""

import hashlib
from dataclasses import dataclass

from django.utils.translation import gettext as _

from core.errors import DomainError

from .uploads import check_archive, check_size, document_limits, safe_filename

ALLOWED = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}


@dataclass(frozen=True)
class CheckedFile:
    extension: str
    content_type: str
    sha256: str
    size: int
    filename: str


def _sniff(upload) -> str | None:
    """The real type from the first bytes (and, for ZIP containers, their part names)."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if not head.startswith(b"PK\x03\x04"):
        return None
    names = set(check_archive(upload, document_limits()))
    if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
        return "docx"
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return "xlsx"
    return "zip"


def check_document(upload) -> CheckedFile:
    """Refuse with a clear message anything that is not what it says it is, or that would
    cost whoever opens it more than its limits."""
    check_size(upload, document_limits())
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED:
        raise DomainError(
            _("Only PDF, DOCX, XLSX or ZIP files are accepted."),
            field="file",
            code="file_type_not_allowed",
        )
    actual = _sniff(upload)
    if actual != extension:
        raise DomainError(
            _(
                "The file's content is not a %(extension)s file (the name says .%(extension)s, the content does not)."
            )
            % {"extension": extension.upper()},
            field="file",
            code="file_content_mismatch",
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedFile(
        extension,
        ALLOWED[extension],
        digest.hexdigest(),
        upload.size,
        safe_filename(name, extension),
    )
