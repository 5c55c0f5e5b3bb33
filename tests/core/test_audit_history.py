"""History written in bulk (the demo seed) is chained exactly as the services chain entries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from core import audit
from core.models import AuditEntry
from tests.factories import EntityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _rows(n, start):
    return [
        (start + timedelta(minutes=i), "thing.done", "x.thing", str(i), {"v": Decimal("1.50")})
        for i in range(n)
    ]


def test_bulk_history_continues_the_chain_and_verifies():
    with transaction.atomic():
        first = audit.record(UserFactory(), "entity.updated", EntityFactory(), {"a": 1})
        written = audit.append_history(_rows(5, timezone.now()), actor_label="import", batch=2)
        last = audit.record(None, "entity.updated", ("x.thing", 9), {})
    assert written == 5
    entries = list(AuditEntry.objects.order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(first.sequence, last.sequence + 1))
    assert entries[1].previous_hash == first.entry_hash and entries[1].actor_label == "import"
    assert entries[1].data == {"v": "1.50"} and entries[1].actor_id is None
    assert audit.verify_chain().ok


def test_bulk_history_refuses_to_run_outside_a_transaction(transactional_db):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.append_history(_rows(1, timezone.now()), actor_label="import")
    assert not AuditEntry.objects.exists()


def test_bulk_history_hashes_every_json_type_as_record_does():
    # append_history serialises each row's data once and builds the canonical text around it;
    # the stored entry must hash the same when recomputed from what the database returns.
    at = timezone.now()
    data = {
        "ñandú": 'Año «fiscal» \\ "citado"\n',
        "amount": Decimal("1234.50"),
        "when": at,
        "day": at.date(),
        "nested": {"z": [1, 2.5, None, True], "a": {"b": ("x", "y")}},
        "empty": {},
    }
    with transaction.atomic():
        audit.append_history([(at, "thing.done", "x.thing", "7", data)], actor_label="importación")
    entry = AuditEntry.objects.get()
    assert entry.entry_hash == audit.compute_hash(entry)
    assert entry.data["amount"] == "1234.50" and entry.data["nested"]["a"]["b"] == ["x", "y"]
    assert audit.verify_chain().ok


def test_bulk_history_stores_every_text_as_given():
    # On PostgreSQL the entries go as COPY text: backslashes, tabs and line breaks in any
    # column must come back exactly as given, and the instant too.
    at = timezone.now()
    with transaction.atomic():
        audit.append_history(
            [(at, "thing.done", "x.thing", "a\\b\tc\nd\re", {"k": "x\ty\\z"})],
            actor_label="lote\\1\t2",
        )
    entry = AuditEntry.objects.get()
    assert (entry.object_id, entry.actor_label, entry.data, entry.created_at) == (
        "a\\b\tc\nd\re",
        "lote\\1\t2",
        {"k": "x\ty\\z"},
        at,
    )
    assert entry.entry_hash == audit.compute_hash(entry)
    assert audit.verify_chain().ok
