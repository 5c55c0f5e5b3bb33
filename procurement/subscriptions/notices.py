"""From event to notice to e-mail. A published process becomes one Notice per recipient whose
subscription it matches (the unique constraint on event, recipient and channel makes a second
dispatch of the event create nothing); an immediate notice is sent by a send task, a digest
notice waits for the day's digest. The other events' notices (a plan published or modified:
plan_notices; a process's later news: process_notices) are sent by the same task, each
written by its module's `compose`.

Immediate notices are sent in batches (SEND_BATCH a task): one query reads a batch's notices
with what they tell of, what every notice of an event says is worked out once, and the
messages go out over one SMTP connection.

What sending guarantees: each notice is marked sent in its own transaction, which holds its
row locked while the SMTP server accepts its message and commits right after, so a task
delivered twice (or by two workers) sends once, and a batch cut short leaves only the notice
in hand unrecorded. A worker killed after the server accepted but before that commit leaves
the notice queued, and the next attempt sends it again under the same Message-ID
(`<notice-ID@host>`): a duplicate is possible only then (at most one message per worker
process), or when the database server itself crashes (the commit does not wait for the disk:
_send_one), and recognisable. A message that can never go (the server refuses the address
itself, SMTP 5xx, or the message cannot be built from its data: a header or address Django
refuses, a template failing on the notice's data) marks the notice failed at once, its reason
in last_error; a failure of the network, the SMTP server or the database is retried with a
growing delay (notifications.email.failure_is_permanent decides which is which), that notice
alone: the rest of its batch goes on."""

import logging
import random
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import mailers
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from core.codelists import Stage
from notifications.email import PlainEmail, failure_is_permanent, site_host
from notifications.models import Delivery, Digest, Event, EventKind, Notice, NoticeStatus

from .services import unsubscribe_token

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# A temporary failure is retried by the task's own schedule (procurement.tasks.NOTICE_RETRY):
# after a random delay of at most RETRY_BACKOFF * 2**(retries) seconds, capped at
# RETRY_BACKOFF_MAX (Celery's retry_backoff with jitter).
RETRY_BACKOFF = 30
RETRY_BACKOFF_MAX = 3600
# Immediate notices a send task takes (one query to read them, one SMTP connection).
SEND_BATCH = 100


def retry_due_after(attempts: int) -> timedelta:
    """The longest wait before the scheduled retry after `attempts` failed attempts."""
    return timedelta(seconds=min(RETRY_BACKOFF * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_MAX))


class TemporaryFailure(Exception):
    """The send failed for a reason that may pass (server down, timeout): retry later."""


def notify_subscribers(event: Event) -> None:
    """The dispatch handler of PROCESS_PUBLISHED: a notice for each user one of whose active
    subscriptions the process matches, and a send task for each immediate notice once the
    dispatch commits."""
    from .matching import subscriptions_for_process

    if event.process_id is None:
        return
    notify_owners(event, subscriptions_for_process(event.process))


def notify_owners(event: Event, subscriptions) -> None:
    """One notice of `event` per owner of `subscriptions`, naming the subscription that
    caught it (an immediate subscription wins over a digest one), and a send task for each
    immediate notice once the dispatch commits. A second dispatch of the event creates
    nothing (the unique constraint)."""
    chosen: dict[int, tuple[int, str]] = {}
    for pk, owner_id, chosen_delivery in subscriptions.order_by("pk").values_list(
        "pk", "owner_id", "delivery"
    ):
        if owner_id not in chosen or (
            chosen_delivery == Delivery.IMMEDIATE and chosen[owner_id][1] != Delivery.IMMEDIATE
        ):
            chosen[owner_id] = (pk, chosen_delivery)
    create_and_send(
        event,
        [
            Notice(event=event, recipient_id=owner, subscription_id=pk, delivery=chosen_delivery)
            for owner, (pk, chosen_delivery) in chosen.items()
        ],
    )


