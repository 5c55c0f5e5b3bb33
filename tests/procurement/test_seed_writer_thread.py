"""The seed's writer thread (procurement.demo.bulk_writers.Background): writes sent on the
seed's connection, in its transaction, while the calling thread goes on; a failed write
raised in the calling thread, and nothing of the thread left using the connection once the
block ends."""

import threading
import time

import psycopg
import pytest
from django.db import connection, transaction

from procurement.demo.bulk_writers import Background, copy_sql, send_copy

pytestmark = [
    pytest.mark.django_db(transaction=False),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY: PostgreSQL only"),
]


def _scratch() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE writer_scratch (n integer, word text)")


def _rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, word FROM writer_scratch ORDER BY n")
        return cursor.fetchall()


def test_writes_are_sent_from_another_thread_in_order_within_the_transaction():
    _scratch()
    sql = copy_sql("writer_scratch", ["n", "word"])
    threads = []

    def write(rows):
        def send(raw):
            threads.append(threading.current_thread().name)
            send_copy(raw, sql, rows)

        return send

    with Background() as background:
        for start in range(0, 60, 10):
            background.submit(write([(n, f"w{n}\ttab") for n in range(start, start + 10)]))
        background.wait()
        assert len(_rows()) == 60  # this thread's query sees them: the same transaction
    assert _rows() == [(n, f"w{n}\ttab") for n in range(60)]
    assert set(threads) == {"seed-writer"}


def test_a_failed_write_is_raised_in_the_calling_thread_and_stops_the_next_ones():
    sent = []
    missing = copy_sql("no_such_table", ["n"])
    with (
        pytest.raises(psycopg.errors.UndefinedTable),
        transaction.atomic(),
        Background() as background,
    ):
        background.submit(lambda raw: send_copy(raw, missing, [(1,)]))
        background.submit(lambda raw: sent.append("after"))
    assert sent == []  # the write after the failure was never sent


def test_an_error_in_the_calling_thread_drops_the_queued_writes():
    _scratch()
    sql = copy_sql("writer_scratch", ["n", "word"])
    started, release = threading.Event(), threading.Event()
    sent = []

    def slow(raw):
        started.set()
        release.wait(5)
        sent.append("slow")

    with pytest.raises(RuntimeError, match="boom"), Background(depth=4) as background:
        background.submit(slow)
        started.wait(5)
        background.submit(lambda raw: send_copy(raw, sql, [(1, "dropped")]))
        threading.Timer(0.3, release.set).start()  # after the block has dropped the queue
        raise RuntimeError("boom")
    assert sent == ["slow"]  # the write under way ended before the error went on
    assert _rows() == []  # the one queued behind it was dropped


def test_a_failed_write_is_the_error_raised_when_the_calling_thread_fails_after_it():
    """The write fails first; the calling thread's next read then fails only because the
    transaction is aborted: the error raised is the write's, chained to that one."""
    missing = copy_sql("no_such_table", ["n"])
    with (
        pytest.raises(psycopg.errors.UndefinedTable) as raised,
        transaction.atomic(),
        Background() as background,
    ):
        background.submit(lambda raw: send_copy(raw, missing, [(1,)]))
        background.queue.join()  # the write has failed
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # current transaction is aborted
    assert isinstance(raised.value.__cause__, Exception)
    assert "aborted" in str(raised.value.__cause__)


def test_an_interrupt_cancels_the_write_under_way():
    """Ctrl-C reaches the calling thread only: the write under way is cancelled on the
    server instead of running to its end."""
    started = threading.Event()

    def long_write(raw):
        started.set()
        with raw.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(20)")

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt), transaction.atomic(), Background() as background:
        background.submit(long_write)
        started.wait(5)
        time.sleep(0.3)  # the query is running
        raise KeyboardInterrupt
    assert time.monotonic() - began < 10
