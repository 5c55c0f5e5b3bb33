"""Notices of a process's news after its call (issue 13): participants and followers hear of
them once each, in their language; staff hear what they must act on; a bid receipt reaches
the bidder alone; the reminder one working day before the bid deadline reaches only the
participants with no bid in force, once."""

from datetime import timedelta

import pytest
from django.test import Client

from core import clock
from core.workdays import WorkingCalendar
from notifications import dispatch
from notifications.models import Event, EventKind, Follow, Notice, NoticeStatus
from procurement.services import participation, processes
from procurement.subscriptions.follows import follow_process
from procurement.subscriptions.process_notices import (
    record_bid_reminders,
    record_deadlines_without_bids,
)
from tests.factories import UserFactory, user_of
from tests.procurement.bidding import called_tender

pytestmark = pytest.mark.django_db


def _dispatch(capture):
    with capture(execute=True):
        return dispatch.dispatch_pending()


def _to(mailoutbox) -> list[str]:
    return sorted(address for message in mailoutbox for address in message.to)


def test_participants_and_followers_hear_of_a_cancellation_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    supplier, bidder_user = tender.bidder()
    follower = UserFactory(email="periodista@diario.pe", language="en")
    UserFactory(email="nadie@correo.pe")  # follows nothing, takes part in nothing
    also_participant = user_of(supplier, email="socia@textiles.pe")
    follow_process(actor=follower, process=tender.process)
    follow_process(actor=also_participant, process=tender.process)  # both: one notice
    _dispatch(django_capture_on_commit_callbacks)  # earlier events (publication...)
    mailoutbox.clear()

    with clock.pinned(tender.during):
        processes.cancel(actor=tender.staff, process=tender.process, reason="Recorte presupuestal")
        _dispatch(django_capture_on_commit_callbacks)
    event = Event.objects.get(kind=EventKind.PROCESS_CANCELLED)
    assert _to(mailoutbox) == sorted(
        [bidder_user.email, also_participant.email, "periodista@diario.pe"]
    )
    assert Notice.objects.filter(event=event, status=NoticeStatus.SENT).count() == 3
    english = next(m for m in mailoutbox if m.to == ["periodista@diario.pe"])
    spanish = next(m for m in mailoutbox if m.to == [bidder_user.email])
    identifier = tender.process.identifier
    assert english.subject == f"{identifier}: Selection process cancelled"
    assert "The process was cancelled." in english.body
    assert "Recorte presupuestal" in english.body
    assert spanish.subject.startswith(f"{identifier}: ") and "cancelado" in spanish.body
    assert f"/procesos/{identifier}/" in english.alternatives[0][0]
    ids = {m.extra_headers["Message-ID"] for m in mailoutbox}
    assert len(ids) == 3
    # A follower stops following with one click (no login, no CSRF: RFC 8058); a
    # participant who does not follow gets no such header.
    assert "List-Unsubscribe" not in spanish.extra_headers
    link = english.extra_headers["List-Unsubscribe"].strip("<>").split("8000", 1)[-1]
    assert english.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in english.body
    mail_client = Client(enforce_csrf_checks=True)
    assert mail_client.get(link).status_code == 200
    assert Follow.objects.filter(user=follower).exists()
    assert mail_client.post(link, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not Follow.objects.filter(user=follower).exists()
    assert mail_client.post(link).status_code == 404  # used
    assert mail_client.get(link[:-3] + "xx/").status_code == 404

    # Dispatched again (a worker died before recording it): nothing new, nothing resent.
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    assert _dispatch(django_capture_on_commit_callbacks).dispatched == 1
    assert Notice.objects.filter(event=event).count() == 3 and len(mailoutbox) == 3


def test_a_user_who_stopped_following_hears_nothing(django_capture_on_commit_callbacks, mailoutbox):
    from procurement.subscriptions.follows import unfollow_process

    tender = called_tender(items=1)
    reader = UserFactory()
    follow_process(actor=reader, process=tender.process)
    unfollow_process(actor=reader, process=tender.process)
    with clock.pinned(tender.during):
        processes.cancel(actor=tender.staff, process=tender.process, reason="Ya no se necesita")
        _dispatch(django_capture_on_commit_callbacks)
    assert reader.email not in _to(mailoutbox)
    assert not Notice.objects.filter(recipient=reader).exists()


def test_the_committee_hears_of_a_new_question_and_nobody_else(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    supplier, user = tender.bidder()
    follow_process(actor=UserFactory(email="lector@correo.pe"), process=tender.process)
    committee = set(tender.process.committee_members.values_list("user__email", flat=True))
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()
    questions = tender.process.stages.get(stage="consultas")
    with clock.pinned(clock.local(questions.start)):
        participation.submit_question(user, tender.process, supplier, "¿Plazo de entrega?")
        _dispatch(django_capture_on_commit_callbacks)
    assert set(_to(mailoutbox)) == committee and len(committee) == 2
    body = mailoutbox[0].body
    assert f"/gestion/procesos/{tender.process.pk}/" in body
    assert supplier.legal_name not in body and supplier.ruc not in body  # who asked: private


def test_a_bid_receipt_reaches_the_bidder_alone_and_leaves_no_notice_row(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    supplier, user = tender.bidder()
    _other, other_user = tender.bidder()
    follow_process(actor=UserFactory(email="lector@correo.pe"), process=tender.process)
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()
    receipt = tender.submit(user, supplier)
    with clock.pinned(tender.during):
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == [user.email]
    assert receipt.receipt_hash in mailoutbox[0].body
    assert f"/recibos/{receipt.receipt_hash}/" in mailoutbox[0].body
    event = Event.objects.get(kind=EventKind.BID_RECEIVED)
    assert event.dispatched_at is not None
    assert not Notice.objects.filter(event=event).exists()  # no row says who bid


def _reminder_day(tender):
    """Noon of the working day before the bid deadline's day."""
    cal, day = WorkingCalendar(), tender.bids_stage.end - timedelta(days=1)
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return day


def test_the_deadline_reminder_skips_bidders_and_runs_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    bidder, bidder_user = tender.bidder()
    idle, idle_user = tender.bidder()
    withdrawn, withdrawn_user = tender.bidder()
    follow_process(actor=UserFactory(email="lector@correo.pe"), process=tender.process)
    tender.submit(bidder_user, bidder)
    tender.submit(withdrawn_user, withdrawn)
    from procurement.services import bids

    with clock.pinned(tender.during):
        bids.withdraw_bid(withdrawn_user, tender.process, withdrawn)
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()

    day = _reminder_day(tender)
    earlier = day - timedelta(days=1)  # two working days ahead or more: not yet
    with clock.pinned(clock.local(earlier)):
        assert record_bid_reminders() == 0
    with clock.pinned(clock.local(day)):
        assert record_bid_reminders() == 1
        assert record_bid_reminders() == 0  # beat runs again: nothing new
        _dispatch(django_capture_on_commit_callbacks)
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == sorted([idle_user.email, withdrawn_user.email])
    assert tender.process.identifier in mailoutbox[0].subject
    event = Event.objects.get(kind=EventKind.PROCESS_BID_REMINDER)
    assert not Notice.objects.filter(event=event).exists()
    assert set(event.payload) == {"identifier", "deadline"}  # names no participant

    # The next day (the deadline's own day), still before it closes: nothing again.
    with clock.pinned(clock.local(tender.bids_stage.end)):
        assert record_bid_reminders() == 0
        _dispatch(django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2


def _move_bid_deadline(tender, days: int):
    """Amend the calendar: the bid deadline, and every stage after it, `days` working days
    later; returns the new bid stage."""
    add = WorkingCalendar().add_working_days
    dates, later = {}, False
    for stage in tender.process.stages.order_by("position"):
        start, end = stage.start, stage.end
        if stage.stage == "ofertas":
            end, later = add(end, days), True
        elif later:
            start, end = add(start, days), add(end, days)
        dates[stage.stage] = (start, end)
    processes.set_calendar(tender.staff, tender.process, dates, reason="Prórroga del plazo")
    return tender.process.stages.get(stage="ofertas")


def _reminder_day_of(stage):
    cal, day = WorkingCalendar(), stage.end - timedelta(days=1)
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return day


def test_a_deadline_moved_after_its_reminder_gets_one_reminder_of_its_own(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    _idle, idle_user = tender.bidder()
    follow_process(actor=UserFactory(email="lector@correo.pe"), process=tender.process)
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()

    with clock.pinned(clock.local(_reminder_day(tender))):
        assert record_bid_reminders() == 1
        _dispatch(django_capture_on_commit_callbacks)
        assert _to(mailoutbox) == [idle_user.email]
        mailoutbox.clear()
        moved = _move_bid_deadline(tender, 3)
        _dispatch(django_capture_on_commit_callbacks)  # the amendment's own notice
        assert _to(mailoutbox) == sorted([idle_user.email, "lector@correo.pe"])
        assert all("Prórroga del plazo" in m.body for m in mailoutbox)
        mailoutbox.clear()
        assert record_bid_reminders() == 0  # the new deadline is not one working day away

    with clock.pinned(clock.local(_reminder_day_of(moved))):
        assert record_bid_reminders() == 1
        assert record_bid_reminders() == 0  # the same deadline: never a second one
        _dispatch(django_capture_on_commit_callbacks)
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == [idle_user.email]
    assert moved.end.strftime("%d/%m/%Y") in mailoutbox[0].subject
    reminders = Event.objects.filter(kind=EventKind.PROCESS_BID_REMINDER)
    assert reminders.count() == 2
    with clock.pinned(clock.local(moved.end)):  # the deadline's own day: nothing again
        assert record_bid_reminders() == 0

    # The database holds it too, whatever runs in parallel.
    from django.db import IntegrityError, transaction

    from notifications import events

    with pytest.raises(IntegrityError), transaction.atomic():
        events.record(
            EventKind.PROCESS_BID_REMINDER,
            tender.process,
            payload=dict(reminders.last().payload),
        )


def test_a_reminder_whose_deadline_moved_before_it_went_out_sends_nothing(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    _idle, idle_user = tender.bidder()
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()
    with clock.pinned(clock.local(_reminder_day(tender))):
        assert record_bid_reminders() == 1  # recorded, not yet dispatched
        moved = _move_bid_deadline(tender, 3)
        _dispatch(django_capture_on_commit_callbacks)
    assert [m.subject for m in mailoutbox if "Recordatorio" in m.subject] == []
    assert len(mailoutbox) == 1  # the amendment's notice alone
    with clock.pinned(clock.local(_reminder_day_of(moved))):
        assert record_bid_reminders() == 1
        _dispatch(django_capture_on_commit_callbacks)
    assert "Recordatorio" in mailoutbox[-1].subject
    assert moved.end.strftime("%d/%m/%Y") in mailoutbox[-1].subject


def test_a_late_run_still_reminds_before_the_deadline_but_never_after(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    _idle, idle_user = tender.bidder()
    after = tender.bids_stage.closes_at + timedelta(seconds=1)
    with clock.pinned(after):
        assert record_bid_reminders() == 0
    with clock.pinned(clock.local(tender.bids_stage.end)):
        assert record_bid_reminders() == 1
        _dispatch(django_capture_on_commit_callbacks)
    assert idle_user.email in _to(mailoutbox)


def test_the_other_committee_members_are_asked_to_confirm_an_opening(
    django_capture_on_commit_callbacks, mailoutbox
):
    from procurement.services import opening

    tender = called_tender(items=1)
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()
    members = set(tender.process.committee_members.values_list("user__email", flat=True))
    assert tender.staff.email in members
    moment = tender.process.stages.get(stage="apertura").opens_at + timedelta(minutes=1)
    with clock.pinned(moment):
        with django_capture_on_commit_callbacks(execute=True):
            opening.start_opening(actor=tender.staff, process=tender.process)
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == sorted(members - {tender.staff.email})
    assert "confírmela" in mailoutbox[0].body
    assert user.email not in _to(mailoutbox)


def test_a_deadline_passed_with_no_bid_is_told_to_the_committee_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    from procurement.tasks import record_deadline_events

    quiet = called_tender(items=1)
    _idle, idle_user = quiet.bidder()
    busy = called_tender(items=1)
    supplier, user = busy.bidder()
    busy.submit(user, supplier)
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()
    committee = set(quiet.process.committee_members.values_list("user__email", flat=True))

    with clock.pinned(quiet.bids_stage.closes_at):  # the last instant is still in time
        assert record_deadlines_without_bids() == 0
    after = max(quiet.bids_stage.closes_at, busy.bids_stage.closes_at) + timedelta(seconds=1)
    with clock.pinned(after):
        assert record_deadline_events() == {"reminders": 0, "without_bids": 1}
        assert record_deadline_events() == {"reminders": 0, "without_bids": 0}
        mailoutbox.clear()
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == sorted(committee)
    assert "desierto" in mailoutbox[0].body
    assert idle_user.email not in _to(mailoutbox)
    assert Event.objects.get(kind=EventKind.PROCESS_NO_BIDS).process == quiet.process


def test_an_appeal_recorded_for_two_audiences_is_told_once_and_to_its_resolver(
    django_capture_on_commit_callbacks, mailoutbox
):
    """The appeals service records each appeal event twice (participants and public): each
    participant hears of it once; the committee and the entity's head, who resolves it,
    hear what they must do and by when."""
    from django.db import transaction

    from notifications import events
    from notifications.models import Audience
    from tests.factories import head_of

    tender = called_tender(items=1)
    _supplier, user = tender.bidder()
    head = head_of(tender.process.entity)
    committee = set(tender.process.committee_members.values_list("user__email", flat=True))
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()
    payload = {"identifier": tender.process.identifier, "resolver": "entity_head"}
    payload["due_on"] = "2030-03-15"
    with transaction.atomic():
        for audience in (Audience.PARTICIPANTS, Audience.PUBLIC):
            events.record(
                EventKind.APPEAL_FILED, tender.process, audience=audience, payload=payload
            )
    _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == sorted(committee | {head.email, user.email})
    to_head = next(m for m in mailoutbox if m.to == [head.email])
    assert "15/03/2030" in to_head.body
    assert f"/gestion/procesos/{tender.process.pk}/" in to_head.body
    to_bidder = next(m for m in mailoutbox if m.to == [user.email])
    assert "15/03/2030" not in to_bidder.body and "/gestion/" not in to_bidder.body
