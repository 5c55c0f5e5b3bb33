"""Loading an empty portal in bulk on PostgreSQL the way its manual advises ("Populating a
Database"): foreign keys dropped while the seed writes and added back at the end, and the
secondary indexes of the tables only written (never read) by the seed built once at the end.

Why: Django declares every foreign key DEFERRABLE INITIALLY DEFERRED, so each row written
queues a check that runs at commit, one index probe (and a row lock on the referenced row)
per row; with tens of millions of rows that commit alone takes minutes. Adding the
constraint back checks the whole table with one join instead, and fails (rolling the seed
back) if a single row points nowhere, so the guarantee is the same. An index built once is
several times cheaper than one updated row by row.

The constraints and indexes are put back exactly as they were (same names, from
pg_get_constraintdef and pg_get_indexdef), inside the seed's transaction: if the seed fails,
the rollback restores them too. While the seed runs, its transaction holds the tables
exclusively, which is fine for the empty portal `seed_demo` requires. Elsewhere (SQLite)
these are no-ops.
"""

from contextlib import contextmanager

from django.db import connection

from .phases import Phases


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def foreign_keys_checked_at_the_end(phases: Phases):
    """Drop the schema's deferrable foreign keys (Django's), yield, add them back (timed).
    Must enclose the whole load (it also sets the transaction's memory for sorts)."""
    if not _postgresql():
        yield
        return
    with connection.cursor() as cursor:
        # For this transaction only: sorts (the history merged by time) and index builds
        # (and the foreign keys' checks) in memory rather than in temporary files.
        cursor.execute("SET LOCAL work_mem = '32MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        # Checks already queued by this transaction (a test's own rows) run now: a table
        # with pending checks cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE c.contype = 'f' AND c.condeferrable AND c.condeferred "
            "AND n.nspname = current_schema() ORDER BY 1, 2"
        )
        constraints = cursor.fetchall()
        for table, name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    with phases.phase("foreign keys added back"), connection.cursor() as cursor:
        for table, name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        # Back to Django's default for the rest of the transaction: checked at commit.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# An index or unique constraint to build again: (its table, its constraint's name or "" for
# a plain index, its columns, the statement's definition).
_Index = tuple[str, str, tuple[str, ...], str]


@contextmanager
def indexes_built_at_the_end(
    phases: Phases,
    *models,
    phase: str = "indexes built",
    read_by: tuple[tuple[str, ...], ...] | None = None,
    later: list[_Index] | None = None,
):
    """Drop the secondary indexes and unique constraints of the models' tables (not the
    primary key), yield, build them again (a unique constraint added back checks the whole
    table at once). Only for tables nothing reads by an indexed column until the block ends.
    Unique keys that are random (hashes) matter most: inserted one by one into a large
    B-tree, each lands on a random page.

    With `read_by` (column lists), only the indexes on exactly those columns are built when
    the block ends (those the parts after it read by); the others are appended to `later`,
    for build_indexes once nothing writes the tables any more: a row updated meanwhile
    (stuck's stage due days on every open process) then writes no entry into each of them
    (the processes' GIN over the search vector: one per word)."""
    if not _postgresql():
        yield
        return
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, "
            "ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(n, o) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), "
            "pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype = 'u' "
            "ORDER BY 1, 2",
            [tables],
        )
        constraints = [(table, name, tuple(columns), sql) for table, name, columns, sql in cursor]
        cursor.execute(
            "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, "
            "ARRAY(SELECT coalesce(a.attname::text, '') FROM unnest(i.indkey) "
            "WITH ORDINALITY AS k(n, o) LEFT JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o), "
            "pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY 2",
            [tables],
        )
        indexes = [(table, name, tuple(columns), sql) for table, name, columns, sql in cursor]
        for _table, name, _columns, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        for table, name, _columns, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    built = [(table, name, columns, sql) for table, name, columns, sql in constraints] + [
        (table, "", columns, sql) for table, _name, columns, sql in indexes
    ]
    if read_by is not None:
        later.extend(index for index in built if index[2] not in read_by)
        built = [index for index in built if index[2] in read_by]
    yield
    with phases.phase(phase):
        build_indexes(built)


def build_indexes(indexes: list[_Index]) -> None:
    """Build indexes and add unique constraints dropped by indexes_built_at_the_end."""
    with connection.cursor() as cursor:
        for table, constraint, _columns, definition in indexes:
            if constraint:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {definition}')
            else:
                cursor.execute(definition)


def analyze(phases: Phases, *models) -> None:
    """Planner statistics for tables the seed has just filled (PostgreSQL; timed as its own
    phase). Autovacuum cannot see the seed's uncommitted rows, so without this the parts
    that read them back (bids, awards, the audit history, the red flags) are planned as if
    the tables were empty; ANALYZE inside the transaction samples its own rows."""
    if not _postgresql():
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with phases.phase("planner statistics"), connection.cursor() as cursor:
        # A sample of 3,000 rows (10 values per list) rather than 30,000: the seed's reads need
        # row counts and the spread of ids and codes, which it gives, at about a tenth of the
        # cost (most of it sorting each column's sample). Autovacuum analyses the tables again
        # after the commit, as usual: the portal's own statistics are unchanged.
        cursor.execute("SHOW default_statistics_target")
        target = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('default_statistics_target', '10', true)")
        cursor.execute(f"ANALYZE {tables}")
        cursor.execute("SELECT set_config('default_statistics_target', %s, true)", [target])
