"""The audit trail: append-only entries chained by SHA-256.

Each entry hashes its canonical content together with the previous entry's hash, so changing,
removing or reordering any stored entry breaks every hash after it. Entries are written inside
the transaction of the change they record (commit both or neither); on PostgreSQL a trigger
refuses UPDATE and DELETE on the table and an advisory lock serialises writers so the chain
never forks.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditEntry

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the advisory lock that serialises audit writers.
_AUDIT_LOCK_KEY = 7_305_202_611


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON types only, so the stored value hashes the same after a round trip."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def compute_hash(entry: AuditEntry) -> str:
    content = {
        "sequence": entry.sequence,
        "created_at": entry.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "data": entry.data,
        "previous_hash": entry.previous_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    actor,
    action: str,
    target: models.Model | tuple[str, Any],
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry for `action` by `actor` on `target` (a model instance, or a
    (type, id) pair). Must run inside the transaction that makes the change."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the change")
    if isinstance(target, models.Model):
        object_type, object_id = target._meta.label_lower, str(target.pk)
    else:
        object_type, object_id = target[0], str(target[1])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
    last = AuditEntry.objects.order_by("-sequence").values("sequence", "entry_hash").first()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    entry = AuditEntry(
        sequence=(last["sequence"] + 1) if last else 1,
        created_at=timezone.now(),
        actor=actor if is_user else None,
        actor_label=actor.email if is_user else str(actor or "system"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=_normalise(data or {}),
        previous_hash=last["entry_hash"] if last else GENESIS_HASH,
    )
    entry.entry_hash = compute_hash(entry)
    entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_sequence: int | None = None
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_sequence is None


def verify_chain() -> ChainReport:
    """Walk the chain in order and report the first entry whose hash or link is wrong."""
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    with transaction.atomic():
        for entry in AuditEntry.objects.order_by("sequence").iterator(chunk_size=2000):
            if entry.sequence != expected_sequence:
                return ChainReport(
                    checked,
                    entry.sequence,
                    entry.pk,
                    f"expected sequence {expected_sequence}, found {entry.sequence} "
                    "(an entry is missing)",
                )
            if entry.previous_hash != previous_hash:
                return ChainReport(
                    checked, entry.sequence, entry.pk, "its link to the previous entry is broken"
                )
            if compute_hash(entry) != entry.entry_hash:
                return ChainReport(
                    checked, entry.sequence, entry.pk, "its content does not match its hash"
                )
            previous_hash = entry.entry_hash
            expected_sequence += 1
            checked += 1
    return ChainReport(checked)