def create_and_send(event: Event, new_notices: list[Notice]) -> None:
    """Store the notices of `event` (those it already has stay: the unique constraint makes a
    second dispatch create nothing), and ask for the send of every immediate one still queued
    once the dispatch commits."""
    Notice.objects.bulk_create(new_notices, ignore_conflicts=True)
    immediate = list(
        Notice.objects.filter(
            event=event, status=NoticeStatus.QUEUED, delivery=Delivery.IMMEDIATE
        ).values_list("pk", flat=True)
    )
    if immediate:
        transaction.on_commit(lambda: request_sends(immediate), robust=True)


def request_sends(notice_ids) -> None:
    """One send task per SEND_BATCH of `notice_ids`."""
    from ..tasks import send_notices

    notice_ids = list(notice_ids)
    for start in range(0, len(notice_ids), SEND_BATCH):
        send_notices.delay(notice_ids[start : start + SEND_BATCH])


def request_retries(failed: dict[int, list[int]]) -> None:
    """Ask for the retry of notices that failed for a reason that may pass, given as
    {attempts so far: notice ids}: each after a random delay of at most
    retry_due_after(attempts) and at least a second (exponential backoff with full jitter, as
    Celery's own retry_backoff; a delay of 0 would retry at once, and send the task without
    an eta at all). With tasks run in-process (no broker) a retry would run at once and
    spend every attempt in a loop: those notices are left to the requeue sweep."""
    from ..tasks import send_notices

    if send_notices.app.conf.task_always_eager:
        return
    for attempts, notice_ids in sorted(failed.items()):
        longest = max(1, int(retry_due_after(attempts).total_seconds()))
        send_notices.apply_async((notice_ids,), countdown=random.randint(1, longest))


def requeue_stale() -> int:
    """Ask again for the immediate notices still queued NOTICE_REQUEUE_AFTER seconds after
    they were made, or after their scheduled retry was due: their task was lost (the broker
    was down at commit or lost its messages, a worker died holding it unacknowledged, or the
    task gave up). A notice waiting for its retry is left to it, so the sweep never shortens
    the retry delays nor spends the attempts faster. A send task asked twice sends once."""
    cutoff = timezone.now() - timedelta(seconds=settings.NOTICE_REQUEUE_AFTER)
    stale = list(
        Notice.objects.filter(
            Q(retry_due_at__isnull=True) | Q(retry_due_at__lte=cutoff),
            status=NoticeStatus.QUEUED,
            delivery=Delivery.IMMEDIATE,
            created_at__lte=cutoff,
            attempts__lt=MAX_ATTEMPTS,
        ).values_list("pk", flat=True)[:1000]
    )
    request_sends(stale)
    return len(stale)


def notice_message_id(notice: Notice) -> str:
    return f"<notice-{notice.pk}@{site_host()}>"


def digest_message_id(digest: Digest) -> str:
    return f"<digest-{digest.pk}@{site_host()}>"


def unsubscribe_url(subscription) -> str:
    path = reverse("subscriptions:unsubscribe", args=[unsubscribe_token(subscription)])
    return f"{settings.SITE_URL}{path}"


def unsubscribe_headers(url: str) -> dict[str, str]:
    # RFC 2369 and RFC 8058: a mail client may offer the button and POST to the URL itself.
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


@dataclass
class ProcessFacts:
    """What an e-mail says of a process: entity, object, value, SME-only, deadlines, link."""

    identifier: str
    description: str
    entity: str
    object_type: str
    procedure_type: str
    estimated_value: object
    sme_only: bool
    questions_close: object
    bids_close: object
    url: str


