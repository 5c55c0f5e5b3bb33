"""Notices of what happens to a process after its call (issue 13), besides the publication
that subscriptions catch (notices.notify_subscribers):

- the process's news (calendar or criteria amended, a document published or amended, answers,
  integrated bases, opening act, award, desierto, cancelled, void and restarted, appeal filed
  and resolved, consent, and its contracts signed, amended, completed, terminated or void)
  reach its registered participants' users and its followers, once each
  (notifications.Notice: one per event, recipient and channel);
- entity staff hear what they must act on: a new question or observation, an appeal against
  their award (with the day it is due), a request to confirm an opening as second committee
  member, the consent that ends a standstill, a bid deadline passed with no bid;
- the kinds nobody is told of are listed in UNTOLD, each with its reason;
- a bid receipt reaches the users of the bidder that leads the bid, nobody else;
- the reminder one working day before the bid deadline reaches the participants with no bid
  in force.

The receipt and the reminder leave no Notice row: a row naming who got a receipt, or who
was reminded (so, by difference, who bid), would tell an admin reading the database who bid
before the opening, which the blind tags of procurement.sealing exist to prevent. They are
sent by the dispatch handler itself, with a stable Message-ID; the reminder is recorded at
most once per process and bid deadline (a unique constraint on the event), so a participant
never gets two for one deadline, and gets a new one when an amendment moves the deadline.
Everything else goes through the Notice rows and the send_notices task, like subscriptions.
"""

import logging
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from core import clock, formatting
from core.codelists import Stage
from core.workdays import calendar as working_calendar
from notifications import events
from notifications.email import site_host
from notifications.models import Audience, Event, EventKind, Follow, Notice

from .. import sealing
from ..models import (
    Bid,
    CommitteeMember,
    ContractAmendment,
    Participant,
    ProcessStage,
    ProcessStatus,
)
from . import notices
from .follows import unfollow_token

logger = logging.getLogger(__name__)

# What each kind of process news says, in the recipient's language.
PROCESS_NEWS = {
    EventKind.PROCESS_CALENDAR_AMENDED: gettext_lazy("The calendar of the process was amended."),
    EventKind.PROCESS_CRITERIA_AMENDED: gettext_lazy(
        "The evaluation criteria of the process were amended."
    ),
    EventKind.PROCESS_DOCUMENT_PUBLISHED: gettext_lazy(
        "A document of the process was published or amended."
    ),
    EventKind.PROCESS_ANSWERS_PUBLISHED: gettext_lazy(
        "The answers to the questions and observations were published."
    ),
    EventKind.PROCESS_INTEGRATED_BASES_PUBLISHED: gettext_lazy(
        "The integrated tender documents were published."
    ),
    EventKind.PROCESS_BIDS_OPENED: gettext_lazy(
        "The bids were opened: the opening act is published."
    ),
    EventKind.PROCESS_AWARDED: gettext_lazy("The award (buena pro) was granted."),
    EventKind.PROCESS_DESERTED: gettext_lazy("The process (or one of its lots) was deserted."),
    EventKind.PROCESS_CANCELLED: gettext_lazy("The process was cancelled."),
    EventKind.PROCESS_ANNULLED: gettext_lazy("The process was declared void."),
    EventKind.APPEAL_FILED: gettext_lazy(
        "An appeal against the award was filed: the process is suspended."
    ),
    EventKind.APPEAL_RESOLVED: gettext_lazy("An appeal of the process was admitted or resolved."),
    EventKind.PROCESS_CONSENTED: gettext_lazy("The award was consented: the standstill ended."),
    # Told when the entity's staff suspend or resume it; a suspension or resumption by an
    # appeal is told by APPEAL_FILED or APPEAL_RESOLVED (its event names the appeal).
    EventKind.PROCESS_SUSPENDED: gettext_lazy("The process was suspended."),
    EventKind.PROCESS_RESUMED: gettext_lazy("The process was resumed."),
    EventKind.PROCESS_RESTARTED: gettext_lazy(
        "The process, declared void, was called again from an earlier stage: see its calendar."
    ),
    EventKind.CONTRACT_SIGNED: gettext_lazy("The contract %(number)s was signed for %(amount)s."),
    EventKind.CONTRACT_AMENDED: gettext_lazy(
        "The contract %(number)s was amended (%(kind)s of %(amendment)s): it now amounts to "
        "%(current)s."
    ),
    # Said by how it ended (CONTRACT_ENDINGS).
    EventKind.CONTRACT_ENDED: gettext_lazy("The contract %(number)s ended."),
}

