"""The outbox dispatcher (issue 8 §2.3): account e-mails are events recorded in the
transaction of the change, so a broker outage delays them but cannot lose them; a dispatch
sends each once, a failed send stays pending for a retry, and kinds without a handler are
left untouched."""

import json
import socket
import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from accounts import services as account_services
from config.celery import app as celery_app
from core.models import District
from notifications import dispatch
from notifications.models import Audience, Event, EventKind
from notifications.tasks import dispatch_events
from suppliers import services as supplier_services
from tests.factories import SupplierFactory, UserFactory, user_of

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@pytest.fixture
def broker_down():
    """Celery as deployed (not eager), with its broker on a port where nothing listens."""
    conf = celery_app.conf
    previous = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = f"redis://127.0.0.1:{_closed_port()}/0", False
    celery_app._after_fork()  # drop connections pooled under the real broker
    yield
    conf.broker_url, conf.task_always_eager = previous
    celery_app._after_fork()


def _register(email="rosa@textiles.pe"):
    return supplier_services.register_supplier(
        ruc="20131312955",
        legal_name="Textiles del Cusco S.A.C.",
        domicile=District.objects.get(code="080108"),
        email=email,
        password="Alpaca-Andina-2026",
        full_name="Rosa Quispe",
        sales_year=2025,
        annual_sales=350000,
        workers=6,
    )


