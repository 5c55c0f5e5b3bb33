"""Streaming exports of every published process's releases, in flat memory: processes are
read in keyset chunks (each chunk a fixed number of queries, procurement.ocds.bulk), their
releases built and encoded, and each chunk's JSON handed on as one piece of bytes. Used by
`manage.py export_ocds` and the daily bulk files of /datos/ (procurement.open_data)."""

import gc
from collections.abc import Iterator
from datetime import date, datetime, time

import orjson
from django.conf import settings
from django.utils import timezone

from .bulk import Loader
from .packages import package_metadata
from .releases import process_releases

CHUNK = 500
PIECE = 8 * 1024  # bytes of output gathered into one piece (one write)


def dumps(release: dict) -> bytes:
    """A release as compact UTF-8 JSON: the bytes of json.dumps(release, ensure_ascii=False,
    separators=(",", ":")) encoded as UTF-8 (orjson writes the same, at a tenth of the cost;
    the demo export test compares both), for the amounts a release holds (below 10**16)."""
    return orjson.dumps(release)


def releases(
    *, since: date | None = None, year: int | None = None, chunk: int = CHUNK
) -> Iterator[dict]:
    """Every release of every published process (by process, oldest release first), only
    those dated on or after `since` (Lima) when given, only the processes of one fiscal year
    when `year` is given (the yearly bulk files of /datos/)."""
    threshold = (
        timezone.make_aware(datetime.combine(since, time.min)) if since is not None else None
    )
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
            for process in processes:
                for release in process_releases(process):
                    if threshold is None or datetime.fromisoformat(release["date"]) >= threshold:
                        yield release
            last_id = processes[-1].pk
            del processes, process
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


def jsonl(**options) -> Iterator[bytes]:
    """JSON lines, one release per line, as UTF-8 bytes in pieces of many lines."""
    return _pieces(releases(**options), b"\n")


def release_package(**options) -> Iterator[bytes]:
    """One release package, written piece by piece: the metadata, then the releases."""
    metadata = package_metadata(f"{settings.SITE_URL}/datos/")
    head = dumps({**metadata, "releases": []})
    yield head[: -len(b"[]}")] + b"["
    separator = b""
    for piece in _pieces(releases(**options), b",\n"):
        yield separator + piece[: -len(b",\n")]  # no comma after the last release
        separator = b",\n"
    yield b"]}\n"