# An amendment recorded without what the contract amounts to after it (events written before
# the payload carried it, or imported) says what it knows and leaves the rest out, never an
# empty amount: without the amount now, or without the amendment's kind and amount too.
CONTRACT_AMENDED_SHORTER = (
    gettext_lazy("The contract %(number)s was amended (%(kind)s of %(amendment)s)."),
    gettext_lazy("The contract %(number)s was amended."),
)

# How a contract ended (the action of procurement.services.contracts.CONTRACT_TRANSITIONS):
# the notice's title and line.
CONTRACT_ENDINGS = {
    "complete": (
        gettext_lazy("Contract completed"),
        gettext_lazy("The contract %(number)s was completed."),
    ),
    "terminate": (
        gettext_lazy("Contract terminated (resolved)"),
        gettext_lazy("The contract %(number)s was terminated (resolved)."),
    ),
    "annul": (
        gettext_lazy("Contract declared void"),
        gettext_lazy("The contract %(number)s was declared void."),
    ),
}

# What the entity's staff must act on (the process's committee, or the entity's staff when
# it has none; for an appeal also whoever resolves it).
STAFF_ACTIONS = {
    EventKind.PROCESS_QUESTION_SUBMITTED: gettext_lazy(
        "A question or observation was submitted: answer it before publishing the answers."
    ),
    EventKind.APPEAL_FILED: gettext_lazy(
        "An appeal against the award was filed: it must be resolved by %(due_on)s."
    ),
    EventKind.PROCESS_CONSENTED: gettext_lazy(
        "The standstill ended and the award is consented: the contract can be signed."
    ),
    EventKind.PROCESS_OPENING_STARTED: gettext_lazy(
        "%(name)s started the opening of the bids: as second committee member, confirm it "
        "by %(until)s or it expires."
    ),
    EventKind.PROCESS_NO_BIDS: gettext_lazy(
        "The bid deadline passed with no bid in force: the process is to be declared deserted."
    ),
}

# Kinds recorded twice, once per audience (procurement.services.appeals and contracts): only
# the public copy makes notices, so nobody hears of one appeal or contract twice.
_PUBLIC_COPY_ONLY = {
    EventKind.APPEAL_FILED,
    EventKind.APPEAL_RESOLVED,
    EventKind.CONTRACT_SIGNED,
    EventKind.CONTRACT_AMENDED,
    EventKind.CONTRACT_ENDED,
}

# The kinds no notice tells, and why: each is told by another event of the same change, or
# is nothing anyone must hear of or act on. Every kind is either handled or here (a test
# holds it), so a new kind cannot go untold by oversight.
UNTOLD = {
    EventKind.PROCESS_CONTRACTED: "told as CONTRACT_SIGNED, one per contract",
    EventKind.PROCESS_CONTRACT_VOIDED: "told as CONTRACT_ENDED (annul), recorded with it",
    EventKind.PROCESS_BID_DEADLINE_MOVED: (
        "told as PROCESS_CALENDAR_AMENDED, recorded with it; the reminder follows the new "
        "deadline (record_bid_reminders)"
    ),
    EventKind.PROCESS_PARTICIPANT_REGISTERED: "the staff have nothing to do about it",
    EventKind.CONTRACT_EVALUATED: "the supplier's record, not news of the process",
}


# A suspension or resumption that an appeal made is told by the appeal's own event.
_TOLD_BY_THE_APPEAL = {EventKind.PROCESS_SUSPENDED, EventKind.PROCESS_RESUMED}


def handled_kinds() -> list[str]:
    return sorted(set(PROCESS_NEWS) | set(STAFF_ACTIONS))


def participant_users(process):
    """The active users of the suppliers registered as participants of `process`."""
    return get_user_model().objects.filter(
        is_active=True,
        memberships__role=Role.SUPPLIER_USER,
        memberships__supplier__participations__process=process,
    )


def follower_users(process):
    return get_user_model().objects.filter(is_active=True, follows__process=process)


