"""The portal signing key: one Ed25519 key, kept outside the database, that signs what the
portal publishes as evidence (audit anchors now, bid receipts later).

Anyone can check a signature with the public key served at /auditoria/ancla/clave-publica.pem;
someone who can rewrite the database cannot forge one.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import keys


@lru_cache(maxsize=4)
def _private_key(_configuration: tuple) -> Ed25519PrivateKey:
    pem = keys.portal_signing_key_pem()
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "PORTAL_SIGNING_KEY is not an unencrypted PEM private key."
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("PORTAL_SIGNING_KEY must be an Ed25519 key.")
    return key


def private_key() -> Ed25519PrivateKey:
    # Keyed on the settings so that a changed configuration (tests) loads the right key.
    return _private_key(
        (
            settings.PORTAL_SIGNING_KEY,
            settings.PORTAL_SIGNING_KEY_FILE,
            settings.PORTAL_SIGNING_KEY_CREATE_IF_MISSING,
        )
    )


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_pem() -> str:
    return (
        public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def key_id() -> str:
    """A short fingerprint of the public key: SHA-256 of its raw 32 bytes, first 16 hex."""
    raw = public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(data: bytes) -> str:
    """The Ed25519 signature of `data`, in standard base64."""
    return base64.b64encode(private_key().sign(data)).decode("ascii")


def verify(data: bytes, signature: str, key: Ed25519PublicKey | None = None) -> bool:
    """True when `signature` (base64) is the portal key's (or `key`'s) signature of `data`."""
    try:
        raw = base64.b64decode(signature, validate=True)
        (key or public_key()).verify(raw, data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
