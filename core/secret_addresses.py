"""The secret of a private address (a subscription's Atom feed, a user's calendar): 256
random bits that the owner is shown once, in the address, and that the database keeps only
as their SHA-256 (as core.idempotency keeps its form tokens), so that a copy of the database
or of a backup opens nobody's feed or calendar. The models that hold such a secret name its
digest `token_sha256`."""

import hashlib
import re
import secrets

from django.db import models

# What secrets.token_urlsafe(32) makes: 43 characters of the URL-safe base64 alphabet.
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")


def digest(secret: str) -> str:
    """The SHA-256 (hex) the database keeps of `secret`."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_secret() -> tuple[str, str]:
    """A new secret and its digest: the secret goes into the address shown to its owner
    once, only the digest is stored."""
    secret = secrets.token_urlsafe(32)
    return secret, digest(secret)


def row_for_secret(queryset: models.QuerySet, secret) -> models.Model | None:
    """The row of `queryset` whose secret is `secret`, or None: also for anything that is not
    a secret new_secret could have made (the wrong length or alphabet), without asking the
    database."""
    if not isinstance(secret, str) or not _SECRET.fullmatch(secret):
        return None
    return queryset.filter(token_sha256=digest(secret)).first()