def test_with_the_broker_down_the_registration_commits_and_a_later_dispatch_sends_once(
    transactional_db, broker_down, mailoutbox
):
    supplier = _register()  # its own transaction commits; the dispatch request fails, quietly
    user = supplier.memberships.get().user
    event = Event.objects.get(kind=EventKind.ACCOUNT_VERIFICATION)
    assert event.dispatched_at is None and event.attempts == 0
    assert event.audience == Audience.ACCOUNT
    assert (event.object_type, event.object_id) == ("accounts.user", str(user.pk))
    # The secret link is made at send time: the outbox never holds it.
    stored = json.dumps(event.payload)
    assert account_services.verification_token(user) not in stored and "verificar" not in stored
    assert mailoutbox == []

    assert dispatch_events.apply().get() == {"dispatched": 1, "failed": 0}
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["rosa@textiles.pe"]
    assert message.extra_headers["Message-ID"] == f"<event-{event.pk}@127.0.0.1>"
    assert account_services.verification_url(user) in message.body
    event.refresh_from_db()
    assert event.dispatched_at is not None and event.attempts == 1

    assert dispatch_events.apply().get() == {"dispatched": 0, "failed": 0}
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_an_e_mail_is_sent_only_if_its_change_commits(mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        account_services.send_verification_email(UserFactory(email_verified_at=None))
        raise RuntimeError("the change fails after the e-mail was asked for")
    assert not Event.objects.filter(kind=EventKind.ACCOUNT_VERIFICATION).exists()
    dispatch.dispatch_pending()
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_failed_send_stays_pending_with_its_error_and_is_retried_later(settings, mailoutbox):
    user = UserFactory(email_verified_at=None)
    account_services.send_verification_email(user)
    working_mailers = settings.MAILERS
    settings.MAILERS = {
        "default": {
            "BACKEND": SMTP,
            "OPTIONS": {"host": "127.0.0.1", "port": _closed_port(), "timeout": 5},
        }
    }
    assert dispatch.dispatch_pending() == dispatch.DispatchResult(dispatched=0, failed=1)
    event = Event.objects.get(kind=EventKind.ACCOUNT_VERIFICATION)
    assert event.dispatched_at is None and event.attempts == 1
    assert "ConnectionRefusedError" in event.last_error
    assert event.next_attempt_at > timezone.now()

    settings.MAILERS = working_mailers
    # Not before its retry time...
    assert dispatch.dispatch_pending() == dispatch.DispatchResult()
    assert mailoutbox == []
    # ...and once it is due, sent.
    Event.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert dispatch.dispatch_pending() == dispatch.DispatchResult(dispatched=1)
    assert len(mailoutbox) == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None and event.attempts == 2


@pytest.mark.django_db
def test_events_without_a_handler_are_left_untouched(mailoutbox):
    untouched = Event.objects.create(
        kind=EventKind.PROCESS_PARTICIPANT_REGISTERED,  # the staff's, told to nobody yet
        object_type="procurement.procurementprocess",
        object_id="1",
    )
    account_services.send_registration_attempt_notice(UserFactory())
    assert dispatch.dispatch_pending() == dispatch.DispatchResult(dispatched=1)
    assert len(mailoutbox) == 1
    untouched.refresh_from_db()
    assert untouched.dispatched_at is None and untouched.attempts == 0
    assert untouched.last_error == "" and untouched.next_attempt_at is None


@pytest.mark.django_db
def test_an_e_mail_that_no_longer_applies_is_dispatched_without_sending(mailoutbox):
    user = UserFactory(email_verified_at=None)
    account_services.send_verification_email(user)
    user.email_verified_at = timezone.now()
    user.save()
    assert dispatch.dispatch_pending() == dispatch.DispatchResult(dispatched=1)
    assert mailoutbox == []


@pytest.mark.django_db
def test_every_account_e_mail_goes_through_the_outbox(mailoutbox):
    supplier = SupplierFactory()
    account_services.send_set_password_email(UserFactory())
    supplier_services.invite_user(
        actor=user_of(supplier), supplier=supplier, email="colega@textiles.pe"
    )
    kinds = set(Event.objects.values_list("kind", flat=True))
    assert {EventKind.ACCOUNT_SET_PASSWORD, EventKind.SUPPLIER_INVITATION} <= kinds
    invitation_event = Event.objects.get(kind=EventKind.SUPPLIER_INVITATION)
    assert invitation_event.payload == {} and invitation_event.audience == Audience.ACCOUNT
    assert mailoutbox == []  # nothing is sent before the transaction commits
    assert dispatch.dispatch_pending().dispatched == 2
    invited = next(message for message in mailoutbox if message.to == ["colega@textiles.pe"])
    assert "/proveedores/invitacion/" in invited.body
    assert invited.extra_headers["Message-ID"] == f"<event-{invitation_event.pk}@127.0.0.1>"


def test_a_second_dispatcher_skips_the_events_another_one_holds(
    transactional_db, broker_down, mailoutbox
):
    account_services.send_registration_attempt_notice(UserFactory())
    event = Event.objects.get()
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Event.objects.select_for_update().get(pk=event.pk)
                held.set()
                release.wait(30)
        finally:
            connections.close_all()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert held.wait(30)
        assert dispatch.dispatch_pending() == dispatch.DispatchResult()  # skipped, not waited on
        assert mailoutbox == []
    finally:
        release.set()
        worker.join(30)
    assert dispatch.dispatch_pending() == dispatch.DispatchResult(dispatched=1)
    assert len(mailoutbox) == 1


def test_a_kind_has_one_handler():
    def another(event):
        pass

    with pytest.raises(ValueError):
        dispatch.register(EventKind.ACCOUNT_VERIFICATION, another)


@pytest.mark.django_db
def test_an_e_mail_that_cannot_be_built_fails_at_once_instead_of_ten_times(monkeypatch, mailoutbox):
    """A failure retrying cannot cure (here the message's template fails while rendering)
    ends the event's attempts at once, its error kept for an admin; a failure that may pass
    (the SMTP server unreachable) is still retried later
    (test_a_failed_send_stays_pending_with_its_error_and_is_retried_later)."""
    from notifications import email

    def broken(*_args, **_kwargs):
        raise ValueError("a header Django refuses")

    monkeypatch.setattr(email.EmailMultiAlternatives, "send", broken)
    account_services.send_verification_email(UserFactory(email_verified_at=None))
    assert dispatch.dispatch_pending() == dispatch.DispatchResult(failed=1)
    event = Event.objects.get(kind=EventKind.ACCOUNT_VERIFICATION)
    assert event.attempts == dispatch.MAX_ATTEMPTS and event.dispatched_at is None
    assert event.last_error.startswith(f"{dispatch.PERMANENT} ValueError")
    assert event.next_attempt_at is None
    assert not dispatch.pending_events().filter(pk=event.pk).exists()
    assert dispatch.dispatch_pending() == dispatch.DispatchResult()
