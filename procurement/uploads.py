"""The one home of the upload limits, and the checks every uploaded file passes before
anything parses or stores it.

ZIP containers (ZIP documents, DOCX, XLSX) are judged from their headers alone, never by
decompressing them: the number of entries, each entry's declared size, compression method,
encryption flag and compression ratio. Declared sizes can be trusted as upper bounds because
Python's zipfile (which openpyxl uses too) never returns more than an entry's declared
`file_size`: a lying header gives a truncated entry and a CRC error, not a bigger one.
"""

import io
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from core import formatting
from core.errors import DomainError

MB = 1024 * 1024
# The ratio limit only applies to big entries: small XML parts legitimately compress well.
RATIO_APPLIES_ABOVE = MB
_SAFE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
_MAX_COMMENT = 65535
_MAX_FILENAME_BYTES = 255
_MAX_FILENAME_CHARS = 150


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_uncompressed_bytes: int
    max_entries: int
    max_ratio: int

    @property
    def max_megabytes(self) -> str:
        return megabytes(self.max_bytes)


def document_limits() -> UploadLimits:
    """Limits for process documents (PDF, DOCX, XLSX, ZIP)."""
    return UploadLimits(
        max_bytes=settings.DOCUMENT_MAX_UPLOAD_BYTES,
        max_uncompressed_bytes=settings.UPLOAD_MAX_UNCOMPRESSED_BYTES,
        max_entries=settings.UPLOAD_MAX_ARCHIVE_ENTRIES,
        max_ratio=settings.UPLOAD_MAX_COMPRESSION_RATIO,
    )


def plan_limits() -> UploadLimits:
    """Limits for a plan's CSV or XLSX file."""
    return UploadLimits(
        max_bytes=settings.PLAN_UPLOAD_MAX_BYTES,
        max_uncompressed_bytes=min(
            settings.UPLOAD_MAX_UNCOMPRESSED_BYTES, settings.PLAN_UPLOAD_MAX_UNCOMPRESSED_BYTES
        ),
        max_entries=settings.UPLOAD_MAX_ARCHIVE_ENTRIES,
        max_ratio=settings.UPLOAD_MAX_COMPRESSION_RATIO,
    )


def plan_max_items() -> int:
    return settings.PLAN_UPLOAD_MAX_ITEMS


def megabytes(size: int) -> str:
    """A size for people, as the active language writes numbers: '20 MB', '20,3 MB' in
    Spanish ('20.3 MB' in English), '2 KB'."""
    if size < MB:
        return f"{formatting.number(-(-size // 1024))} KB"
    value = round(size / MB, 1)
    places = 0 if value == int(value) else 1
    return f"{number_format(value, decimal_pos=places, force_grouping=True)} MB"


def check_size(upload, limits: UploadLimits) -> None:
    """Refuse an empty file or one over the limit, before reading it."""
    if not upload.size:
        raise DomainError(_("The file is empty."), field="file", code="file_empty")
    if upload.size > limits.max_bytes:
        raise DomainError(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {"size": megabytes(upload.size), "limit": limits.max_megabytes},
            field="file",
            code="file_too_large",
        )


def _declared_entry_count(handle) -> int | None:
    """The entry count of the end-of-central-directory record, read from the file's tail
    before zipfile builds one object per entry. None when there is no such record."""
    handle.seek(0, 2)
    size = handle.tell()
    start = max(0, size - (22 + _MAX_COMMENT))
    handle.seek(start)
    tail = handle.read()
    handle.seek(0)
    position = tail.rfind(_END_OF_CENTRAL_DIRECTORY)
    if position < 0 or len(tail) - position < 22:
        return None
    _signature, _disk, _cd_disk, _on_disk, total, *_rest = struct.unpack(
        "<4s4H2LH", tail[position : position + 22]
    )
    return total


