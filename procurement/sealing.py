"""The cryptography of sealed bids: per-process data keys, blind tags, and AES-GCM sealing of
small blobs and of files (in chunks, as they arrive).

- Each process has one data key: 32 random bytes, stored only as a Fernet token under
  BID_MASTER_KEY (core.keys.bid_master_key), which never sits in the database. Previous master
  keys (BID_MASTER_KEY_PREVIOUS) are accepted for unwrapping while a rotation is under way
  (MultiFernet); `rotate_wrapped_keys()` rewraps every process key under the current one.
- A blind tag is HMAC-SHA256 of a supplier id under a key derived from the process key: the
  same supplier always gets the same tag in a process (so the database can enforce "one bid
  per supplier"), and the tag says nothing about who it is without the key.
- `seal` is AES-256-GCM with a random 96-bit nonce and caller-given associated data (AAD) that
  binds the ciphertext to its place (bid, version, document): moved elsewhere it fails.
- `seal_file` encrypts a file in 1 MiB chunks, each with its own nonce and AAD = document id
  + chunk index + last flag, so chunks cannot be reordered, dropped or the file truncated
  without failing authentication.

The ONLY decrypting functions are `unseal` and `unseal_file` (and `read_draft_manifest`, which
decrypts only the metadata of a bidder's own draft documents while its submission is sealed).
Nothing but this module and procurement/services/opening.py may call `unseal`/`unseal_file`:
tests/procurement/test_bids_sealing.py scans the source tree for callers.
"""

import hashlib
import hmac
import json
import os
import struct
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from core import keys

CHUNK = 1024 * 1024
_NONCE = 12
_BLOB_VERSION = b"\x01"
_FILE_MAGIC = b"PSB1"
_TAG_CONTEXT = b"portal-bid-blind-tag\x00"


class SealBroken(Exception):
    """A ciphertext failed authentication (tampered, truncated, moved or the wrong key)."""


# --- master key and per-process keys -------------------------------------------------------


def _master() -> MultiFernet:
    """The current master key first (it wraps), then any previous ones (they only unwrap)."""
    fernets = [Fernet(keys.bid_master_key())]
    for previous in settings.BID_MASTER_KEY_PREVIOUS.split(","):
        previous = previous.strip()
        if previous:
            try:
                fernets.append(Fernet(previous.encode()))
            except ValueError as error:
                raise ImproperlyConfigured(
                    "BID_MASTER_KEY_PREVIOUS must hold Fernet keys, separated by commas."
                ) from error
    return MultiFernet(fernets)


def wrap_key(raw: bytes) -> str:
    return _master().encrypt(raw).decode("ascii")


def unwrap_key(wrapped: str) -> bytes:
    try:
        raw = _master().decrypt(wrapped.encode("ascii"))
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A process seal key cannot be unwrapped with BID_MASTER_KEY (or any key in "
            "BID_MASTER_KEY_PREVIOUS): was the master key changed without a rotation?"
        ) from error
    if len(raw) != 32:
        raise ImproperlyConfigured("A process seal key is not 32 bytes.")
    return raw


# Within keys_remembered(): {process id: unwrapped key}, read once per block.
_remembered: ContextVar[dict[int, bytes] | None] = ContextVar("sealing_keys", default=None)


@contextmanager
def keys_remembered():
    """Within the block (one page, one service call), each process's key is read and
    unwrapped once, however often it is asked for. The block ends before its transaction
    does, so a key whose row a rollback undoes is never reused; nothing outlives it."""
    if _remembered.get() is not None:  # an enclosing block remembers already
        yield
        return
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def _remember(process, key: bytes) -> bytes:
    remembered = _remembered.get()
    if remembered is not None:
        remembered[process.pk] = key
    return key


def _recalled(process) -> bytes | None:
    remembered = _remembered.get()
    return remembered.get(process.pk) if remembered is not None else None


def process_key(process) -> bytes:
    """The process's data key, created (and wrapped) on first use."""
    from .models import ProcessSealKey

    if (key := _recalled(process)) is not None:
        return key
    row = ProcessSealKey.objects.filter(process_id=process.pk).first()
    if row is None:
        try:
            with transaction.atomic():
                row = ProcessSealKey.objects.create(
                    process_id=process.pk, wrapped_key=wrap_key(os.urandom(32))
                )
        except IntegrityError:  # another request created it first: use theirs
            row = ProcessSealKey.objects.get(process_id=process.pk)
    return _remember(process, unwrap_key(row.wrapped_key))


def existing_process_key(process) -> bytes | None:
    """The process's data key if it has one (reading never creates one)."""
    from .models import ProcessSealKey

    if (key := _recalled(process)) is not None:
        return key
    row = ProcessSealKey.objects.filter(process_id=process.pk).first()
    return _remember(process, unwrap_key(row.wrapped_key)) if row else None


def rotate_wrapped_keys() -> int:
    """Rewrap every process key under the current BID_MASTER_KEY (previous keys in
    BID_MASTER_KEY_PREVIOUS unwrap them). Returns how many were rewrapped."""
    from .models import ProcessSealKey

    master = _master()
    count = 0
    with transaction.atomic():
        for row in ProcessSealKey.objects.select_for_update().order_by("pk"):
            try:
                rotated = master.rotate(row.wrapped_key.encode("ascii"))
            except InvalidToken as error:
                raise ImproperlyConfigured(
                    f"The seal key of process {row.process_id} cannot be unwrapped with the "
                    "configured keys: set the key it was wrapped with in BID_MASTER_KEY_PREVIOUS."
                ) from error
            row.wrapped_key = rotated.decode("ascii")
            row.save(update_fields=["wrapped_key"])
            count += 1
    return count


