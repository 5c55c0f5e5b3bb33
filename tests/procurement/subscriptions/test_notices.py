"""From a published process to its subscribers' e-mails (issue 13): one notice per
recipient and event however often the event is dispatched, one e-mail per notice however
often its task runs, the unsubscribe headers and page, and the daily digest."""

from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test import Client
from django.utils import timezone

from notifications import dispatch
from notifications.models import Event, EventKind, Notice, NoticeStatus
from procurement.subscriptions import notices
from procurement.subscriptions.matching import Criteria
from procurement.subscriptions.services import save_subscription, unsubscribe_token
from tests.factories import (
    UserFactory,
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
)

pytestmark = pytest.mark.django_db


def _publish(description="Adquisición de servidores"):
    version, staff = published_plan(
        year=timezone.localdate().year,
        items=[
            {"description": "Servidores", "catalog_item": "43211503", "estimated_value": 450000}
        ],
    )
    process = process_from_plan(staff, version, description=description)
    return publish_with_lp_calendar(staff, process, call=last_working_day_until_today())


def _subscribe(user, *, delivery="immediate", language="es", **criteria):
    return save_subscription(
        actor=user,
        criteria=Criteria(**criteria),
        name="Cómputo",
        delivery=delivery,
        language=language,
    )


def test_a_published_process_reaches_its_subscribers_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    rosa, other = UserFactory(email="rosa@textiles.pe"), UserFactory()
    subscription = _subscribe(rosa, catalog=("4321",))
    _subscribe(rosa, catalog=("43",))  # a second match: still one notice for Rosa
    _subscribe(other, catalog=("44",))  # no match
    process = _publish()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.dispatch_pending()
    notice = Notice.objects.get()
    assert (notice.recipient, notice.subscription) == (rosa, subscription)
    assert notice.status == NoticeStatus.SENT and notice.attempts == 1
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["rosa@textiles.pe"]
    assert process.identifier in message.subject
    assert f"/procesos/{process.identifier}/" in message.body
    assert "S/\xa0450" in message.body  # the value, in Spanish
    html = message.alternatives[0][0]
    assert process.identifier in html and process.entity.name in html
    headers = message.extra_headers
    assert headers["Message-ID"] == f"<notice-{notice.pk}@127.0.0.1>"
    token = unsubscribe_token(subscription)
    assert headers["List-Unsubscribe"] == (
        f"<http://127.0.0.1:8000/cuentas/suscripciones/baja/{token}/>"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The same event dispatched again (a worker died before recording it): nothing new.
    Event.objects.filter(kind=EventKind.PROCESS_PUBLISHED).update(dispatched_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.dispatch_pending().dispatched == 1
    assert Notice.objects.count() == 1 and len(mailoutbox) == 1
    # The same send task delivered twice: one e-mail.
    assert notices.send_notice(notice.pk) == "not_queued"
    assert len(mailoutbox) == 1


def test_the_e_mail_is_in_the_subscribers_language(django_capture_on_commit_callbacks, mailoutbox):
    _subscribe(UserFactory(), catalog=("4321",), language="en")
    process = _publish()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.dispatch_pending()
    (message,) = mailoutbox
    assert message.subject == f"New process: {process.identifier}"
    assert "S/\xa0450,000.00" in message.body


def test_a_notice_of_a_stopped_subscription_is_not_sent(mailoutbox):
    user = UserFactory()
    subscription = _subscribe(user, keywords="servidores")
    _publish()
    dispatch.dispatch_pending()  # the send task waits for the commit, which never comes here
    notice = Notice.objects.get()
    Client(enforce_csrf_checks=True).post(
        f"/cuentas/suscripciones/baja/{unsubscribe_token(subscription)}/"
    )
    assert notices.send_notice(notice.pk) == "not_queued"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SKIPPED and mailoutbox == []


def test_one_click_unsubscribe_needs_no_login_and_a_get_changes_nothing():
    subscription = _subscribe(UserFactory(), catalog=("4321",))
    url = f"/cuentas/suscripciones/baja/{unsubscribe_token(subscription)}/"
    client = Client(enforce_csrf_checks=True)  # a mail client posts with no cookie or token
    assert client.get(url).status_code == 200
    subscription.refresh_from_db()
    assert subscription.active  # a link scanner's GET stops nothing
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert not subscription.active
    forged = unsubscribe_token(subscription)[:-2] + "xx"
    assert client.get(f"/cuentas/suscripciones/baja/{forged}/").status_code == 404


def test_digest_notices_go_out_together_once_a_day(django_capture_on_commit_callbacks, mailoutbox):
    user = UserFactory(email="lucho@ferreteria.pe")
    _subscribe(user, catalog=("4321",), delivery="digest")
    first, second = _publish("Servidores para la sede"), _publish("Servidores de respaldo")
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.dispatch_pending()
    assert mailoutbox == []  # a digest subscription waits for the day's digest
    assert Notice.objects.filter(status=NoticeStatus.QUEUED).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert len(notices.collect_digests()) == 1
    (message,) = mailoutbox
    assert message.to == ["lucho@ferreteria.pe"]
    assert first.identifier in message.body and second.identifier in message.body
    assert message.extra_headers["Message-ID"].startswith("<digest-")
    assert "List-Unsubscribe" in message.extra_headers
    assert set(Notice.objects.values_list("status", flat=True)) == {NoticeStatus.SENT}
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.collect_digests() == []
    assert len(mailoutbox) == 1


class _RefusingServer:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return "550 5.1.1 No such mailbox"


def _smtp(settings, port):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


def _queued_notice():
    _subscribe(UserFactory(), keywords="servidores")
    _publish()
    dispatch.dispatch_pending()  # the send task waits for a commit that never comes here
    return Notice.objects.get()


def test_an_address_the_server_refuses_is_marked_failed_not_retried(settings):
    from aiosmtpd.controller import Controller

    from tests.notifications.test_dispatch import _closed_port

    controller = Controller(_RefusingServer(), hostname="127.0.0.1", port=_closed_port())
    controller.start()
    try:
        notice = _queued_notice()
        _smtp(settings, controller.port)
        assert notices.send_notice(notice.pk) == "failed"
    finally:
        controller.stop()
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.FAILED and "550" in notice.last_error
    assert notices.send_notice(notice.pk) == "not_queued"


def test_a_server_that_is_down_means_a_retry_with_the_error_recorded(settings):
    from tests.notifications.test_dispatch import _closed_port

    notice = _queued_notice()
    _smtp(settings, _closed_port())
    with pytest.raises(notices.TemporaryFailure):
        notices.send_notice(notice.pk)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.QUEUED and notice.attempts == 1
    assert notice.sent_at is None  # the tentative "sent" of the claim (_take) undone
    assert "ConnectionRefusedError" in notice.last_error


def test_the_sweep_asks_again_for_notices_queued_longer_than_the_setting(settings, mailoutbox):
    """A notice whose send task was lost (test_notices_faults loses them on real parts) is
    asked for again once NOTICE_REQUEUE_AFTER has passed, never before."""
    notice = _queued_notice()
    settings.NOTICE_REQUEUE_AFTER = 600
    assert notices.requeue_stale() == 0  # just made: its task may still be on its way
    Notice.objects.filter(pk=notice.pk).update(created_at=timezone.now() - timedelta(seconds=601))
    assert notices.requeue_stale() == 1
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and len(mailoutbox) == 1
    assert notices.requeue_stale() == 0


def test_the_sweep_leaves_a_notice_waiting_for_its_retry_to_that_retry(settings):
    """After a temporary failure the task retries on its own schedule: the sweep must not
    add attempts meanwhile (an hour's outage would otherwise spend all MAX_ATTEMPTS), only
    ask again once the retry was due NOTICE_REQUEUE_AFTER ago and still has not happened."""
    from tests.notifications.test_dispatch import _closed_port

    settings.NOTICE_REQUEUE_AFTER = 300
    notice = _queued_notice()
    _smtp(settings, _closed_port())
    Notice.objects.filter(pk=notice.pk).update(attempts=5)  # the 6th attempt fails now
    with pytest.raises(notices.TemporaryFailure):
        notices.send_notice(notice.pk)
    notice.refresh_from_db()
    due = notice.retry_due_at - timezone.now()
    assert timedelta(seconds=959) < due <= timedelta(seconds=960)  # 30 s x 2**5, before jitter
    old = timezone.now() - timedelta(days=1)
    Notice.objects.filter(pk=notice.pk).update(created_at=old)
    assert notices.requeue_stale() == 0  # its retry is pending
    Notice.objects.filter(pk=notice.pk).update(retry_due_at=timezone.now() - timedelta(seconds=299))
    assert notices.requeue_stale() == 0  # due, but give the retry its grace period
    Notice.objects.filter(pk=notice.pk).update(retry_due_at=timezone.now() - timedelta(seconds=301))
    # The server is back.
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert notices.requeue_stale() == 1  # the retry was lost: asked again, and sent
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.attempts == 7
    for attempts, seconds in [(1, 30), (2, 60), (7, 1920), (8, 3600), (12, 3600)]:
        assert notices.retry_due_after(attempts) == timedelta(seconds=seconds)


class _RecordingBackend(BaseEmailBackend):
    """Records, for each message, the setting its sending transaction commits with."""

    seen: list[tuple[str, str]] = []

    def send_messages(self, messages):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            (value,) = cursor.fetchone()
        self.seen += [(message.to[0], value) for message in messages]
        return len(messages)


@pytest.mark.django_db(transaction=True)  # the setting must end with the send's commit
def test_a_notice_is_recorded_sent_without_waiting_for_the_wal_flush(settings):
    """The send's own transaction commits asynchronously (the WAL flush was most of a
    notice's time); the setting is that transaction's alone."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's asynchronous commit")
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}._RecordingBackend"}}
    _RecordingBackend.seen = []
    notice = _queued_notice()  # committed: its send task ran, or was queued on the broker
    notices.send_notices([notice.pk])
    assert _RecordingBackend.seen == [(notice.recipient.email, "off")]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT


def test_one_batch_writes_each_recipient_in_their_own_language(
    django_capture_on_commit_callbacks, mailoutbox
):
    """The process's facts are rendered once per batch, but once per language too."""
    _subscribe(UserFactory(email="ana@x.pe"), catalog=("4321",), language="es")
    _subscribe(UserFactory(email="ben@x.pe"), catalog=("4321",), language="en")
    _subscribe(UserFactory(email="eva@x.pe"), catalog=("4321",), language="es")
    _publish()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.dispatch_pending()  # one send task: the three notices in one batch
    by_address = {message.to[0]: message for message in mailoutbox}
    assert sorted(by_address) == ["ana@x.pe", "ben@x.pe", "eva@x.pe"]
    for address, words in [
        ("ana@x.pe", ("Entidad", "S/\xa0450")),
        ("eva@x.pe", ("Entidad", "S/\xa0450")),
        ("ben@x.pe", ("Entity", "S/\xa0450,000.00")),
    ]:
        message = by_address[address]
        html = message.alternatives[0].content
        assert all(word in message.body and word in html for word in words), address
    assert "Entity" not in by_address["ana@x.pe"].body


def test_the_shared_facts_are_escaped_once_in_html_and_never_in_text(
    django_capture_on_commit_callbacks, mailoutbox
):
    """The facts are rendered once and shared: the HTML keeps them escaped exactly once (a
    string marked safe, not escaped again), the text keeps them as written."""
    _subscribe(UserFactory(email="ana@x.pe"), catalog=("4321",))
    _subscribe(UserFactory(email="eva@x.pe"), catalog=("4321",))
    _publish(description="Servidores <b>A & B</b>")
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.dispatch_pending()
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        html = message.alternatives[0].content
        assert "Servidores &lt;b&gt;A &amp; B&lt;/b&gt;" in html
        assert "&amp;lt;" not in html and "<b>A" not in html
        assert "Servidores <b>A & B</b>" in message.body
        assert "&amp;" not in message.body and "&lt;" not in message.body


def _unrecordable(row, error, **_outcome):
    """A _record_failure whose statement the database refuses (the transaction's state is
    then that of a real failed statement, not just a Python exception): a row that breaks a
    constraint, refused by PostgreSQL and SQLite alike (SQLite answers 1 / 0 with NULL)."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO notifications_notice (id) VALUES (NULL)")


def test_a_failure_that_cannot_be_recorded_still_spends_the_attempt(settings, monkeypatch, caplog):
    """When recording a failed send fails too, the attempt still counts and the notice is
    left queued for the next run: it runs out of attempts (MAX_ATTEMPTS) like any other,
    never comes back for ever with its attempt undone."""
    from tests.notifications.test_dispatch import _closed_port

    notice = _queued_notice()
    _smtp(settings, _closed_port())
    monkeypatch.setattr(notices, "_record_failure", _unrecordable)
    outcomes = []
    for _run in range(notices.MAX_ATTEMPTS + 2):
        try:
            outcomes.append(notices.send_notice(notice.pk))
        except notices.TemporaryFailure:
            outcomes.append("retry")
    assert outcomes == ["retry"] * (notices.MAX_ATTEMPTS - 1) + ["failed"] + ["not_queued"] * 2
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.FAILED and notice.attempts == notices.MAX_ATTEMPTS
    assert notice.sent_at is None  # the claim's tentative "sent" undone
    assert f"notice {notice.pk}: its failure could not be recorded" in caplog.text


def test_a_failure_that_cannot_be_recorded_leaves_the_rest_of_the_batch_going(
    settings, monkeypatch
):
    from tests.notifications.test_dispatch import _closed_port

    _subscribe(UserFactory(), keywords="servidores")
    _subscribe(UserFactory(), keywords="servidores")
    _publish()
    dispatch.dispatch_pending()
    _smtp(settings, _closed_port())
    monkeypatch.setattr(notices, "_record_failure", _unrecordable)
    ids = list(Notice.objects.values_list("pk", flat=True))
    assert notices.send_notices(ids) == {"retry": 2}
    assert list(Notice.objects.values_list("status", "attempts")) == [(NoticeStatus.QUEUED, 1)] * 2


def test_a_digest_whose_failure_cannot_be_recorded_still_spends_the_attempt(settings, monkeypatch):
    from notifications.models import Digest
    from tests.notifications.test_dispatch import _closed_port

    _subscribe(UserFactory(), catalog=("4321",), delivery="digest")
    _publish()
    dispatch.dispatch_pending()
    (digest_id,) = notices.collect_digests()  # its send task waits for a commit never made
    _smtp(settings, _closed_port())
    monkeypatch.setattr(notices, "_record_failure", _unrecordable)
    with pytest.raises(notices.TemporaryFailure):
        notices.send_digest(digest_id)
    digest = Digest.objects.get(pk=digest_id)
    assert (digest.status, digest.attempts) == (NoticeStatus.QUEUED, 1)


class _FullMailbox:
    """An SMTP server (tests.real_parts.Inbox) that says the mailbox of lleno@ is full: a
    refusal that may pass (452)."""

    def __init__(self):
        from tests.real_parts import Inbox

        self.inbox = Inbox()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("lleno@"):
            return "452 4.2.2 Mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        return await self.inbox.handle_DATA(server, session, envelope)


def test_a_notice_whose_e_mail_cannot_be_built_fails_at_once_and_the_batch_goes_on(settings):
    """An address Django refuses to write (here the SMTP backend's check) can never go:
    the notice fails at its first attempt with the reason in its log, and is not retried,
    while a mailbox that is full (it may pass) is retried; the rest of the batch goes out."""
    from tests.real_parts import smtp_running

    for address in ["ana@x.pe", "ana perez@x.pe", "lleno@x.pe", "zoila@x.pe"]:
        _subscribe(UserFactory(email=address), keywords="servidores")
    _publish()
    dispatch.dispatch_pending()  # the send task waits for a commit that never comes here
    ids = list(Notice.objects.values_list("pk", flat=True))
    server = _FullMailbox()
    with smtp_running(server) as (_inbox, port):
        _smtp(settings, port)
        assert notices.send_notices(ids) == {"sent": 2, "failed": 1, "retry": 1}
        by_address = {n.recipient.email: n for n in Notice.objects.select_related("recipient")}
        assert {address: (n.status, n.attempts) for address, n in by_address.items()} == {
            "ana@x.pe": (NoticeStatus.SENT, 1),
            "ana perez@x.pe": (NoticeStatus.FAILED, 1),
            "lleno@x.pe": (NoticeStatus.QUEUED, 1),
            "zoila@x.pe": (NoticeStatus.SENT, 1),
        }
        assert by_address["ana perez@x.pe"].last_error.startswith("ValueError: Invalid address")
        assert "452" in by_address["lleno@x.pe"].last_error
        assert sorted(server.inbox.message_ids()) == sorted(
            notices.notice_message_id(by_address[a]) for a in ["ana@x.pe", "zoila@x.pe"]
        )
        # Asked for again: the failed one is done with, the full mailbox is tried again.
        assert notices.send_notices(ids) == {"not_queued": 3, "retry": 1}


def test_a_notice_with_a_header_django_refuses_fails_at_once(mailoutbox):
    """A line break where an address goes (a header injection) is refused while the message
    is written, by every backend: failed, not retried; the other notice goes."""
    _subscribe(UserFactory(email="rosa@x.pe\nBcc: eva@x.pe"), keywords="servidores")
    _subscribe(UserFactory(email="ana@x.pe"), keywords="servidores")
    _publish()
    dispatch.dispatch_pending()
    ids = list(Notice.objects.values_list("pk", flat=True))
    assert notices.send_notices(ids) == {"failed": 1, "sent": 1}
    assert [message.to for message in mailoutbox] == [["ana@x.pe"]]
    bad = Notice.objects.get(recipient__email__startswith="rosa@")
    assert (bad.status, bad.attempts) == (NoticeStatus.FAILED, 1)
    assert bad.last_error.startswith("ValueError: ") and "linefeed" in bad.last_error
    assert notices.send_notice(bad.pk) == "not_queued"


def test_a_digest_that_cannot_be_built_fails_at_once_with_its_notices(settings):
    from notifications.models import Digest
    from tests.real_parts import smtp_running

    _subscribe(UserFactory(email="ana perez@x.pe"), catalog=("4321",), delivery="digest")
    _publish()
    dispatch.dispatch_pending()
    (digest_id,) = notices.collect_digests()  # its send task waits for a commit never made
    with smtp_running() as (inbox, port):
        _smtp(settings, port)
        assert notices.send_digest(digest_id) == "failed"
        assert notices.send_digest(digest_id) == "not_queued"
    assert inbox.messages == []
    digest = Digest.objects.get(pk=digest_id)
    assert (digest.status, digest.attempts) == (NoticeStatus.FAILED, 1)
    assert digest.last_error.startswith("ValueError: Invalid address")
    (notice,) = Notice.objects.all()
    assert notice.status == NoticeStatus.FAILED and notice.last_error == digest.last_error


def test_a_digest_whose_server_is_down_is_retried(settings):
    from notifications.models import Digest
    from tests.notifications.test_dispatch import _closed_port

    _subscribe(UserFactory(), catalog=("4321",), delivery="digest")
    _publish()
    dispatch.dispatch_pending()
    (digest_id,) = notices.collect_digests()
    _smtp(settings, _closed_port())
    with pytest.raises(notices.TemporaryFailure):
        notices.send_digest(digest_id)
    digest = Digest.objects.get(pk=digest_id)
    assert (digest.status, digest.attempts) == (NoticeStatus.QUEUED, 1)
    assert "ConnectionRefusedError" in digest.last_error
    assert Notice.objects.get().status == NoticeStatus.QUEUED
