"""Streaming exports of every published process's releases, in flat memory: processes are
read in keyset chunks (each chunk a fixed number of queries, procurement.ocds.bulk), their
releases built and encoded, and handed on as UTF-8 bytes in pieces of many releases. With
`workers` above 1 the chunks are built by that many worker processes at once (the chunks are
independent) and written in order. Used by `manage.py export_ocds` and the daily bulk files
of /datos/ (procurement.open_data)."""

import gc
import multiprocessing
import multiprocessing.util
from collections import deque
from collections.abc import Iterator
from datetime import date, datetime, time

import orjson
from django.conf import settings
from django.db import connections
from django.utils import timezone

from ..models import ProcurementProcess
from .bulk import Loader
from .packages import package_metadata
from .releases import process_releases

CHUNK = 500
PIECE = 8 * 1024  # bytes of output gathered into one piece (one write)


def dumps(release: dict) -> bytes:
    """A release as compact UTF-8 JSON: the bytes of json.dumps(release, ensure_ascii=False,
    separators=(",", ":")) encoded as UTF-8, which the API writes (orjson writes the same at a
    tenth of the cost: tests/procurement/test_export_ocds.py compares both)."""
    return orjson.dumps(release)


def _threshold(since: date | None) -> datetime | None:
    return timezone.make_aware(datetime.combine(since, time.min)) if since is not None else None


def _chunk_releases(processes: list, threshold: datetime | None) -> Iterator[dict]:
    for process in processes:
        for release in process_releases(process):
            if threshold is None or datetime.fromisoformat(release["date"]) >= threshold:
                yield release


def releases(
    *, since: date | None = None, year: int | None = None, chunk: int = CHUNK
) -> Iterator[dict]:
    """Every release of every published process (by process, oldest release first), only
    those dated on or after `since` (Lima) when given, only the processes of one fiscal year
    when `year` is given (the yearly bulk files of /datos/)."""
    threshold = _threshold(since)
    # The rows hold no reference cycles (bulk.py), so reference counting frees each chunk.
    # The automatic collections would still walk every live object again and again as a
    # chunk's rows are allocated: they are paused, the heap that exists before the export
    # is frozen, and what a chunk's queries may leave in cycles is collected after it.
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        loader = Loader()
        last_id = 0
        while True:
            processes = loader.processes(after=last_id, year=year, chunk=chunk)
            if not processes:
                return
            yield from _chunk_releases(processes, threshold)
            last_id = processes[-1].pk
            del processes
            gc.collect()
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _pieces(releases: Iterator[dict], separator: bytes) -> Iterator[bytes]:
    """The encoded releases, each followed by `separator`, gathered into pieces of about
    PIECE bytes (a write per release cost more than encoding it)."""
    encoded = []
    size = 0
    for release in releases:
        data = dumps(release)
        encoded.append(data)
        size += len(data)
        if size >= PIECE:
            yield separator.join(encoded) + separator
            encoded.clear()
            size = 0
    if encoded:
        yield separator.join(encoded) + separator


# --- Worker processes ----------------------------------------------------------------------


def _chunk_starts(*, year: int | None, chunk: int) -> Iterator[int]:
    """The id after which each chunk of `chunk` published processes starts: 0, then the last
    id of each full chunk (one index query per chunk), as releases() walks them."""
    queryset = ProcurementProcess.objects.published().order_by("id")
    if year is not None:
        queryset = queryset.filter(fiscal_year_id=year)
    after = 0
    while after is not None:
        yield after
        after = (
            queryset.filter(id__gt=after).values_list("id", flat=True)[chunk - 1 : chunk].first()
        )


_worker_loader = None  # each worker's Loader (its reference rows kept across its chunks)


def _start_worker() -> None:
    """A forked worker: no connection of the parent's is open (closed before the fork); the
    heap it was forked with is frozen, automatic collection paused (see releases()); its own
    connection is closed when it ends."""
    global _worker_loader
    multiprocessing.util.Finalize(None, connections.close_all, exitpriority=10)
    gc.disable()
    gc.freeze()
    _worker_loader = Loader()


def _encoded_chunk(
    after: int, year: int | None, chunk: int, since: date | None, separator: bytes
) -> tuple[int, bytes]:
    """One chunk's releases encoded, each followed by `separator`, and how many."""
    processes = _worker_loader.processes(after=after, year=year, chunk=chunk)
    encoded = [dumps(release) for release in _chunk_releases(processes, _threshold(since))]
    del processes
    gc.collect()
    return len(encoded), separator.join(encoded) + separator if encoded else b""


def _parallel_pieces(
    workers: int,
    separator: bytes,
    *,
    since: date | None = None,
    year: int | None = None,
    chunk: int = CHUNK,
) -> Iterator[bytes]:
    """The encoded releases as releases() and _pieces() give them, one piece per chunk,
    built by `workers` forked processes, at most two chunks each ahead of the writing (so
    memory stays flat), written in order."""
    connections.close_all()  # a forked worker must not share the parent's connection
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_start_worker) as pool:
        pending = deque()
        for after in _chunk_starts(year=year, chunk=chunk):
            pending.append(pool.apply_async(_encoded_chunk, (after, year, chunk, since, separator)))
            if len(pending) >= 2 * workers:
                count, piece = pending.popleft().get()
                if count:
                    yield piece
        while pending:
            count, piece = pending.popleft().get()
            if count:
                yield piece
        pool.close()  # the workers end on their own (closing their connections)
        pool.join()


def _encoded(separator: bytes, workers: int = 1, **options) -> Iterator[bytes]:
    if workers > 1:
        return _parallel_pieces(workers, separator, **options)
    return _pieces(releases(**options), separator)


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
