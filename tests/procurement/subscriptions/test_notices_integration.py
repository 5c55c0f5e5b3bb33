"""End to end on real parts (issue 13): a process is published, a real Celery worker on the
real Redis dispatches the event (the task beat runs every minute), makes the subscriber's
notice and sends it to a real SMTP server (aiosmtpd) with the unsubscribe headers; the
one-click unsubscribe through that header stops the next one."""

from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from django.test import Client
from django.utils import timezone

from notifications.dispatch import pending_events
from notifications.models import Notice, NoticeStatus
from notifications.tasks import dispatch_events
from procurement.subscriptions.matching import Criteria
from procurement.subscriptions.services import save_subscription
from tests.factories import (
    UserFactory,
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
)
from tests.real_parts import wait_for

pytestmark = pytest.mark.integration


def _publish(description):
    version, staff = published_plan(
        year=timezone.localdate().year,
        items=[
            {"description": "Servidores", "catalog_item": "43211503", "estimated_value": 450000}
        ],
    )
    process = process_from_plan(staff, version, description=description)
    return publish_with_lp_calendar(staff, process, call=last_working_day_until_today())


def test_a_published_process_is_mailed_to_its_subscriber_until_they_unsubscribe(
    transactional_db,
    smtp_server,
    celery_worker_process,
):
    inbox, _port = smtp_server
    save_subscription(
        actor=UserFactory(email="rosa@textiles.pe"),
        criteria=Criteria(catalog=("4321",), keywords="servidores"),
        name="Cómputo",
        delivery="immediate",
        language="es",
    )
    process = _publish("Adquisición de servidores")
    dispatch_events.delay()  # what beat does every minute
    wait_for(lambda: inbox.messages, celery_worker_process, "no e-mail")
    recipients, content = inbox.messages[0]
    assert recipients == ["rosa@textiles.pe"]
    message = message_from_bytes(content)
    assert process.identifier in str(make_header(decode_header(message["Subject"])))
    notice = Notice.objects.get()
    assert message["Message-ID"] == f"<notice-{notice.pk}@127.0.0.1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    text = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    assert "Se publicó un proceso" in text  # Spanish, the subscription's language
    assert f"/procesos/{process.identifier}/" in text and unsubscribe in text
    wait_for(
        lambda: Notice.objects.get().status == NoticeStatus.SENT,
        celery_worker_process,
        "the notice was not marked sent",
    )

    # The mail client's one-click unsubscribe: a POST with no cookie and no CSRF token.
    path = unsubscribe.removeprefix("http://127.0.0.1:8000")
    assert Client(enforce_csrf_checks=True).post(path).status_code == 200
    _publish("Servidores de respaldo")
    dispatch_events.delay()
    wait_for(lambda: not pending_events().exists(), celery_worker_process, "events still pending")
    assert Notice.objects.count() == 1  # the stopped subscription matches no more
    assert len(inbox.messages) == 1
