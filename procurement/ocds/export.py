"""Streaming exports of every published process's releases, in flat memory: processes are
read in keyset chunks (each chunk a fixed number of queries, procurement.ocds.bulk), their
releases built and encoded, and handed on as UTF-8 bytes in pieces of many releases. With
`workers` above 1 the chunks (each a range of ids fixed when planned) are built by that many
worker processes at once (the chunks are independent) and written in order; a worker that
dies fails the export (ExportFailed). Used by `manage.py export_ocds` and the daily bulk
files of /datos/ (procurement.open_data).

An export reads one snapshot of the database (core.snapshots): a process published, a
release added, an award made or an amendment recorded while it runs is in none of its chunks,
and every process's rows are read as they were when it began. On PostgreSQL that is one
REPEATABLE READ, READ ONLY transaction; with workers, the parent plans the chunks in it and
each worker reads each chunk in a transaction of its own importing its snapshot, while the
parent's stays open. The price is a transaction open for the whole export, which holds back
VACUUM while it runs. On SQLite one process reads one snapshot (a read transaction); workers
cannot share it (Python's sqlite3 cannot import a snapshot), so there the chunks are planned
in one snapshot and each chunk is read in its own: use one process for one snapshot. Called
inside a transaction the caller began (an atomic block), an export by one process reads in
that transaction as it is (its isolation was fixed when it began)."""

import ctypes
import gc
import multiprocessing
import multiprocessing.util
import os
import signal
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime, time

import orjson
from django.conf import settings
from django.db import connections
from django.db.models.sql.constants import SINGLE
from django.utils import timezone

from core.snapshots import ExportedSnapshot, read_snapshot

from ..models import ProcurementProcess
from .bulk import Loader
from .packages import package_metadata
from .releases import process_releases

CHUNK = 500
PIECE = 8 * 1024  # bytes of output gathered into one piece (one write)


class ExportFailed(Exception):
    """The export stopped before its end (what it wrote so far is not the whole export)."""


def max_workers() -> int:
    """The most worker processes an export may use: twice the CPUs this process may run on
    (each worker also holds a database connection)."""
    return 2 * (os.process_cpu_count() or 1)


def dumps(release: dict) -> bytes:
    """A release as compact UTF-8 JSON: the bytes of json.dumps(release, ensure_ascii=False,
    separators=(",", ":")) encoded as UTF-8, which the API writes (orjson writes the same at a
    tenth of the cost: tests/procurement/test_export_ocds.py compares both)."""
    return orjson.dumps(release)


def _threshold(since: date | None) -> datetime | None:
    return timezone.make_aware(datetime.combine(since, time.min)) if since is not None else None


def _encoded_chunk(
    loader: Loader,
    *,
    after: int,
    until: int | None,
    chunk: int | None,
    year: int | None,
    since: date | None,
    separator: bytes,
) -> tuple[int | None, list[bytes]]:
    """The releases of one chunk of published processes (those with an id in (after, until],
    or the first `chunk` above `after`), only those dated on or after `since` (Lima), each
    encoded and followed by `separator`, gathered into pieces of about PIECE bytes; and the
    chunk's last process id (None for no process). Each release's encoding is joined into a
    piece at once (orjson's output holds a buffer several times its length), and each
    process's rows are freed once its releases are encoded.

    The rows hold no reference cycles (bulk.py), so reference counting frees them. The
    automatic collections would still walk every live object again and again as the rows are
    allocated: while the chunk is built they are paused and the heap that existed before is
    frozen, and what the chunk's queries may leave in cycles is collected at its end. Both
    are undone before this returns, whatever happens: the collector is never left paused
    while the caller holds the export unfinished. A heap the caller had frozen itself (a
    server that freezes what it preloaded) stays frozen."""
    threshold = _threshold(since)
    enabled = gc.isenabled()
    frozen = gc.get_freeze_count() > 0
    gc.disable()
    gc.freeze()
    try:
        processes = loader.processes(after=after, until=until, year=year, chunk=chunk)
        if not processes:
            return None, []
        last = processes[-1].pk
        pieces = []
        encoded = []
        size = 0
        for index, process in enumerate(processes):
            processes[index] = None
            for release in process_releases(process):
                if threshold is None or datetime.fromisoformat(release["date"]) >= threshold:
                    data = dumps(release)
                    encoded.append(data)
                    size += len(data)
                    if size >= PIECE:
                        pieces.append(separator.join(encoded) + separator)
                        encoded.clear()
                        size = 0
        if encoded:
            pieces.append(separator.join(encoded) + separator)
        del process, processes, encoded
        gc.collect()
        return last, pieces
    finally:
        if not frozen:
            gc.unfreeze()
        if enabled:
            gc.enable()


def _pieces(
    separator: bytes,
    *,
    since: date | None = None,
    year: int | None = None,
    chunk: int = CHUNK,
) -> Iterator[bytes]:
    """Every release of every published process (by process, oldest release first), only
    those dated on or after `since` (Lima) when given, only the processes of one fiscal year
    when `year` is given (the yearly bulk files of /datos/): encoded, each followed by
    `separator`, in pieces of about PIECE bytes (a write per release cost more than encoding
    it). Every chunk reads the same snapshot (read_snapshot: its transaction stays open until
    the last piece is taken, or the export is closed)."""
    loader = Loader()
    after = 0
    with read_snapshot(ProcurementProcess.objects.db):
        while True:
            after, pieces = _encoded_chunk(
                loader,
                after=after,
                until=None,
                chunk=chunk,
                year=year,
                since=since,
                separator=separator,
            )
            if after is None:
                return
            yield from pieces
            del pieces  # not held while the next chunk is built


