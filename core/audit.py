"""The audit trail: append-only entries chained by SHA-256.

Each entry hashes its canonical content together with the previous entry's hash, so changing,
removing or reordering any stored entry breaks every hash after it. Entries are written inside
the transaction of the change they record (commit both or neither); on PostgreSQL a trigger
refuses UPDATE and DELETE on the table and an advisory lock serialises writers so the chain
never forks.
"""

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
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
    return _hash(
        entry.sequence,
        entry.created_at,
        entry.actor_id,
        entry.actor_label,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.data,
        entry.previous_hash,
    )


def _hash(
    sequence, created_at, actor_id, actor_label, action, object_type, object_id, data, previous
) -> str:
    content = {
        "sequence": sequence,
        "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
        "previous_hash": previous,
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
    last_sequence, last_hash = _lock_and_read_head()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    entry = AuditEntry(
        sequence=last_sequence + 1,
        created_at=timezone.now(),
        actor=actor if is_user else None,
        actor_label=actor.email if is_user else str(actor or "system"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=_normalise(data or {}),
        previous_hash=last_hash,
    )
    entry.entry_hash = compute_hash(entry)
    entry.save(force_insert=True)
    return entry


def _lock_and_read_head() -> tuple[int, str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
    last = AuditEntry.objects.order_by("-sequence").values("sequence", "entry_hash").first()
    return (last["sequence"], last["entry_hash"]) if last else (0, GENESIS_HASH)


HistoryRow = tuple[datetime, str, str, str, dict[str, Any]]
_COLUMNS = [
    "sequence",
    "created_at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "data",
    "previous_hash",
    "entry_hash",
]


def append_history(
    rows: Iterable[HistoryRow], *, actor_label: str, batch: int = 20_000, send=None
) -> int:
    """Append entries for history written in bulk rather than through the services (the demo
    seed): each row is (when, action, object type, object id, data), given in time order.
    They continue the chain from its head, hashed exactly as `record` hashes, with no actor
    user and `actor_label` naming the import; written with COPY on PostgreSQL. Must run in
    the transaction that writes that history. Returns the number of entries appended.
    `send(sql, data)`, when given (PostgreSQL), sends each batch's COPY instead (the demo
    seed's writer thread, procurement.demo.bulk_writers.Background, while the next batch is
    chained here).

    Fast for millions of rows: each row's data is serialised once (its keys must be strings,
    as in JSON) and that text is both stored and hashed, inside the canonical text `_hash`
    builds, which is assembled around it rather than serialised again."""
    encoded = (
        (
            created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            action,
            object_type,
            object_id,
            _encode_data(data),
        )
        for created_at, action, object_type, object_id, data in rows
    )
    return append_encoded_history(encoded, actor_label=actor_label, batch=batch, send=send)


EncodedHistoryRow = tuple[str, str, str, str, str]


def append_encoded_history(
    rows: Iterable[EncodedHistoryRow], *, actor_label: str, batch: int = 20_000, send=None
) -> int:
    """`append_history` for rows already written as text, as the database can write them (the
    demo seed builds them in SQL): (instant, action, object type, object id, data) with the
    instant in UTC as `_hash` writes it (ISO 8601, microseconds, "+00:00") and the data as
    `_encode_data` writes it (the canonical JSON: sorted keys, no spaces, non-ASCII as is,
    Decimals and dates as DjangoJSONEncoder writes them). Only the chaining is left here:
    the canonical text around the data, its hash and the entry's line of COPY."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.append_history must run inside the transaction of the change")
    sequence, previous = _lock_and_read_head()
    label, label_copied = _quote(actor_label), _copy_escaped(actor_label)
    head = f'"actor_id":null,"actor_label":{label},"created_at":"'
    written, pending = 0, []
    sha256, quote, escaped = hashlib.sha256, _quote, _copy_escaped
    for instant, action, object_type, object_id, data in rows:
        sequence += 1
        # json.dumps(content, sort_keys=True, ...) of `_hash`, keys in sorted order.
        canonical = (
            f'{{"action":{quote(action)},{head}{instant}","data":{data},'
            f'"object_id":{quote(object_id)},"object_type":{quote(object_type)},'
            f'"previous_hash":"{previous}","sequence":{sequence}}}'
        )
        entry_hash = sha256(canonical.encode()).hexdigest()
        # A line of COPY text: every value is already text, only escaped.
        pending.append(
            f"{sequence}\t{instant}\t{label_copied}\t{escaped(action)}\t{escaped(object_type)}"
            f"\t{escaped(object_id)}\t{escaped(data)}\t{previous}\t{entry_hash}\n"
        )
        previous = entry_hash
        if len(pending) >= batch:
            written += _write(pending, send)
    return written + _write(pending, send)


# The canonical serialisation of `_hash` for one value: sorted keys, no spaces, UTF-8 as is,
# Decimals and instants as DjangoJSONEncoder writes them (as `_normalise` leaves them).
_encode_data = DjangoJSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_quote = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept


def _copy_escaped(text: str) -> str:
    """`text` as a value of COPY's text format: backslash, tab, line feed and carriage return
    written as escapes (most values have none: checked first, as replacing is slower)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        text = text.replace("\r", "\\r")
    return text


def _copy_unescaped(text: str) -> str:
    """The value a COPY text field stands for (`_copy_escaped` undone)."""
    if "\\" not in text:
        return text
    escapes = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}
    return re.sub(r"\\[\\tnr]", lambda match: escapes[match.group()], text)


def _write(lines: list[str], send=None) -> int:
    """Write entries given as lines of COPY text (the columns of `_COLUMNS`); empties `lines`."""
    count = len(lines)
    if not lines:
        return 0
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        columns = ", ".join(quote(AuditEntry._meta.get_field(c).column) for c in _COLUMNS)
        sql = f"COPY {quote(AuditEntry._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor:
            raw = cursor.connection
        data = "".join(lines).encode("utf-8")
        if send is not None:
            send(sql, data)
        else:
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                copy.write(data)
    else:
        entries = []
        for line in lines:
            values = dict(zip(_COLUMNS, map(_copy_unescaped, line[:-1].split("\t")), strict=True))
            values["sequence"] = int(values["sequence"])
            values["created_at"] = datetime.fromisoformat(values["created_at"])
            values["data"] = json.loads(values["data"])
            entries.append(AuditEntry(**values))
        AuditEntry.objects.bulk_create(entries, batch_size=2000)
    lines.clear()
    return count


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
