"""Bulk writers for demo rows: plain tuples in a model's field order, written with COPY on
PostgreSQL and batched INSERTs elsewhere, ids allocated ahead so related rows can point at
them. No model instances, no signals, no auto_now."""

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from django.db import connection
from psycopg._copy_base import format_row_text
from psycopg.adapt import AdaptersMap, Dumper, Transformer

from ..models import ProcurementProcess


def _columns(model, fields: list[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in fields]


@dataclass(frozen=True)
class CopyText:
    """Rows already in COPY's text format (copy_text), for CopyWriter.write to send as is."""

    data: bytes
    count: int

    def __len__(self) -> int:
        return self.count


class _HexBytes(Dumper):
    """bytea in hex (`\\x...`). psycopg's default text dumper, without a connection,
    escapes bytes for a string literal with standard_conforming_strings off (doubled
    backslashes), which COPY would store as different bytes."""

    oid = psycopg.postgres.types["bytea"].oid

    def dump(self, obj) -> bytes:
        return b"\\x" + bytes(obj).hex().encode("ascii")


_ADAPTERS = AdaptersMap(psycopg.adapters)
for _type in (bytes, bytearray, memoryview):
    _ADAPTERS.register_dumper(_type, _HexBytes)


def copy_text(rows: list[tuple]) -> CopyText:
    """The COPY text of `rows`, made without a connection (psycopg's own row formatter and
    default adapters, bytea in hex): the seed's worker processes prepare what the seed's
    connection then sends in one piece, instead of adapting row by row there."""
    transformer, buffer = Transformer(_ADAPTERS), bytearray()
    for row in rows:
        format_row_text(row, transformer, buffer)
    return CopyText(bytes(buffer), len(rows))


class CopyWriter:
    """PostgreSQL: ids from the table's sequence, rows through COPY (psycopg 3)."""

    def __init__(self):
        table = ProcurementProcess._meta.db_table
        with connection.cursor() as cursor:
            self.raw = cursor.connection  # the psycopg 3 connection, in Django's transaction
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            self.sequence = cursor.fetchone()[0]

    def allocate(self, count: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self.sequence, count]
            )
            return [row[0] for row in cursor.fetchall()]

    def write(self, model, fields: list[str], rows: list[tuple], *, table: str = "") -> None:
        """COPY `rows` into the model's table (or into `table`, one with its columns)."""
        send_copy(self.raw, copy_sql(table or model._meta.db_table, _columns(model, fields)), rows)


class InsertWriter:
    """Other databases (the embedded SQLite): ids after the current maximum, batched INSERTs
    with each value prepared by its model field (no model instances, no auto_now)."""

    def __init__(self):
        last = ProcurementProcess.objects.order_by("-pk").values_list("pk", flat=True).first()
        self.next = (last or 0) + 1

    def allocate(self, count: int) -> list[int]:
        ids = list(range(self.next, self.next + count))
        self.next += count
        return ids

    def write(self, model, fields: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        model_fields = [model._meta.get_field(name) for name in fields]
        columns = ", ".join(quote(c) for c in _columns(model, fields))
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608 - names from model metadata
        prepared = [
            [f.get_db_prep_save(v, connection) for f, v in zip(model_fields, row, strict=True)]
            for row in rows
        ]
        with connection.cursor() as cursor:
            for start in range(0, len(prepared), 1000):
                cursor.executemany(sql, prepared[start : start + 1000])


def writer_for_connection():
    return CopyWriter() if connection.vendor == "postgresql" else InsertWriter()


class Background:
    """Sends the seed's writes on its own connection, in its transaction, from a thread, while
    the calling thread builds the next rows: the database ingests one batch (COPY, INSERT ...
    SELECT) while Python makes the next, instead of each waiting for the other.

    `submit(send)` queues `send(raw)`, called in the thread with the psycopg connection of
    Django's `connection` (the seed's transaction; psycopg serialises its use with a lock, so
    a query of the calling thread meanwhile waits for the write under way, never interleaves
    with it). At most `depth` writes wait (bounded memory). A write that fails stops the
    others and is raised in the calling thread (at its next submit, at `wait`, or when the
    block ends); when the block ends by an error, the queued writes are dropped and the one
    under way is cancelled on the server and the thread joined before the error goes on (the
    transaction then rolls back with nothing of this thread still using it); a write that
    failed is raised then in place of the calling thread's error, chained to it (that error
    is often only "current transaction is aborted"). The calling thread must open no
    savepoint (transaction.atomic) inside the block: a rollback to it would drop writes of
    this thread silently. `enabled=False` (SQLite) calls each write at once."""

    def __init__(self, *, enabled: bool = True, depth: int = 2):
        self.enabled = enabled
        self.raw = None
        if enabled:
            with connection.cursor() as cursor:
                self.raw = cursor.connection
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self):
        if self.enabled:
            self.thread = threading.Thread(target=self._run, name="seed-writer", daemon=True)
            self.thread.start()
        return self

    def _run(self) -> None:
        while True:
            send = self.queue.get()
            try:
                if send is None:
                    return
                if self.error is None:
                    send(self.raw)
            except BaseException as error:  # noqa: BLE001 - raised in the calling thread
                self.error = error
            finally:
                self.queue.task_done()

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def submit(self, send: Callable) -> None:
        if not self.enabled:
            send(self.raw)
            return
        self._raise()
        self.queue.put(send)

    def wait(self) -> None:
        """Until every queued write is done (raising the first failure)."""
        if self.enabled:
            self.queue.join()
            self._raise()

    def __exit__(self, exc_type, exc, tb):
        if self.thread is None:
            return False
        writer_error = self.error
        if exc_type is not None:  # drop what waits; the write under way is cancelled
            self.error = self.error or exc
            while True:
                try:
                    self.queue.get_nowait()
                    self.queue.task_done()
                except queue.Empty:
                    break
            if self.raw is not None and self.thread.is_alive():
                # Ctrl-C (or any error) reaches this thread only: the server is asked to
                # stop the write under way, which would otherwise run to its end.
                self.raw.cancel_safe()
        self.queue.put(None)
        self.thread.join()
        self.thread = None
        if exc_type is None:
            self._raise()
        elif writer_error is not None and writer_error is not exc:
            # The calling thread's error may only be the consequence (PostgreSQL: "current
            # transaction is aborted" on its next read): the write's failure is the cause.
            raise writer_error from exc
        return False


def copy_sql(table: str, columns: list[str]) -> str:
    quote = connection.ops.quote_name
    return f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"


def send_copy(raw, sql: str, rows) -> None:
    """COPY `rows` (tuples, or CopyText) with `sql` on the psycopg connection `raw`."""
    if not rows:
        return
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        if isinstance(rows, CopyText):
            copy.write(rows.data)
            return
        for row in rows:
            copy.write_row(row)
