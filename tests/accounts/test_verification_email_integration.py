"""End to end on real parts: the registration commits with its e-mail in the outbox, a real
Celery worker takes the dispatch task from the real Redis and sends the verification e-mail
to a real SMTP server (aiosmtpd), under the event's Message-ID, and marks the event sent."""

import time

import pytest

from core.models import District
from notifications.models import Event, EventKind
from suppliers.services import register_supplier
from tests.real_parts import wait_for

pytestmark = pytest.mark.integration


def register_rosa():
    """A supplier registration, whose verification e-mail goes to rosa@textiles.pe."""
    return register_supplier(
        ruc="20131312955",
        legal_name="Textiles del Cusco S.A.C.",
        domicile=District.objects.get(code="080108"),
        email="rosa@textiles.pe",
        password="Alpaca-Andina-2026",
        full_name="Rosa Quispe",
        sales_year=2025,
        annual_sales=350000,
        workers=6,
    )


def test_registration_mail_goes_through_a_real_worker_and_smtp_server(
    transactional_db, smtp_server, celery_worker_process
):
    inbox, _port = smtp_server
    register_rosa()
    deadline = time.monotonic() + 60
    wait_for(lambda: inbox.messages, celery_worker_process, "no e-mail reached the SMTP server")
    recipients, content = inbox.messages[0]
    assert recipients == ["rosa@textiles.pe"]
    text = content.decode("utf-8", "replace")
    assert "/cuentas/verificar/" in text
    event = Event.objects.get(kind=EventKind.ACCOUNT_VERIFICATION)
    assert f"Message-ID: <event-{event.pk}@" in text
    while event.dispatched_at is None and time.monotonic() < deadline:
        time.sleep(0.2)  # the worker records the send when its batch commits
        event.refresh_from_db()
    assert event.dispatched_at is not None and event.attempts == 1
    assert len(inbox.messages) == 1
