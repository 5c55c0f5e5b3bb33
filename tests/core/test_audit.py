import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from core import audit
from core.models import AuditEntry
from tests.factories import EntityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _write_entries(count=4):
    user = UserFactory()
    entity = EntityFactory()
    return [
        audit.record(user, "entity.updated", entity, {"step": n, "name": "Ñandú & cía"})
        for n in range(count)
    ]


def test_entries_chain_and_verify():
    entries = _write_entries()
    assert entries[0].previous_hash == audit.GENESIS_HASH
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert entry.previous_hash == previous.entry_hash
        assert entry.sequence == previous.sequence + 1
    report = audit.verify_chain()
    assert report.ok and report.checked == len(entries)
    call_command("verify_audit")


def test_tampering_by_raw_sql_is_detected_and_named():
    entries = _write_entries()
    target = entries[2]
    with connection.cursor() as cursor:
        # A superuser can switch triggers off; the hash chain still tells.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE core_auditentry SET data = %s WHERE id = %s", ['{"step": 99}', target.pk]
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
    with pytest.raises(CommandError) as error:
        call_command("verify_audit")
    assert f"entry #{target.sequence} (id {target.pk})" in str(error.value)
    assert "does not match its hash" in str(error.value)


def test_a_deleted_entry_is_detected():
    entries = _write_entries()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entries[1].pk])
        cursor.execute("SET LOCAL session_replication_role = origin")
    report = audit.verify_chain()
    assert not report.ok
    assert report.broken_sequence == entries[2].sequence


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM core_auditentry WHERE id = %s",
    ],
)
def test_the_database_refuses_update_and_delete(statement):
    entry = _write_entries(1)[0]
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "entity.updated"
