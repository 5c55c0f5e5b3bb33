"""Dispatching the outbox: pending events are claimed in small batches and handed to the
handler registered for their kind. Apps register their handlers in AppConfig.ready()
(`dispatch.register(kind, handler)`), so notifications never imports the apps it serves.

What this guarantees: an event is recorded in the transaction of its change, so a change
that committed is never without its event, whatever the broker does; it is dispatched at
least once (a worker that dies before its batch commits leaves the batch pending, and the
next dispatch sends it again, under the same Message-ID, so a duplicate is recognisable);
and it is marked dispatched only when its handler returned. Several workers share the work:
a claimed row is locked, and the others skip it (SKIP LOCKED)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .email import failure_is_permanent
from .models import Event

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]

BATCH_SIZE = 10
# After this many failed attempts an event stays pending, skipped, for an admin to look at
# (its last error is on the event).
MAX_ATTEMPTS = 10
# The start of last_error when a failure would not pass by retrying
# (notifications.email.failure_is_permanent): such an event gets no more attempts at once.
PERMANENT = "[permanent]"
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=6)

_handlers: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    """Make `handler(event)` the one handler of events of `kind`. A handler sends what the
        event calls for, reading current data at send time (a link with a secret token is made
        then, never stored in the event); returning means done, raising means retry later (unless
    the failure cannot pass: notifications.email.failure_is_permanent)."""
    registered = _handlers.get(kind)
    if registered is not None and registered is not handler:
        raise ValueError(f"{kind} already has a handler: {registered!r}")
    _handlers[kind] = handler


def handled_kinds() -> list[str]:
    return sorted(_handlers)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes after the 1st, 2nd, 3rd failure, at most six hours."""
    return min(FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


@dataclass
class DispatchResult:
    dispatched: int = 0
    failed: int = 0


def pending_events():
    """Events a dispatch would take now: not dispatched, with a handler, due for an attempt.
    Events of kinds nobody handles yet are left exactly as they are."""
    return Event.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()),
        dispatched_at__isnull=True,
        kind__in=handled_kinds(),
        attempts__lt=MAX_ATTEMPTS,
    )


def dispatch_pending(*, batch_size: int = BATCH_SIZE) -> DispatchResult:
    """Dispatch every pending event that is due, batch after batch, each batch in its own
    transaction holding its rows locked until their outcome is recorded."""
    result = DispatchResult()
    failed: set[int] = set()  # tried in this run: retried by a later run, not this one
    while True:
        with transaction.atomic():
            batch = list(
                pending_events()
                .exclude(pk__in=failed)
                .select_for_update(skip_locked=True)
                .order_by("created_at", "id")[:batch_size]
            )
            if not batch:
                return result
            for event in batch:
                if _dispatch(event):
                    result.dispatched += 1
                else:
                    result.failed += 1
                    failed.add(event.pk)


def _dispatch(event: Event) -> bool:
    handler = _handlers[event.kind]
    event.attempts += 1
    try:
        with transaction.atomic():  # a savepoint: a failing handler's writes go alone
            handler(event)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded (and retried if it may pass)
        error = f"{exc.__class__.__name__}: {exc}"
        if failure_is_permanent(exc):
            # It would fail the same way every time (a message that cannot be built, an
            # address refused for good): no more attempts, left for an admin to look at.
            logger.error("event %s (%s) failed for good: %r", event.pk, event.kind, exc)
            event.attempts = max(event.attempts, MAX_ATTEMPTS)
            event.last_error = f"{PERMANENT} {error}"[:2000]
            event.next_attempt_at = None
        else:
            logger.warning("event %s (%s) failed: %r", event.pk, event.kind, exc)
            event.last_error = error[:2000]
            event.next_attempt_at = timezone.now() + retry_delay(event.attempts)
        event.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        return False
    event.dispatched_at = timezone.now()
    event.save(update_fields=["attempts", "dispatched_at"])
    return True
