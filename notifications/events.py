"""Recording events (the outbox). Call inside the transaction of the change, so an event
exists if and only if the change committed."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

from .models import Event


def record(
    kind: str, target: models.Model, *, entity=None, payload: dict[str, Any] | None = None
) -> Event:
    if not connection.in_atomic_block:
        raise RuntimeError("events.record must run inside the transaction of the change")
    return Event.objects.create(
        kind=kind,
        entity=entity,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        payload=json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder)),
    )
