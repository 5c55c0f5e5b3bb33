"""Create forms are idempotent: each rendered form carries a one-time token, and the create
consumes it in the same transaction that writes the rows. A second submission of the same
form (a double click, a resent POST, a reload) finds the token used and is shown the first
submission's result instead of creating a duplicate. The primary key on the token makes the
database the judge, so two submissions racing each other cannot both win.

The database keeps the token's SHA-256, never the token. A submission may also keep its
result sealed (AES-GCM) under a key derived from the token itself (`seal_result`): only the
page that holds the token can read it again, so a double click can be shown the first
answer (a bid receipt with its nonce) while the database alone gives nothing away."""

import hashlib
import re
import secrets
from contextlib import contextmanager
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django import forms
from django.db import connection, transaction
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import FormSubmission

FIELD_NAME = "form_token"
# Long enough for any form a person leaves open; older tokens are forgotten.
KEEP_FOR = timedelta(days=2)
_TOKEN = re.compile(r"[0-9a-f]{32}")


def new_token() -> str:
    return secrets.token_hex(16)


def hidden_input() -> str:
    """The hidden field for forms written by hand in templates."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD_NAME, new_token())


class FormTokenField(forms.CharField):
    """A hidden one-time token. Optional (a client that sends none gets no protection from
    double submission but is not refused), but when present it must be a token we issued."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=32, initial=new_token, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value and not _TOKEN.fullmatch(value):
            raise forms.ValidationError(
                _("This form is damaged: reload the page."), code="bad_form_token"
            )
        return value


class IdempotentForm(forms.Form):
    """Base for create forms: adds the token field."""

    form_token = FormTokenField()


def clean_token(data) -> str:
    """The token of a raw POST (for forms that are not IdempotentForm), or ""."""
    field = FormTokenField()
    try:
        return field.clean(data.get(FIELD_NAME, ""))
    except forms.ValidationError:
        return ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _result_key(token: str) -> bytes:
    """The key of a submission's sealed result: from the token, never stored."""
    return hashlib.sha256(b"form-result|" + token.encode("ascii")).digest()


def _open(row: FormSubmission | None, token: str) -> bytes | None:
    if row is None or not row.sealed_result:
        return None
    sealed = bytes(row.sealed_result)
    try:
        return AESGCM(_result_key(token)).decrypt(sealed[:12], sealed[12:], row.token.encode())
    except (InvalidTag, ValueError):
        return None


class AlreadySubmitted(Exception):
    """The form with this token was already processed; `result_url` shows its outcome, and
    `result` is what the first submission sealed (seal_result), or None."""

    def __init__(self, result_url: str, result: bytes | None = None):
        super().__init__(result_url)
        self.result_url = result_url
        self.result = result


class _Submission:
    def __init__(self, row: FormSubmission | None, token: str = ""):
        self.row = row
        self.token = token

    def done(self, result_url: str) -> None:
        """Record where the result of this submission is shown."""
        if self.row is not None and self.row.result_url != result_url[:255]:
            self.row.result_url = result_url[:255]
            self.row.save(update_fields=["result_url"])

    def seal_result(self, data: bytes) -> None:
        """Keep `data` for a repeated submission of this form, sealed under a key derived
        from the token (see the module's docstring)."""
        if self.row is None:
            return
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(_result_key(self.token)).encrypt(nonce, data, self.row.token.encode())
        self.row.sealed_result = nonce + sealed
        self.row.save(update_fields=["sealed_result"])


def _claim(digest: str, result_url: str) -> bool:
    """Insert the token's row in the current transaction: True when it is ours, False when
    the token was used. One round trip: a request holding the same token uncommitted makes
    this wait for its end (its commit: used; its rollback: ours), and no savepoint is needed
    since a conflict raises nothing."""
    table = connection.ops.quote_name(FormSubmission._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (token, submitted_at, result_url) VALUES (%s, %s, %s) "  # noqa: S608 - the model's own table
            "ON CONFLICT (token) DO NOTHING RETURNING token",
            [digest, connection.ops.adapt_datetimefield_value(timezone.now()), result_url],
        )
        return cursor.fetchone() is not None


@contextmanager
def once(token: str, result_url: str = ""):
    """Run the create inside this block: it commits with the token consumed, or rolls back
    with the token free for another try. Raises AlreadySubmitted when the token was used.
    `result_url` is where a repeated submission is sent (known before the create: no write
    more; `done` records one found later)."""
    if not token:
        with transaction.atomic():
            yield _Submission(None)
        return
    digest = _digest(token)
    result_url = result_url[:255]
    with transaction.atomic():
        if not _claim(digest, result_url):
            existing = FormSubmission.objects.filter(token=digest).first()
            raise AlreadySubmitted(existing.result_url if existing else "", _open(existing, token))
        row = FormSubmission(token=digest, result_url=result_url)
        row._state.adding = False  # the row _claim inserted
        yield _Submission(row, token)


def forget_expired() -> int:
    """Delete the tokens older than KEEP_FOR (a periodic task, core.tasks): no form is still
    open that long, so a resent one is refused by its CSRF token or finds its page changed.
    Returns how many were forgotten."""
    deleted, _by_model = FormSubmission.objects.filter(
        submitted_at__lt=timezone.now() - KEEP_FOR
    ).delete()
    return deleted