# --- blind tags ----------------------------------------------------------------------------


def tag(key: bytes, supplier_id: int) -> str:
    """The blind tag of a supplier in a process (hex HMAC-SHA256)."""
    tag_key = hmac.new(key, _TAG_CONTEXT, hashlib.sha256).digest()
    return hmac.new(tag_key, f"supplier:{int(supplier_id)}".encode(), hashlib.sha256).hexdigest()


def paper_tag(key: bytes, supplier_id: int) -> str:
    """The blind tag of a supplier's bids received on paper: a namespace of its own, so that
    recording a paper bid never meets (nor reveals) the supplier's electronic bid; the
    opening decides between them (the last received counts)."""
    tag_key = hmac.new(key, _TAG_CONTEXT, hashlib.sha256).digest()
    message = f"paper-supplier:{int(supplier_id)}".encode()
    return hmac.new(tag_key, message, hashlib.sha256).hexdigest()


# --- small blobs ---------------------------------------------------------------------------


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: version byte, 12-byte random nonce, ciphertext with its 16-byte tag."""
    nonce = os.urandom(_NONCE)
    return _BLOB_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def seal_json(key: bytes, data, aad: bytes) -> bytes:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return seal(key, text.encode("utf-8"), aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt what `seal` made. Raises SealBroken when it fails authentication."""
    blob = bytes(blob)
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _BLOB_VERSION:
        raise SealBroken("not a sealed blob")
    try:
        return AESGCM(key).decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
    except InvalidTag:
        raise SealBroken("authentication failed") from None


# --- files ---------------------------------------------------------------------------------


def _chunk_aad(document_id: uuid.UUID, index: int, last: bool) -> bytes:
    return document_id.bytes + struct.pack(">Q?", index, last)


def _encrypted_chunks(key: bytes, document_id: uuid.UUID, chunks: Iterable[bytes]):
    """Yield (plaintext, record) per chunk; one chunk of look-ahead tells which is last."""
    cipher = AESGCM(key)
    iterator = iter(chunks)
    current = next(iterator, b"")
    index = 0
    while True:
        following = next(iterator, None)
        last = following is None
        nonce = os.urandom(_NONCE)
        sealed = nonce + cipher.encrypt(nonce, current, _chunk_aad(document_id, index, last))
        yield current, struct.pack(">I", len(sealed)) + sealed
        if last:
            return
        current, index = following, index + 1


def _rechunk(chunks: Iterable[bytes], size: int = CHUNK) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in chunks:
        buffer.extend(piece)
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


@dataclass(frozen=True)
class SealedFile:
    name: str
    sha256: str
    size: int


def seal_file(key: bytes, document_id: uuid.UUID, chunks: Iterable[bytes], name: str) -> SealedFile:
    """Encrypt a file chunk by chunk as it is read and store only the ciphertext under `name`
    in the default storage. Returns the stored name and the plaintext's SHA-256 and size."""
    digest, size = hashlib.sha256(), 0
    with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
        spool.write(_FILE_MAGIC)
        for plaintext, record in _encrypted_chunks(key, document_id, _rechunk(chunks)):
            digest.update(plaintext)
            size += len(plaintext)
            spool.write(record)
        spool.seek(0)
        stored = default_storage.save(name, File(spool, name=name))
    return SealedFile(stored, digest.hexdigest(), size)


def unseal_file(key: bytes, document_id: uuid.UUID, name: str) -> Iterator[bytes]:
    """Decrypt a sealed file chunk by chunk. Raises SealBroken when any chunk fails
    authentication, or the file is truncated, reordered or extended."""
    with default_storage.open(name, "rb") as handle:
        if handle.read(len(_FILE_MAGIC)) != _FILE_MAGIC:
            raise SealBroken("not a sealed file")
        cipher, index, finished = AESGCM(key), 0, False
        while header := handle.read(4):
            if finished or len(header) != 4:
                raise SealBroken("data after the last chunk")
            (length,) = struct.unpack(">I", header)
            record = handle.read(length)
            if length < _NONCE + 16 or len(record) != length:
                raise SealBroken("truncated chunk")
            nonce, body = record[:_NONCE], record[_NONCE:]
            for last in (False, True):
                try:
                    plaintext = cipher.decrypt(nonce, body, _chunk_aad(document_id, index, last))
                except InvalidTag:
                    continue
                finished = last
                break
            else:
                raise SealBroken(f"chunk {index} failed authentication")
            yield plaintext
            index += 1
        if not finished:
            raise SealBroken("the file is truncated")


def read_draft_manifest(key: bytes, document) -> dict:
    """The metadata of a bidder's draft document (name, type, size, SHA-256, title,
    confidential), decrypted only to write it, sealed again, into that bidder's submission
    and receipt. The file's content is never decrypted here."""
    return json.loads(unseal(key, document.sealed_meta, document_meta_aad(document.pk)))


def document_meta_aad(document_id) -> bytes:
    return b"sealed-document-meta:" + uuid.UUID(str(document_id)).bytes