def check_archive(upload, limits: UploadLimits) -> list[str]:
    """Refuse a ZIP container that is a bomb or that nobody could open, from its headers
    only (no entry is decompressed). Returns the entry names."""
    upload.seek(0)
    try:
        declared = _declared_entry_count(upload)
        # 0xFFFF means "see the ZIP64 record": more entries than any limit we would set.
        if declared is not None and declared > limits.max_entries:
            raise _too_many_entries(declared, limits)
        with zipfile.ZipFile(upload) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, struct.error):
        raise DomainError(
            _("The file is not a valid ZIP container."), field="file", code="archive_invalid"
        ) from None
    finally:
        upload.seek(0)
    if len(entries) > limits.max_entries:
        raise _too_many_entries(len(entries), limits)
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise DomainError(
                _("The file is encrypted or password-protected; upload it without a password."),
                field="file",
                code="archive_encrypted",
            )
        if entry.compress_type not in _SAFE_METHODS:
            raise DomainError(
                _(
                    "The file uses a compression method the portal does not accept; "
                    "save it again with standard ZIP compression (deflate)."
                ),
                field="file",
                code="archive_unsupported_compression",
            )
        total += entry.file_size
        if total > limits.max_uncompressed_bytes:
            raise DomainError(
                _("Unpacked, the file would take more than the %(limit)s allowed.")
                % {"limit": megabytes(limits.max_uncompressed_bytes)},
                field="file",
                code="archive_too_large_unpacked",
            )
        if entry.file_size > RATIO_APPLIES_ABOVE and entry.file_size > limits.max_ratio * max(
            entry.compress_size, 1
        ):
            raise DomainError(
                _(
                    "A part of the file is compressed more than %(ratio)s to 1, which real "
                    "documents never are; the file is refused."
                )
                % {"ratio": limits.max_ratio},
                field="file",
                code="archive_compression_ratio",
            )
    return [entry.filename for entry in entries]


def _too_many_entries(count: int, limits: UploadLimits) -> DomainError:
    return DomainError(
        ngettext(
            "The file holds %(count)s entry; the limit is %(limit)s.",
            "The file holds %(count)s entries; the limit is %(limit)s.",
            count,
        )
        % {"count": formatting.number(count), "limit": formatting.number(limits.max_entries)},
        field="file",
        code="archive_too_many_entries",
    )


def safe_filename(name: str, extension: str) -> str:
    """The name a document is offered under: no folders, no control characters, at most
    150 characters and 255 bytes in UTF-8 (what file systems accept), keeping its extension."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    suffix = f".{extension}"
    stem = name[: -len(suffix)] if name.lower().endswith(suffix) else name
    stem = stem[: _MAX_FILENAME_CHARS - len(suffix)].strip()
    while len((stem + suffix).encode("utf-8")) > _MAX_FILENAME_BYTES:
        stem = stem[:-1]
    return (stem.strip() or "documento") + suffix


class SealedUploadHandler(FileUploadHandler):
    """Keeps the files of a sealed upload (bid documents, paper bids) in memory, never in a
    temporary file on disk, where Django would leave them in plain text until the request
    ends (above FILE_UPLOAD_MAX_MEMORY_SIZE). A file above the document limit, or files
    adding up to more than SEALED_UPLOAD_MAX_REQUEST_BYTES in one request, are dropped as
    they arrive and `request.sealed_upload_refused` is set: the view answers with the limit.
    Installed by `sealed_uploads` before anything reads the body."""

    def __init__(self, request):
        super().__init__(request)
        self.max_file = settings.DOCUMENT_MAX_UPLOAD_BYTES
        self.max_total = settings.SEALED_UPLOAD_MAX_REQUEST_BYTES
        self.total = 0
        self.buffer: io.BytesIO | None = None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data, start):
        size = len(raw_data)
        if start + size > self.max_file or self.total + size > self.max_total:
            self.request.sealed_upload_refused = True
            self.buffer = None
            raise SkipFile()
        self.total += size
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size):
        if self.buffer is None:
            return None
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )


def sealed_uploads(view):
    """A view whose uploads are sealed: its upload handler (SealedUploadHandler) is set
    before the CSRF check reads the body, and the CSRF check then runs as usual (Django's
    documented order: csrf_exempt outside, csrf_protect inside)."""
    protected = csrf_protect(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.upload_handlers = [SealedUploadHandler(request)]
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)


def sealed_upload_error(request) -> str | None:
    """The message for a sealed upload that SealedUploadHandler refused, or None."""
    if not getattr(request, "sealed_upload_refused", False):
        return None
    return _(
        "A file is larger than %(file)s MB, or the files together exceed %(total)s MB: "
        "nothing was received."
    ) % {
        "file": megabytes(settings.DOCUMENT_MAX_UPLOAD_BYTES),
        "total": megabytes(settings.SEALED_UPLOAD_MAX_REQUEST_BYTES),
    }
