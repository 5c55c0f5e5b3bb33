"""Create forms are idempotent: each rendered form carries a one-time token, and the create
consumes it in the same transaction that writes the rows. A second submission of the same
form (a double click, a resent POST, a reload) finds the token used and is shown the first
submission's result instead of creating a duplicate. The primary key on the token makes the
database the judge, so two submissions racing each other cannot both win."""

import re
import secrets
from contextlib import contextmanager
from datetime import timedelta

from django import forms
from django.db import IntegrityError, transaction
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


class AlreadySubmitted(Exception):
    """The form with this token was already processed; `result_url` shows its outcome."""

    def __init__(self, result_url: str):
        super().__init__(result_url)
        self.result_url = result_url


class _Submission:
    def __init__(self, row: FormSubmission | None):
        self.row = row

    def done(self, result_url: str) -> None:
        """Record where the result of this submission is shown."""
        if self.row is not None:
            self.row.result_url = result_url[:255]
            self.row.save(update_fields=["result_url"])


@contextmanager
def once(token: str):
    """Run the create inside this block: it commits with the token consumed, or rolls back
    with the token free for another try. Raises AlreadySubmitted when the token was used."""
    if not token:
        with transaction.atomic():
            yield _Submission(None)
        return
    existing = FormSubmission.objects.filter(token=token).first()
    if existing is not None:
        raise AlreadySubmitted(existing.result_url)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = FormSubmission.objects.create(token=token)
        except IntegrityError:
            # Another request with the same token committed first (it waited on our insert).
            existing = FormSubmission.objects.filter(token=token).first()
            raise AlreadySubmitted(existing.result_url if existing else "") from None
        yield _Submission(row)
    FormSubmission.objects.filter(submitted_at__lt=timezone.now() - KEEP_FOR).delete()
