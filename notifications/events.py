"""Recording events (the outbox). Call inside the transaction of the change, so an event
exists if and only if the change committed. Each event says who may learn of it (its
audience); a public event never names who registered, asked or bid."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from .models import DEFAULT_AUDIENCE, Audience, Event

# Payload keys that name a supplier taking part: never in a public event.
PRIVATE_KEYS = frozenset({"supplier", "suppliers", "participant", "participants", "bidder", "bid"})


def _process_of(target: models.Model):
    # By model label: notifications sits below procurement and never imports it.
    if target._meta.label_lower == "procurement.procurementprocess":
        return target
    return getattr(target, "process", None)


def record(
    kind: str,
    target: models.Model,
    *,
    entity=None,
    process=None,
    audience: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append an event about `target` for `audience` (by default the kind's own, public for
    most). The process is the target's when not given; `entity` is an entity or its id."""
    if not connection.in_atomic_block:
        raise RuntimeError("events.record must run inside the transaction of the change")
    audience = audience or DEFAULT_AUDIENCE.get(kind, Audience.PUBLIC)
    payload = payload or {}
    if audience == Audience.PUBLIC and PRIVATE_KEYS & payload.keys():
        raise ValueError(
            f"a public {kind} event must not name its participants: "
            f"{sorted(PRIVATE_KEYS & payload.keys())}"
        )
    return Event.objects.create(
        kind=kind,
        entity_id=entity.pk if isinstance(entity, models.Model) else entity,
        process=process or _process_of(target),
        audience=audience,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
    )


def record_message(kind: str, target: models.Model, *, payload: dict[str, Any] | None = None):
    """Record an event whose handler sends a message at once (an account e-mail), and ask for
    a dispatch when the transaction commits. If the broker is down the event waits, pending,
    for the next periodic dispatch: the message is late, never lost."""
    event = record(kind, target, payload=payload)
    transaction.on_commit(request_dispatch, robust=True)
    return event


def request_dispatch() -> None:
    from .tasks import dispatch_events

    dispatch_events.delay()
