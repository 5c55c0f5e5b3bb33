"""The seed's bulk load (procurement.demo.bulk_load) puts the schema back as it was: every
index, unique key and foreign key it dropped while writing is there after the seed, with the
same name and definition, and valid (some are built right after their rows, some only at the
very end)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from core import clock

pytestmark = pytest.mark.django_db(transaction=False)


def _schema() -> tuple[list, list]:
    with connection.cursor() as cursor:
        cursor.execute(
            # Not pg_get_indexdef: a partial index made again from it prints its predicate's
            # casts another way (the same condition), as it did before this module changed.
            "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, c.relam, "
            "i.indkey::text, i.indclass::text, i.indisunique, i.indpred IS NOT NULL, "
            "i.indexprs IS NOT NULL, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() ORDER BY 1, 2"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), "
            "c.convalidated, c.condeferrable, c.condeferred FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = current_schema() ORDER BY 1, 2"
        )
        return indexes, cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk load is PostgreSQL's")
def test_every_index_and_constraint_dropped_for_the_load_is_back_after_the_seed(settings, tmp_path):
    settings.ANCHOR_DIR = tmp_path / "anchors"
    before_indexes, before_constraints = _schema()
    names = {index[1] for index in before_indexes}
    # Built only at the very end (nothing in the seed reads by them), and by the audit trail.
    assert {"process_search_vector_gin", "process_date_keyset", "core_audit_created"} <= names
    with transaction.atomic():
        day = (clock.today() - timedelta(days=3)).isoformat()
        call_command(
            "seed_demo", "--processes", "20", "--seed", "2", "--today", day, stdout=StringIO()
        )
        after_indexes, after_constraints = _schema()
        transaction.set_rollback(True)
    assert after_indexes == before_indexes
    assert after_constraints == before_constraints