# --- Worker processes ----------------------------------------------------------------------


def _chunk_bounds(connection, *, year: int | None, chunk: int) -> Iterator[tuple[int, int | None]]:
    """Each chunk's range of ids (after, until]: `chunk` published processes (one index query
    per chunk, on `connection`: that of the export's snapshot), the last range open-ended.
    The ranges are read later, by the workers, in the same snapshot: every process published
    when the export began is in exactly one range, and nothing published since is read."""
    queryset = ProcurementProcess.objects.published().order_by("id")
    if year is not None:
        queryset = queryset.filter(fiscal_year_id=year)
    after = 0
    while True:
        query = queryset.filter(id__gt=after).values_list("id")[chunk - 1 : chunk].query
        row = query.get_compiler(connection=connection).execute_sql(SINGLE)
        until = row[0] if row else None
        yield after, until
        if until is None:
            return
        after = until


_worker_loader = None  # each worker's Loader (its reference rows kept across its chunks)
_worker_snapshot = None  # the id of the export's snapshot (None on SQLite)
_inherited = []  # the connections a worker was forked with: its parent's, never used here
_parent_pid = None  # the exporting process (set before its workers are forked)
PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_parent() -> None:
    """On Linux, the kernel kills this worker when the export's process dies (kill, OOM): an
    orphaned worker would otherwise wait for work for ever, holding open the copies of its
    parent's sockets it was forked with, and with them the parent's snapshot transaction
    (which holds back VACUUM in the whole database). Elsewhere nothing is done."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (AttributeError, OSError):  # no prctl: not Linux
        return
    if os.getppid() != _parent_pid:  # the parent died before the call above
        os._exit(1)


def _start_worker(snapshot: str | None) -> None:
    """A forked worker opens its own database connections. Those it was forked with are the
    parent's, still in use there (perhaps inside a transaction): they are set aside, never
    used or closed here (closing one would end the parent's session), and fresh ones take
    their place, closed when the worker ends. Its chunks read the export's `snapshot`."""
    global _worker_loader, _worker_snapshot
    _die_with_parent()
    _worker_snapshot = snapshot
    for alias in connections:
        _inherited.append(connections[alias])
        connections[alias] = connections.create_connection(alias)
    multiprocessing.util.Finalize(None, connections.close_all, exitpriority=10)
    _worker_loader = Loader()


def _worker_chunk(
    after: int, until: int | None, year: int | None, since: date | None, separator: bytes
) -> bytes:
    """In a worker: the encoded releases of the processes with an id in (after, until],
    each followed by `separator`, read in a transaction that imports the export's snapshot."""
    with read_snapshot(ProcurementProcess.objects.db, imported=_worker_snapshot):
        _last, pieces = _encoded_chunk(
            _worker_loader,
            after=after,
            until=until,
            chunk=None,
            year=year,
            since=since,
            separator=separator,
        )
    return b"".join(pieces)


def _parallel_pieces(
    workers: int,
    separator: bytes,
    *,
    since: date | None = None,
    year: int | None = None,
    chunk: int = CHUNK,
) -> Iterator[bytes]:
    """The encoded releases as _pieces() gives them, built by `workers` forked processes, at
    most two chunks each ahead of the writing (so memory stays flat), written in order. A
    worker that dies (kill -9, the OOM killer) fails the export with ExportFailed.

    The chunks are planned in the export's snapshot, on a connection of its own (the
    caller's is left alone), kept open until every worker has finished: the workers import
    that snapshot for each chunk they read."""
    global _parent_pid
    _parent_pid = os.getpid()
    snapshot = ExportedSnapshot(ProcurementProcess.objects.db)
    try:
        executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(snapshot.id,),
        )
        try:
            pending = deque()
            for after, until in _chunk_bounds(snapshot.connection, year=year, chunk=chunk):
                pending.append(executor.submit(_worker_chunk, after, until, year, since, separator))
                if len(pending) >= 2 * workers and (piece := pending.popleft().result()):
                    yield piece
            while pending:
                if piece := pending.popleft().result():
                    yield piece
        except BrokenProcessPool:
            raise ExportFailed(
                "A worker process ended abruptly (killed, or out of memory?): the export stopped."
            ) from None
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
    finally:
        snapshot.close()


def _encoded(separator: bytes, workers: int = 1, **options) -> Iterator[bytes]:
    if workers > 1:
        return _parallel_pieces(workers, separator, **options)
    return _pieces(separator, **options)


def jsonl(*, workers: int = 1, **options) -> Iterator[bytes]:
    """JSON lines, one release per line, as UTF-8 bytes in pieces of many lines."""
    return _encoded(b"\n", workers, **options)


def release_package(*, workers: int = 1, **options) -> Iterator[bytes]:
    """One release package, written piece by piece: the metadata, then the releases."""
    metadata = package_metadata(f"{settings.SITE_URL}/datos/")
    head = dumps({**metadata, "releases": []})
    yield head[: -len(b"[]}")] + b"["
    separator = b""
    for piece in _encoded(b",\n", workers, **options):
        yield separator + piece[: -len(b",\n")]  # no comma after the last release
        separator = b",\n"
    yield b"]}\n"
