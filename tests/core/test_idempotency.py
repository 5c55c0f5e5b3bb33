"""core.idempotency: a token is consumed once, in the create's transaction; the expired
tokens are forgotten by the periodic task (core.tasks.forget_form_tokens), not by every
submission."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import idempotency
from core.models import FormSubmission
from core.tasks import forget_form_tokens

pytestmark = pytest.mark.django_db


def test_a_token_is_consumed_once_and_the_second_sees_the_first_result():
    token = idempotency.new_token()
    with idempotency.once(token, result_url="/primero/") as submission:
        submission.seal_result(b"recibo 1")
    with (
        pytest.raises(idempotency.AlreadySubmitted) as repeated,
        idempotency.once(token, result_url="/segundo/"),
    ):
        pytest.fail("a used token ran its create again")
    assert repeated.value.result_url == "/primero/"
    assert repeated.value.result == b"recibo 1"
    row = FormSubmission.objects.get()
    assert row.token != token and row.token == idempotency._digest(token)
    assert b"recibo" not in bytes(row.sealed_result)


def test_a_failed_create_leaves_the_token_free():
    token = idempotency.new_token()
    with pytest.raises(ValueError), idempotency.once(token):
        raise ValueError("refused")
    assert not FormSubmission.objects.exists()
    with idempotency.once(token) as submission:
        submission.done("/hecho/")
    assert FormSubmission.objects.get().result_url == "/hecho/"


def test_the_periodic_task_forgets_only_expired_tokens_and_a_submission_sweeps_nothing():
    old, fresh = idempotency.new_token(), idempotency.new_token()
    with idempotency.once(old):
        pass
    FormSubmission.objects.update(
        submitted_at=timezone.now() - idempotency.KEEP_FOR - timedelta(minutes=1)
    )
    with CaptureQueriesContext(connection) as queries, idempotency.once(fresh):
        pass
    assert not any(q["sql"].startswith("DELETE") for q in queries.captured_queries)
    assert FormSubmission.objects.count() == 2
    assert forget_form_tokens() == 1
    assert list(FormSubmission.objects.values_list("token", flat=True)) == [
        idempotency._digest(fresh)
    ]
    assert settings.CELERY_BEAT_SCHEDULE["forget-form-tokens"]["task"] == (
        "core.tasks.forget_form_tokens"
    )
