"""Checking an uploaded document by its content, not its name: PDF, DOCX, XLSX or ZIP only,
up to DOCUMENT_MAX_UPLOAD_BYTES (20 MB by default)."""

import hashlib
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import DomainError

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


def _sniff(upload) -> str | None:
    """The real type from the first bytes (and, for ZIP containers, their parts)."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            if archive.testzip() is not None:
                return None
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        upload.seek(0)
    if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
        return "docx"
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return "xlsx"
    return "zip"


def check_document(upload) -> CheckedFile:
    """Refuse with a clear message anything that is not what it says it is."""
    limit = settings.DOCUMENT_MAX_UPLOAD_BYTES
    if upload.size == 0:
        raise DomainError(_("The file is empty."), field="file")
    if upload.size > limit:
        raise DomainError(
            _("The file is %(size).1f MB; the limit is %(limit).0f MB.")
            % {"size": upload.size / 1024 / 1024, "limit": limit / 1024 / 1024},
            field="file",
        )
    extension = (upload.name or "").rsplit(".", 1)[-1].lower() if "." in (upload.name or "") else ""
    if extension not in ALLOWED:
        raise DomainError(_("Only PDF, DOCX, XLSX or ZIP files are accepted."), field="file")
    actual = _sniff(upload)
    if actual != extension:
        raise DomainError(
            _(
                "The file's content is not a %(extension)s file (the name says .%(extension)s, the content does not)."
            )
            % {"extension": extension.upper()},
            field="file",
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedFile(extension, ALLOWED[extension], digest.hexdigest(), upload.size)