def once_per_batch(instance, key, compute):
    """`compute()` once per model instance and key. The notices of a send batch share their
    event's instances (send_notices), so what every notice of an event says (the process's
    facts in a language, the plan version and its changes) is worked out once a batch."""
    memo = instance.__dict__.setdefault("_once_per_batch", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def process_facts(process) -> ProcessFacts:
    """The facts of `process` in the current language (once per batch, once_per_batch)."""
    return once_per_batch(process, ("facts", get_language()), lambda: _process_facts(process))


def facts_parts(process) -> dict[str, str]:
    """The facts of `process` as its e-mails show them, as context entries: `facts_text`
    and `facts_html`, rendered once per batch and language (once_per_batch), since every
    notice of an event shows the same; only what names the recipient is rendered for each."""
    return once_per_batch(process, ("parts", get_language()), lambda: _facts_parts(process))


def _facts_parts(process) -> dict[str, str]:
    context = {"process": process_facts(process)}
    template = "procurement/subscriptions/email/process_facts"
    return {
        "facts_text": render_to_string(f"{template}.txt", context),
        "facts_html": render_to_string(f"{template}.html", context),
    }


def _process_facts(process) -> ProcessFacts:
    stages = {s.stage: s for s in process.stages.filter(stage__in=[Stage.QUESTIONS, Stage.BIDS])}
    path = reverse("procurement:process_detail", args=[process.identifier])
    return ProcessFacts(
        identifier=process.identifier,
        description=process.description,
        entity=process.entity.name,
        object_type=process.get_object_type_display(),
        procedure_type=process.get_procedure_type_display(),
        estimated_value=process.estimated_value,
        sme_only=process.sme_only,
        questions_close=stages[Stage.QUESTIONS].closes_at if Stage.QUESTIONS in stages else None,
        bids_close=stages[Stage.BIDS].closes_at if Stage.BIDS in stages else None,
        url=f"{settings.SITE_URL}{path}",
    )


def _message(*, to: str, subject: str, template: str, context: dict, headers: dict):
    """The e-mail of `template` (.txt and .html; text templates do not escape) to one address."""
    message = PlainEmail(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=[to],
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def _send(**message) -> None:
    _message(**message).send()


def _record_failure(row, error: Exception, *, permanent: bool) -> bool:
    """Record a failed attempt on a notice or digest, given up at once when `permanent`;
    True when it is to be retried."""
    row.last_error = f"{error.__class__.__name__}: {error}"[:2000]
    return _record_attempt(row, give_up=permanent, fields=["last_error"])


def _record_attempt(row, *, give_up: bool = False, fields=()) -> bool:
    """Record a failed attempt's outcome on a notice or digest (and `fields`): failed when
    `give_up` or out of attempts (MAX_ATTEMPTS), else queued for its retry; True when it is
    to be retried."""
    if give_up or row.attempts >= MAX_ATTEMPTS:
        row.status = NoticeStatus.FAILED
    fields = ["attempts", "status", *fields]
    if isinstance(row, Notice):
        row.retry_due_at = timezone.now() + retry_due_after(row.attempts)
        fields += ["retry_due_at", "sent_at"]
    row.save(update_fields=fields)
    return row.status == NoticeStatus.QUEUED


def _record_failure_or_attempt(row, error: Exception, *, permanent: bool) -> bool:
    """_record_failure, or when that fails (its statement refused, say), the attempt alone,
    logged: the row is left queued for the next run, or failed once out of attempts, so a
    notice whose failures cannot be recorded still runs out of attempts instead of coming
    back for ever with its attempt undone (and with it its batch's rest). The savepoint
    keeps the claim (_take) that counted the attempt when the record's statement failed."""
    try:
        with transaction.atomic():
            return _record_failure(row, error, permanent=permanent)
    except Exception:  # noqa: BLE001 - logged; the attempt is recorded below
        logger.exception("%s %s: its failure could not be recorded", row._meta.model_name, row.pk)
    return _record_attempt(row)


def _compose_published(notice: Notice) -> dict:
    """A subscriber's notice of a newly published process."""
    url = unsubscribe_url(notice.subscription)
    facts = process_facts(notice.event.process)
    return {
        "subject": _("New process: %(identifier)s") % {"identifier": facts.identifier},
        "template": "procurement/subscriptions/email/process_published",
        "context": {
            "process": facts,
            **facts_parts(notice.event.process),
            "subscription": notice.subscription,
            "unsubscribe_url": url,
            "subscriptions_url": f"{settings.SITE_URL}/cuentas/suscripciones/",
        },
        "headers": unsubscribe_headers(url),
    }


def _writer(notice: Notice):
    """How `notice` is written and in which language, as (compose, language); None when it
    no longer applies: its recipient is inactive, the subscription that caught it stopped,
    or the process or plan it tells of is gone. A subscriber's notice (a process published,
    a plan published or modified) is in the subscription's language, any other in the
    recipient's. `compose(notice)` returns the subject, template, context and headers."""
    from . import plan_notices, process_notices

    event = notice.event
    if not notice.recipient.is_active:
        return None
    if event.kind == EventKind.PROCESS_PUBLISHED or event.kind in plan_notices.PLAN_KINDS:
        subscription = notice.subscription
        if subscription is None or not subscription.active:
            return None
        if event.kind == EventKind.PROCESS_PUBLISHED:
            return (_compose_published, subscription.language) if event.process_id else None
        if plan_notices.version_of(event) is None:
            return None
        return plan_notices.compose, subscription.language
    if event.process_id is None:
        return None
    return process_notices.compose, notice.recipient.language


def _queued(notice_ids):
    """The queued notices among `notice_ids`, in one query with what they tell of; the
    notices of one event share its instances (once_per_batch)."""
    notices = list(
        Notice.objects.select_related(
            "event__process__entity", "event__entity", "subscription", "recipient"
        )
        .filter(pk__in=notice_ids, status=NoticeStatus.QUEUED)
        .order_by("pk")
    )
    events: dict[int, Event] = {}
    for notice in notices:
        notice.event = events.setdefault(notice.event_id, notice.event)
    return notices


def _take(notice: Notice, *, attempt: bool, **changes) -> int | None:
    """Apply `changes` to `notice` if it is still queued and no other transaction holds it,
    in one statement (UPDATE ... RETURNING, its row locked until the transaction ends),
    counting an attempt when `attempt`: its attempts before, or None when it was not queued
    or is taken (SKIP LOCKED; SQLite, which has no row locks, locks the whole database)."""
    table = connection.ops.quote_name(Notice._meta.db_table)
    columns = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in changes)
    if attempt:
        columns += ", attempts = attempts + 1"
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {columns} "  # noqa: S608 - our names
            f"WHERE id = (SELECT id FROM {table} WHERE id = %s AND status = %s "
            f"{lock}) RETURNING attempts{' - 1' if attempt else ''}",
            [*changes.values(), notice.pk, NoticeStatus.QUEUED],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def _commit_without_flush_wait() -> None:
    """Let this transaction's COMMIT return before its WAL is flushed to disk (PostgreSQL's
    asynchronous commit, this transaction only): if the database server crashes within
    about three times wal_writer_delay (0.6 s by default) of it, the transaction is undone,
    never half done. SQLite has no such setting (nor row locks: it serializes anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _send_one(notice: Notice, smtp, *, unreachable: Exception | None = None) -> str:
    """Send one queued notice over `smtp` in a transaction of its own that holds its
    row locked until the outcome is recorded: 'sent', 'skipped', 'failed' (given up),
    'retry' (to be retried), or 'not_queued' (sent, or taken by another worker, already).
    `unreachable` is the error that kept the batch from reaching the server: the notice
    failed this attempt with it.

    Four round trips to the database (BEGIN, SET LOCAL, one UPDATE, COMMIT): the statement
    that locks the row (FOR UPDATE SKIP LOCKED, as a SELECT would) records it sent,
    tentatively; the COMMIT right after the server accepted the message makes that final,
    and a failure rewrites the row (queued or failed) before it. A crash before the COMMIT
    rolls the row back to queued, as when the lock was taken by a SELECT: nothing is lost,
    and a message the server accepted just before the crash is the only one that can go
    twice. (sent_at is the time the send began, a few milliseconds before the server's
    answer.)

    The COMMIT does not wait for its WAL flush (_commit_without_flush_wait): that wait was
    most of a notice's time. Once the COMMIT returns the row is sent for every other
    transaction, so a task delivered twice still sends once; only a crash of the database
    server itself within a fraction of a second of it can bring the row back to queued,
    and then the message goes again under the same Message-ID, as after a worker's crash.
    Never the other way: a notice recorded sent was accepted by the SMTP server."""
    writer = _writer(notice)  # what it needs was read with the batch (_queued)
    with transaction.atomic():
        _commit_without_flush_wait()
        if writer is None:
            if _take(notice, attempt=False, status=NoticeStatus.SKIPPED) is None:
                return "not_queued"
            notice.status = NoticeStatus.SKIPPED
            return "skipped"
        now = timezone.now()
        attempts = _take(notice, attempt=True, status=NoticeStatus.SENT, sent_at=now, last_error="")
        if attempts is None:
            return "not_queued"
        compose, language = writer
        notice.attempts = attempts + 1
        try:
            if unreachable is not None:
                raise unreachable
            with translation.override(language):
                written = compose(notice)
                message = _message(
                    to=notice.recipient.email,
                    subject=written["subject"],
                    template=written["template"],
                    context=written["context"],
                    headers={"Message-ID": notice_message_id(notice), **written["headers"]},
                )
            smtp.send_messages([message])
        except Exception as error:  # noqa: BLE001 - recorded, then retried or given up
            logger.warning("notice %s failed: %r", notice.pk, error)
            if unreachable is None:
                with suppress(Exception):  # the next message opens a connection afresh
                    smtp.close()
            # A server that cannot be reached is the batch's failure, never this message's:
            # retried, whatever the error (a setting the connection refuses can be fixed).
            permanent = unreachable is None and failure_is_permanent(error)
            notice.status, notice.sent_at = NoticeStatus.QUEUED, None
            retry = _record_failure_or_attempt(notice, error, permanent=permanent)
            return "retry" if retry else "failed"
        notice.status, notice.sent_at, notice.last_error = NoticeStatus.SENT, now, ""
        return "sent"


def send_notices(notice_ids) -> dict[str, int]:
    """Send a batch of immediate notices over one SMTP connection, each once and recorded
    as soon as the server accepted it (_send_one). A notice that failed for a reason that may
    pass is retried alone, after its own backoff (request_retries); the others go on. When
    the server cannot be reached, every notice left in the batch failed this attempt.
    Returns how many notices had each outcome."""
    notices = _queued(notice_ids)
    outcomes = Counter(not_queued=len(set(notice_ids)) - len(notices))
    retries: dict[int, list[int]] = defaultdict(list)
    smtp = mailers.default
    unreachable = None
    try:
        for notice in notices:
            if unreachable is None:
                try:
                    smtp.open()
                except Exception as error:  # noqa: BLE001 - each notice records it
                    unreachable = error
            outcome = _send_one(notice, smtp, unreachable=unreachable)
            outcomes[outcome] += 1
            if outcome == "retry":
                retries[notice.attempts].append(notice.pk)
    finally:
        with suppress(Exception):
            smtp.close()
    request_retries(retries)
    return {outcome: count for outcome, count in outcomes.items() if count}


def send_notice(notice_id: int) -> str:
    """Send one immediate notice, once: returns what happened ('sent', 'skipped', 'failed',
    'not_queued' when it was sent or taken by another worker already); raises
    TemporaryFailure when it is to be retried (by the task that called it)."""
    notices = _queued([notice_id])
    if not notices:
        return "not_queued"
    smtp = mailers.default
    try:
        outcome = _send_one(notices[0], smtp)
    finally:
        with suppress(Exception):
            smtp.close()
    if outcome == "retry":
        raise TemporaryFailure(notices[0].last_error)
    return outcome


def collect_digests(*, day=None) -> list[int]:
    """Group each recipient's queued digest notices not yet in a digest into the digest of
    `day` (today in Lima by default), and ask for each digest to be sent."""
    day = day or timezone.localdate()
    digest_ids = []
    with transaction.atomic():
        waiting = Notice.objects.select_for_update(skip_locked=True).filter(
            status=NoticeStatus.QUEUED, delivery=Delivery.DIGEST, digest__isnull=True
        )
        recipients = sorted(set(waiting.values_list("recipient_id", flat=True)))
        for recipient_id in recipients:
            digest, _created = Digest.objects.get_or_create(recipient_id=recipient_id, day=day)
            if digest.status != NoticeStatus.QUEUED:
                continue  # the day's digest went out already: these wait for tomorrow's
            Notice.objects.filter(pk__in=waiting.filter(recipient_id=recipient_id)).update(
                digest=digest
            )
            digest_ids.append(digest.pk)
        if digest_ids:
            transaction.on_commit(lambda: request_digests(digest_ids), robust=True)
    return digest_ids


def request_digests(digest_ids) -> None:
    from ..tasks import send_digest

    for digest_id in digest_ids:
        send_digest.delay(digest_id)


def _digest_subject(processes: int, plans: int) -> str:
    if not plans:
        return ngettext(
            "%(count)d new process for your subscriptions",
            "%(count)d new processes for your subscriptions",
            processes,
        ) % {"count": processes}
    count = processes + plans
    return ngettext(
        "%(count)d update for your subscriptions", "%(count)d updates for your subscriptions", count
    ) % {"count": count}


def send_digest(digest_id: int) -> str:
    """Send one day's digest to its recipient, once: one e-mail listing its new processes and
    the plans published or modified by the entities it follows, each with the link that
    stops the subscription that caught it. A notice that no longer applies (_writer: the
    subscription stopped, the recipient left, the process or plan is gone) is skipped."""

    retry_error = None
    with transaction.atomic():
        digest = (
            Digest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=digest_id, status=NoticeStatus.QUEUED)
            .first()
        )
        if digest is None:
            return "not_queued"
        notices = list(
            digest.notices.filter(status=NoticeStatus.QUEUED)
            .select_related("event__process__entity", "subscription", "recipient")
            .order_by("created_at", "pk")
        )
        writers = {n.pk: writer[0] for n in notices if (writer := _writer(n)) is not None}
        live = [n for n in notices if n.pk in writers]
        Notice.objects.filter(pk__in=[n.pk for n in notices if n.pk not in writers]).update(
            status=NoticeStatus.SKIPPED
        )
        if not live:
            digest.status = NoticeStatus.SKIPPED
            digest.save(update_fields=["status"])
            return "skipped"
        digest.attempts += 1
        language = live[-1].subscription.language
        try:
            with translation.override(language):
                entries, plan_entries = [], []
                for n in live:
                    if writers[n.pk] is not _compose_published:  # a plan's (plan_notices)
                        written = writers[n.pk](n)
                        plan_entries.append({"subject": written["subject"], **written["context"]})
                    else:
                        entries.append(
                            {
                                "process": process_facts(n.event.process),
                                "subscription": n.subscription,
                                "unsubscribe_url": unsubscribe_url(n.subscription),
                            }
                        )
                first_url = unsubscribe_url(live[0].subscription)
                _send(
                    to=digest.recipient.email,
                    subject=_digest_subject(len(entries), len(plan_entries)),
                    template="procurement/subscriptions/email/digest",
                    context={
                        "entries": entries,
                        "plans": plan_entries,
                        "day": digest.day,
                        "subscriptions_url": f"{settings.SITE_URL}/cuentas/suscripciones/",
                    },
                    headers={
                        "Message-ID": digest_message_id(digest),
                        **unsubscribe_headers(first_url),
                    },
                )
        except Exception as error:  # noqa: BLE001 - recorded, then retried or given up
            logger.warning("digest %s failed: %r", digest.pk, error)
            if _record_failure_or_attempt(digest, error, permanent=failure_is_permanent(error)):
                retry_error = error
            else:
                # Its notices are the recipient's delivery log: failed with the digest's reason.
                Notice.objects.filter(pk__in=[n.pk for n in live]).update(
                    status=NoticeStatus.FAILED, last_error=digest.last_error
                )
                return "failed"
        else:
            now = timezone.now()
            Notice.objects.filter(pk__in=[n.pk for n in live]).update(
                status=NoticeStatus.SENT, sent_at=now, attempts=1
            )
            digest.status, digest.sent_at = NoticeStatus.SENT, now
            digest.save(update_fields=["attempts", "status", "sent_at", "last_error"])
            return "sent"
    raise TemporaryFailure(str(retry_error)) from retry_error
