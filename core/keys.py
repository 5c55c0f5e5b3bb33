"""The portal's secret keys that live outside the database: where they come from, and how the
embedded default creates them once (owner-only, never half-written).

Production passes each key in an environment variable or in a file it points to (settings
refuse to start without them when DEBUG is off). The embedded default generates each key the
first time it is needed into var/, so a fresh `make run` works and keeps its keys across runs.
"""

import base64
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def read_or_create_secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of `path`; if it does not exist, create it with `make()` first.

    The new key is written to a temporary file created with O_CREAT|O_EXCL and mode 0600,
    synced, then hard-linked into place: the link fails if another process got there first
    (then its key is used), and no reader ever sees a partly written file."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        # If another process created it first, its key is the one used.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_bytes()


def _configured_key(value: str, file: str, create: Callable[[], bytes] | None, name: str) -> bytes:
    if value:
        return value.encode()
    if not file:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set.")
    if create is not None:
        return read_or_create_secret_file(Path(file), create)
    try:
        return Path(file).read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"{name}_FILE {file!r} cannot be read: {error}") from error


def new_portal_signing_key() -> bytes:
    """A new Ed25519 private key, PEM (PKCS#8, unencrypted): what PORTAL_SIGNING_KEY holds."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def new_bid_master_key() -> bytes:
    """A new Fernet key (32 random bytes, URL-safe base64): what BID_MASTER_KEY holds."""
    return base64.urlsafe_b64encode(os.urandom(32))


def portal_signing_key_pem() -> bytes:
    """The Ed25519 private key (PEM) that signs audit anchors and bid receipts."""
    return _configured_key(
        settings.PORTAL_SIGNING_KEY,
        settings.PORTAL_SIGNING_KEY_FILE,
        new_portal_signing_key if settings.PORTAL_SIGNING_KEY_CREATE_IF_MISSING else None,
        "PORTAL_SIGNING_KEY",
    )


def bid_master_key() -> bytes:
    """The Fernet key (32 random bytes, URL-safe base64) that wraps the keys of sealed bids."""
    key = _configured_key(
        settings.BID_MASTER_KEY,
        settings.BID_MASTER_KEY_FILE,
        new_bid_master_key if settings.BID_MASTER_KEY_CREATE_IF_MISSING else None,
        "BID_MASTER_KEY",
    ).strip()
    try:
        if len(base64.urlsafe_b64decode(key)) != 32:
            raise ValueError("not 32 bytes")
    except ValueError as error:
        raise ImproperlyConfigured(
            "BID_MASTER_KEY must be 32 random bytes in URL-safe base64 (a Fernet key)."
        ) from error
    return key