def staff_users(event: Event):
    """Who must act on `event`: the process's committee (the entity's staff when it has
    none), and for an appeal the ones who resolve it (the entity's head or the tribunal)."""
    process = event.process
    users = get_user_model().objects.filter(is_active=True)
    committee = CommitteeMember.objects.filter(process=process).values("user_id")
    if committee.exists():
        chosen = users.filter(pk__in=committee)
    else:
        chosen = users.filter(
            memberships__role=Role.ENTITY_STAFF, memberships__entity_id=process.entity_id
        )
    if event.kind == EventKind.PROCESS_OPENING_STARTED:  # the one who started cannot confirm
        chosen = chosen.exclude(pk=event.payload.get("started_by"))
    if event.kind == EventKind.APPEAL_FILED:
        resolver = event.payload.get("resolver")
        if resolver == Role.ENTITY_HEAD:
            heads = users.filter(
                memberships__role=Role.ENTITY_HEAD, memberships__entity_id=process.entity_id
            )
            chosen = chosen | heads
        elif resolver == Role.TRIBUNAL:
            chosen = chosen | users.filter(memberships__role=Role.TRIBUNAL)
    return chosen


def recipients(event: Event) -> set[int]:
    """The user ids `event` is told to (deduplicated: one notice each)."""
    if event.process_id is None:
        return set()
    if event.kind in _PUBLIC_COPY_ONLY and event.audience != Audience.PUBLIC:
        return set()
    if event.kind in _TOLD_BY_THE_APPEAL and (event.payload or {}).get("appeal"):
        return set()
    found: set[int] = set()
    if event.kind in PROCESS_NEWS and event.audience == Audience.PUBLIC:
        found |= set(participant_users(event.process).values_list("pk", flat=True))
        found |= set(follower_users(event.process).values_list("pk", flat=True))
    if event.kind in STAFF_ACTIONS:
        found |= set(staff_users(event).values_list("pk", flat=True))
    return found


def notify_process_event(event: Event) -> None:
    """The dispatch handler of the process's news and the staff's actions: one Notice per
    recipient (a second dispatch creates nothing: the unique constraint), each sent by the
    send_notices task once the dispatch commits."""
    notices.create_and_send(
        event, [Notice(event=event, recipient_id=user_id) for user_id in sorted(recipients(event))]
    )


def is_staff_recipient(notice: Notice) -> bool:
    return (
        notice.event.kind in STAFF_ACTIONS
        and staff_users(notice.event).filter(pk=notice.recipient_id).exists()
    )


