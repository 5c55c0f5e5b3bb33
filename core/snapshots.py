"""One consistent view of the database for a long read (the OCDS export, the bulk files of
/datos/): every query of the read sees the data as it was at its first query, whatever other
connections commit meanwhile.

PostgreSQL: a REPEATABLE READ, READ ONLY transaction. Its snapshot can be exported
(`pg_export_snapshot()`) and imported by other connections (`SET TRANSACTION SNAPSHOT`) for
as long as the exporting transaction stays open, so that worker processes read exactly what
it reads.

SQLite (the embedded default): a deferred transaction, which reads one snapshot in WAL mode
and lets writers commit meanwhile (the IMMEDIATE transactions the settings configure for
writers would take the write lock for the whole read). SQLite cannot hand its snapshot to
another connection from Python (the sqlite3 module has no sqlite3_snapshot_open()): other
connections read their own.

What it costs: a transaction open for the whole read. On PostgreSQL it holds back VACUUM
(rows updated or deleted after it began are not reclaimed, anywhere in the database, until
it ends); on SQLite it holds back the WAL checkpoint (the log grows until it ends)."""

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction

# What pg_export_snapshot() returns (e.g. 00000003-0000001B-1): hex digits and dashes, so
# it can be written into SET TRANSACTION SNAPSHOT, which takes no query parameter.
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+(?:-[0-9A-Fa-f]+)+")


@contextmanager
def _deferred_begin(connection) -> Iterator[None]:
    """On SQLite, a BEGIN issued inside the block is DEFERRED (a read transaction: no lock
    until its first read, and only a read lock then), whatever transaction_mode the settings
    give the connection."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()  # transaction_mode is set when it connects
    configured = connection.transaction_mode
    connection.transaction_mode = "DEFERRED"
    try:
        yield
    finally:
        connection.transaction_mode = configured


def _read_one_snapshot(connection, imported: str | None = None) -> None:
    """The first statements of the transaction just begun on `connection`: on PostgreSQL,
    REPEATABLE READ and READ ONLY, reading the snapshot `imported` when given."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # A long read sits idle in its transaction while its output is written (a slow
        # reader of the stream, a worker's chunk awaited, a file hashed): a server's
        # idle_in_transaction_session_timeout must not end it. For this transaction only.
        cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        if imported is not None:
            if not _SNAPSHOT_ID.fullmatch(imported):
                raise ValueError(f"{imported!r} is not a snapshot identifier")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{imported}'")


@contextmanager
def read_snapshot(using: str = DEFAULT_DB_ALIAS, *, imported: str | None = None) -> Iterator[None]:
    """Every query on connections[using] inside the block reads one snapshot, in a read-only
    transaction of its own (on PostgreSQL, the snapshot `imported` when given: that of an
    ExportedSnapshot, still open).

    Inside a transaction the caller began (an atomic block), the block reads in that one as it
    is: a transaction's isolation is fixed when it begins. Such a caller decides what it reads
    (a test's transaction; a caller that wants one snapshot begins REPEATABLE READ itself)."""
    connection = connections[using]
    if connection.in_atomic_block:
        if imported is not None:
            raise RuntimeError("A snapshot can only be imported by a transaction of its own.")
        yield
        return
    with ExitStack() as stack:
        with _deferred_begin(connection):
            stack.enter_context(transaction.atomic(using=using))
        _read_one_snapshot(connection, imported)
        yield


class ExportedSnapshot:
    """A read snapshot other connections may read too: a connection of its own, open until
    close(), in a transaction as read_snapshot()'s. `id` is what read_snapshot(imported=...)
    takes on PostgreSQL (None on SQLite, where no other connection can read it).

    The connection is its own so that the caller's is left alone, in whatever transaction it
    is; what it reads is what is committed, as for any other connection."""

    def __init__(self, using: str = DEFAULT_DB_ALIAS):
        self.connection = connections.create_connection(using)
        self.id = None
        try:
            with _deferred_begin(self.connection):
                self.connection.set_autocommit(
                    False, force_begin_transaction_with_broken_autocommit=True
                )
            _read_one_snapshot(self.connection)
            if self.connection.vendor == "postgresql":
                with self.connection.cursor() as cursor:
                    # The transaction's first query: its snapshot is taken now.
                    cursor.execute("SELECT pg_export_snapshot()")
                    (self.id,) = cursor.fetchone()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """End the transaction (nothing to commit: it only read) and the connection."""
        self.connection.close()
