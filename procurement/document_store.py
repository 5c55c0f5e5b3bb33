"""Where the files of published documents live: content-addressed by their SHA-256.

A file is stored as `documents/ab/cd/<sha256>.<ext>`, so identical content is stored once
and a file's name says what its content must be. Files are written only after the upload
has passed every check, into a temporary name and renamed into place, so a reader never sees
half a file. If the publishing transaction rolls back afterwards, the file stays without a
row: harmless (nothing links to it) and removed by `prune_orphans()` (`manage.py
verify_documents --prune-orphans`). The ciphertext of sealed bid documents
(`sealed/<process id>/<uuid>.bin`) is pruned the same way by `prune_sealed_orphans()`.

Documents published before this layout keep the name their row stores
(`procesos/<process id>/<hash prefix>-<name>`): rows are immutable (a database trigger
refuses UPDATE), so they are read where they are, and verified the same way.
"""

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files.storage import default_storage

PREFIX = "documents"
CHUNK = 1024 * 1024
_TEMPORARY = ".tmp-"


class DocumentUnavailable(Exception):
    """The stored file is missing or no longer matches its published SHA-256."""

    def __init__(self, name: str, problem: str, actual: str = ""):
        super().__init__(f"{name}: {problem}")
        self.name, self.problem, self.actual = name, problem, actual


def name_for(sha256: str, extension: str) -> str:
    return f"{PREFIX}/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


def _digest(handle) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def store(upload, *, sha256: str, extension: str) -> str:
    """Store a checked upload under its hash and return the storage name. Identical content
    is written once; a stored copy that no longer matches its hash is rewritten."""
    name = name_for(sha256, extension)
    storage = default_storage
    try:
        path = storage.path(name)
    except NotImplementedError:  # object storage: an upload appears whole or not at all
        if not storage.exists(name):
            upload.seek(0)
            storage.save(name, upload)
        return name
    try:
        with open(path, "rb") as existing:
            if _digest(existing) == sha256:
                # Refresh its age so a concurrent prune (which spares young files) keeps it.
                os.utime(path)
                return name
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    upload.seek(0)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(
        dir=os.path.dirname(path), prefix=_TEMPORARY, delete=False
    ) as temporary:
        try:
            for chunk in upload.chunks():
                digest.update(chunk)
                temporary.write(chunk)
            temporary.flush()
            os.fsync(temporary.fileno())
            if digest.hexdigest() != sha256:
                raise ValueError("the upload changed after it was checked")
        except BaseException:
            os.unlink(temporary.name)
            raise
    os.chmod(temporary.name, storage.file_permissions_mode or 0o644)
    os.replace(temporary.name, path)
    upload.seek(0)
    return name


def open_verified(name: str, sha256: str):
    """Open a stored file for reading after checking, streaming, that its content still
    has the published hash. Raises DocumentUnavailable otherwise."""
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise DocumentUnavailable(name, "missing") from None
    try:
        actual = _digest(handle)
    except OSError:
        handle.close()
        raise DocumentUnavailable(name, "unreadable") from None
    if actual != sha256:
        handle.close()
        raise DocumentUnavailable(name, "hash mismatch", actual)
    handle.seek(0)
    return handle


@dataclass(frozen=True)
class Problem:
    document_id: int
    process_identifier: str
    name: str
    expected: str
    problem: str
    actual: str


def verify_all() -> Iterator[Problem | int]:
    """Check every stored file against its SHA-256 (each distinct file once). Yields each
    problem found, then the number of files checked."""
    from .models import ProcessDocument

    checked: dict[str, str] = {}
    documents = ProcessDocument.objects.order_by("pk").values_list(
        "pk", "process__identifier", "file", "sha256"
    )
    for pk, identifier, name, sha256 in documents.iterator(chunk_size=2000):
        if checked.get(name) == sha256:
            continue
        try:
            open_verified(name, sha256).close()
        except DocumentUnavailable as error:
            yield Problem(pk, identifier, name, sha256, error.problem, error.actual)
            continue
        checked[name] = sha256
    yield len(checked)


def _stored_names(folder: str = PREFIX) -> Iterator[str]:
    storage = default_storage
    if not storage.exists(folder):
        return
    folders, files = storage.listdir(folder)
    for file in files:
        yield f"{folder}/{file}"
    for sub in folders:
        yield from _stored_names(f"{folder}/{sub}")


def prune_orphans(*, grace_seconds: int = 3600, dry_run: bool = False) -> list[str]:
    """Remove files of the content-addressed store that no document refers to (left by
    transactions that rolled back, or half-written temporary files). Files younger than
    `grace_seconds` are spared: their transaction may not have committed yet."""
    from .models import OpenedBidDocument, ProcessDocument

    storage = default_storage
    referenced = set(
        ProcessDocument.objects.filter(file__startswith=f"{PREFIX}/").values_list("file", flat=True)
    )
    # The documents of opened bids live in the same store.
    referenced.update(OpenedBidDocument.objects.values_list("file", flat=True))
    removed = []
    for name in _stored_names():
        if name in referenced:
            continue
        modified = storage.get_modified_time(name).timestamp()
        if time.time() - modified < grace_seconds:
            continue
        if not dry_run:
            storage.delete(name)
        removed.append(name)
    return removed


SEALED_PREFIX = "sealed"


def prune_sealed_orphans(*, grace_seconds: int = 3600, dry_run: bool = False) -> list[str]:
    """Remove ciphertext files under `sealed/` that no SealedDocument row refers to (left
    when the transaction that wrote them rolled back: a late bid, an error after the file was
    stored, a crash). Files younger than `grace_seconds` are spared: their transaction may
    not have committed yet. Rows are looked up one process folder at a time."""
    from .models import SealedDocument

    storage = default_storage
    if not storage.exists(SEALED_PREFIX):
        return []
    removed = []
    folders, loose = storage.listdir(SEALED_PREFIX)
    groups = [(None, [f"{SEALED_PREFIX}/{name}" for name in loose])]
    groups += [(folder, list(_stored_names(f"{SEALED_PREFIX}/{folder}"))) for folder in folders]
    for folder, names in groups:
        referenced: set[str] = set()
        if folder is not None and folder.isdigit():
            referenced = set(
                SealedDocument.objects.filter(process_id=int(folder)).values_list("file", flat=True)
            )
        for name in names:
            if name in referenced:
                continue
            modified = storage.get_modified_time(name).timestamp()
            if time.time() - modified < grace_seconds:
                continue
            if not dry_run:
                storage.delete(name)
            removed.append(name)
    return removed