def _day(value) -> str:
    """A date of the payload (ISO, as stored) the way the recipient's language writes it."""
    try:
        return date_format(date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
    except ValueError:
        return ""


def _staff_params(event: Event) -> dict:
    starter = get_user_model().objects.filter(pk=event.payload.get("started_by")).first()
    until = parse_datetime(str(event.payload.get("confirm_by", "")))
    return {
        "due_on": _day(event.payload.get("due_on")),
        "name": starter.get_full_name() if starter else "",
        "until": formatting.moment(until) if until else "",
    }


def _money(value) -> str:
    try:
        return formatting.money(Decimal(str(value)))
    except (InvalidOperation, TypeError):
        return ""


def news_line(event: Event) -> str:
    """What the process's news `event` says, in the current language."""
    payload = event.payload
    text = PROCESS_NEWS[event.kind]
    if event.kind == EventKind.CONTRACT_ENDED and payload.get("action") in CONTRACT_ENDINGS:
        text = CONTRACT_ENDINGS[payload["action"]][1]
    if not event.kind.startswith("contract."):
        return str(text)
    kind = payload.get("kind")
    values = {
        "number": payload.get("number", ""),
        "kind": ContractAmendment.Kind(kind).label.lower()
        if kind in ContractAmendment.Kind.values
        else "",
        "amount": _money(payload.get("amount")),
        "amendment": _money(payload.get("amendment_amount")),
        "current": _money(payload.get("current_amount")),
    }
    if event.kind == EventKind.CONTRACT_AMENDED and not values["current"]:
        with_amendment, bare = CONTRACT_AMENDED_SHORTER
        text = with_amendment if values["kind"] and values["amendment"] else bare
    return str(text) % values


def news_title(event: Event) -> str:
    """What the notice's subject calls `event`: its kind, or how its contract ended."""
    action = event.payload.get("action")
    if event.kind == EventKind.CONTRACT_ENDED and action in CONTRACT_ENDINGS:
        return str(CONTRACT_ENDINGS[action][0])
    return str(event.get_kind_display())


def compose(notice: Notice) -> dict:
    """Subject, template and context of a process event's notice (called by
    notices.send_notices inside the recipient's language)."""
    event, process = notice.event, notice.event.process
    facts = notices.process_facts(process)
    lines = []
    if event.kind in PROCESS_NEWS and event.audience == Audience.PUBLIC:
        lines.append(news_line(event))
    action_url = None
    if is_staff_recipient(notice):
        lines.append(str(STAFF_ACTIONS[event.kind]) % _staff_params(event))
        action_url = settings.SITE_URL + reverse("procurement:process_workspace", args=[process.pk])
    reason = event.payload.get("reason")
    follow = Follow.objects.filter(user_id=notice.recipient_id, process=process).first()
    unfollow_url = (
        settings.SITE_URL + reverse("unfollow_link", args=[unfollow_token(follow)])
        if follow
        else None
    )
    return {
        # A follower may stop following with one click (RFC 8058), as a subscriber stops a
        # subscription; a participant or the staff hear of their process in any case.
        "headers": notices.unsubscribe_headers(unfollow_url) if unfollow_url else {},
        "subject": _("%(identifier)s: %(what)s")
        % {"identifier": facts.identifier, "what": news_title(event)},
        "template": "procurement/subscriptions/email/process_event",
        "context": {
            "process": facts,
            **notices.facts_parts(process),
            "lines": lines,
            "reason": reason if isinstance(reason, str) else "",
            "action_url": action_url,
            "followed_url": settings.SITE_URL + reverse("followed_list"),
            "unfollow_url": unfollow_url,
        },
    }


# --- Sent by the handler itself, with no Notice row (see the module's docstring) -----------


def _lead_supplier_id(process, bid: Bid) -> int | None:
    """The participant whose blind tag (online or paper) is the bid's own: its lead."""
    key = sealing.existing_process_key(process)
    if key is None:
        return None
    for supplier_id in Participant.objects.filter(process=process).values_list(
        "supplier_id", flat=True
    ):
        if bid.bidder_tag in (sealing.tag(key, supplier_id), sealing.paper_tag(key, supplier_id)):
            return supplier_id
    return None


def _supplier_users(supplier_id: int):
    return get_user_model().objects.filter(
        is_active=True,
        memberships__role=Role.SUPPLIER_USER,
        memberships__supplier_id=supplier_id,
    )


def _personal_message_id(event: Event, user) -> str:
    # Stable per event and recipient: a resend after a worker died is recognisably the same.
    return f"<event-{event.pk}-{user.pk}@{site_host()}>"


def _send_personal(event: Event, user, *, subject, template, context) -> None:
    with translation.override(user.language):
        notices._send(
            to=user.email,
            subject=str(subject()),
            template=template,
            context=context(),
            headers={"Message-ID": _personal_message_id(event, user)},
        )


def send_bid_receipt(event: Event) -> None:
    """The dispatch handler of BID_RECEIVED: the receipt e-mailed to the users of the
    supplier leading the bid (a consortium's members see it in their own pages)."""
    process = event.process
    bid = Bid.objects.filter(pk=event.object_id).first()
    if process is None or bid is None:
        return
    supplier_id = _lead_supplier_id(process, bid)
    if supplier_id is None:
        return
    receipt = event.payload.get("receipt", "")
    for user in _supplier_users(supplier_id):
        _send_personal(
            event,
            user,
            subject=lambda: _("Bid receipt: %(identifier)s") % {"identifier": process.identifier},
            template="procurement/subscriptions/email/bid_receipt",
            context=lambda: {
                "process": notices.process_facts(process),
                "receipt": receipt,
                "received_at": event.created_at,
                "receipt_url": settings.SITE_URL
                + reverse("procurement:receipt_detail", args=[receipt]),
            },
        )


def participants_without_bid(process) -> list[int]:
    """The ids of the suppliers registered in `process` that have no bid in force (alone, as
    a consortium's lead or member, or on paper). The caller tells each one alone: the list
    itself, like the bids, is never shown or stored."""
    from ..services.bids import own_bids

    participations = list(Participant.objects.filter(process=process))
    in_force = {
        pair for pair, bid in own_bids(participations).items() if bid.status == Bid.Status.SUBMITTED
    }
    return [p.supplier_id for p in participations if (p.process_id, p.supplier_id) not in in_force]


def deadline_key(stage: ProcessStage) -> str:
    """The bid deadline as a reminder's payload holds it (the outbox's JSON of the closing
    instant): what makes the reminder once only per deadline."""
    return DjangoJSONEncoder().default(stage.closes_at)


def send_bid_reminder(event: Event) -> None:
    """The dispatch handler of PROCESS_BID_REMINDER: each participant with no bid in force
    is reminded of the deadline. A reminder whose deadline an amendment moved before it
    went out sends nothing (the new deadline has its own). A failed address is logged and
    not retried: retrying the event would remind the others twice."""
    process = event.process
    if process is None or process.status != ProcessStatus.CALLED:
        return
    stage = process.stages.filter(stage=Stage.BIDS).first()
    if stage is None or stage.has_closed(clock.now()):
        return
    if event.payload.get("deadline") != deadline_key(stage):
        return
    for supplier_id in participants_without_bid(process):
        for user in _supplier_users(supplier_id):
            try:
                _send_personal(
                    event,
                    user,
                    subject=lambda: (
                        _("Reminder: bids for %(identifier)s close on %(deadline)s")
                        % {
                            "identifier": process.identifier,
                            "deadline": timezone.localtime(stage.closes_at).strftime(
                                "%d/%m/%Y %H:%M"
                            ),
                        }
                    ),
                    template="procurement/subscriptions/email/bid_reminder",
                    context=lambda: {
                        "process": notices.process_facts(process),
                        "deadline": stage.closes_at,
                    },
                )
            except Exception as error:  # noqa: BLE001 - see the docstring
                logger.warning("bid reminder of event %s failed once: %r", event.pk, error)


def reminder_last_day(today):
    """Bid deadlines up to this day are reminded `today`: up to the next working day after
    it, so the reminder goes one working day before the deadline (and a late run, on the
    deadline's own day, still reminds before it closes)."""
    return working_calendar().add_working_days(today, 1)


def record_bid_reminders(now=None) -> int:
    """Record the reminder event of each called process whose bid deadline is due for one
    (reminder_last_day) and still ahead; at most one per process and deadline (a unique
    constraint), so the beat task may run as often and as late as it likes, and a deadline
    an amendment moved after its reminder gets a reminder of its own. Returns how many it
    recorded."""
    now = now or clock.now()
    today = timezone.localdate(now)
    stages = ProcessStage.objects.filter(
        stage=Stage.BIDS,
        process__status=ProcessStatus.CALLED,
        end__gte=today,
        end__lte=reminder_last_day(today),
    ).select_related("process__entity")
    due = [stage for stage in stages if not stage.has_closed(now)]
    reminded = set(
        Event.objects.filter(
            kind=EventKind.PROCESS_BID_REMINDER, process__in=[s.process_id for s in due]
        ).values_list("process_id", "payload__deadline")
    )
    recorded = 0
    for stage in due:
        key = deadline_key(stage)
        if (stage.process_id, key) in reminded:
            continue
        payload = {"identifier": stage.process.identifier, "deadline": key}
        if _record_once(EventKind.PROCESS_BID_REMINDER, stage.process, payload):
            recorded += 1
    if recorded:
        transaction.on_commit(events.request_dispatch, robust=True)
    return recorded


# How far back the task looks for deadlines that passed with no bid (a process left called
# longer than this is the auditors' "stuck" list, not a notice).
NO_BIDS_LOOKBACK_DAYS = 30


def record_deadlines_without_bids(now=None) -> int:
    """Record, once per process, that the bid deadline of a called process passed with no
    bid in force, so its committee hears it is to declare it deserted. Returns how many."""
    from ..services.opening import bids_in_force

    now = now or clock.now()
    today = timezone.localdate(now)
    stages = ProcessStage.objects.filter(
        stage=Stage.BIDS,
        process__status=ProcessStatus.CALLED,
        end__lte=today,
        end__gte=today - timedelta(days=NO_BIDS_LOOKBACK_DAYS),
    ).exclude(process__events__kind=EventKind.PROCESS_NO_BIDS)
    recorded = 0
    for stage in stages.select_related("process__entity"):
        if not stage.has_closed(now) or bids_in_force(stage.process):
            continue
        payload = {"identifier": stage.process.identifier}
        if _record_once(EventKind.PROCESS_NO_BIDS, stage.process, payload):
            recorded += 1
    if recorded:
        transaction.on_commit(events.request_dispatch, robust=True)
    return recorded


def _record_once(kind: str, process, payload: dict) -> bool:
    """Record a deadline event of `process`; False when it exists already (a unique
    constraint holds one reminder per process and deadline, one deadline passed with no bid
    per process, whatever runs in parallel)."""
    try:
        with transaction.atomic():
            events.record(kind, process, entity=process.entity, payload=payload)
    except IntegrityError:
        return False
    return True


def register_handlers(dispatch) -> None:
    for kind in handled_kinds():
        dispatch.register(kind, notify_process_event)
    dispatch.register(EventKind.BID_RECEIVED, send_bid_receipt)
    dispatch.register(EventKind.PROCESS_BID_REMINDER, send_bid_reminder)
