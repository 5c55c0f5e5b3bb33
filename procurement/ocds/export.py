"""Streaming exports of every published process's releases, in flat memory: processes are
read in keyset chunks (each chunk a fixed number of queries) and each release is written as
soon as it is built. Used by `manage.py export_ocds`; the daily bulk files can reuse it."""

import gc
import json
from collections.abc import Iterator
from datetime import date, datetime, time

from django.conf import settings
from django.utils import timezone

from .bulk import Loader
from .packages import package_metadata
from .releases import process_releases

CHUNK = 500


# json.dumps(data, ensure_ascii=False, separators=(",", ":")) builds an encoder per call; one
# encoder serves them all. Releases are trees of dicts and lists, never cyclic.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def releases(
    *, since: date | None = None, year: int | None = None, chunk: int = CHUNK
) -> Iterator[dict]:
    """Every release of every published process (by process, oldest release first), only
    those dated on or after `since` (Lima) when given, only the processes of one fiscal year
    when `year` is given (the yearly bulk files of /datos/)."""
    threshold = (
        timezone.make_aware(datetime.combine(since, time.min)) if since is not None else None
    )
    # Model instances with prefetched rows reference each other (a process its items, each
    # item its process): such cycles wait for a full garbage collection. The heap that exists
    # before the export is frozen so that collecting after every batch only looks at the
    # batch's own objects, and memory stays flat however many processes there are.
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
            last_id = processes[-1].id
            del processes, process
            gc.collect()
    finally:
        gc.unfreeze()


def jsonl(**options) -> Iterator[str]:
    """JSON lines: one release per line."""
    for release in releases(**options):
        yield _dumps(release) + "\n"


def release_package(**options) -> Iterator[str]:
    """One release package, written piece by piece: the metadata, then each release."""
    metadata = package_metadata(f"{settings.SITE_URL}/datos/")
    head = _dumps({**metadata, "releases": []})
    yield head[: -len("[]}")] + "["
    separator = ""
    for release in releases(**options):
        yield separator + _dumps(release)
        separator = ",\n"
    yield "]}\n"
