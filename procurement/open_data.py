"""The bulk files of /datos/: for each fiscal year, the processes as gzip CSV (the columns of
the search's CSV, exports.PROCESSES) and their OCDS releases as gzip JSON lines
(ocds.export). Written once a day by `manage.py build_open_data` and the beat task into
settings.OPEN_DATA_DIR, with a manifest (index.json) saying each file's size, rows, date and
SHA-256, which the page lists. A file is written under a temporary name of its own and
renamed when complete, so a visitor never downloads half a file; one build at a time writes
the folder (a lock file in it), so the manifest describes the files served.

A build reads one snapshot of the database (core.snapshots.read_snapshot: one read-only
transaction, REPEATABLE READ on PostgreSQL, for the whole build rather than for each year):
the years it lists and every file it writes, CSV and OCDS alike, describe the same moment,
whatever is published, awarded or amended while it runs, so a year's two files and the
manifest's rows agree, and the files of different years too. Files of years a build did not
write (`--year`) are those of the build that wrote them. The price is a transaction open for
the whole build, which holds back VACUUM while it runs."""

import fcntl
import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone, translation

from core.files import replaced_on_success
from core.snapshots import read_snapshot

from . import exports
from .models import ProcurementProcess
from .ocds import export as ocds_export
from .queries import public_processes

MANIFEST = "index.json"
LOCK = ".build.lock"  # held by the build writing the folder (never served: not listed)
# The kinds of file, each with its name pattern and content type.
CSV, OCDS = "csv", "ocds"
NAMES = {CSV: "procesos-{year}.csv.gz", OCDS: "ocds-{year}.jsonl.gz"}
CONTENT_TYPE = "application/gzip"
LANGUAGE = "es"  # labels in the CSV are written in Spanish


@dataclass(frozen=True)
class BulkFile:
    name: str
    kind: str
    year: int
    rows: int
    size: int
    sha256: str
    generated_at: str  # ISO 8601

    @property
    def generated(self):
        return datetime.fromisoformat(self.generated_at)


def directory() -> Path:
    return Path(settings.OPEN_DATA_DIR)


def published_years() -> list[int]:
    """The fiscal years with published processes, newest first."""
    return list(
        ProcurementProcess.objects.published()
        .order_by("-fiscal_year_id")
        .values_list("fiscal_year_id", flat=True)
        .distinct()
    )


def _csv_lines(year: int) -> Iterator[str]:
    spec = exports.PROCESSES
    writer = exports.csv_writer(_Line())
    yield writer.writerow(spec.header)
    queryset = public_processes().filter(fiscal_year_id=year).order_by("id")
    for row in spec.rows(queryset):
        yield writer.writerow(row)


class _Line:
    def write(self, value):
        return value


def _write(path: Path, kind: str, year: int, lines: Iterable[str | bytes]) -> BulkFile:
    """Write the lines gzipped under a temporary name, then rename: counts data lines (the
    CSV's header is not a row); the size and SHA-256 are those of the file renamed into
    place. CSV lines come one by one as text (a quoted value may hold a line break); OCDS
    lines as UTF-8 bytes, many whole lines a piece (JSON escapes line breaks inside strings,
    so each b"\\n" ends one)."""
    rows = 0
    with replaced_on_success(path) as raw:
        # No file name and no time in the header: the same content gives the same bytes, and
        # so the same SHA-256, every day.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
            for line in lines:
                if isinstance(line, str):
                    handle.write(line.encode())
                    rows += 1
                else:
                    handle.write(line)
                    rows += line.count(b"\n")
        raw.seek(0)
        digest = hashlib.file_digest(raw, "sha256")
        size = raw.tell()
    if kind == CSV:
        rows -= 1
    return BulkFile(
        name=path.name,
        kind=kind,
        year=year,
        rows=rows,
        size=size,
        sha256=digest.hexdigest(),
        generated_at=timezone.now().replace(microsecond=0).isoformat(),
    )


@contextmanager
def _only_build(folder: Path) -> Iterator[bool]:
    """Whether this is the only build writing `folder` (the others wait for none: they skip).
    The lock is the folder's own, so it holds for every process writing it, and is released
    when this build ends, or its process does."""
    with open(folder / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True


def build(years: list[int] | None = None) -> list[BulkFile] | None:
    """Write the files of the given years (every published year by default) and the manifest.
    Files of other years already listed are kept; a year no longer published is dropped.
    None, and nothing written, while another build is writing the folder (a daily build
    started while another runs would only write the same files again). Everything it reads,
    it reads in one snapshot (see the module's doc)."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    with _only_build(folder) as alone:
        if not alone:
            return None
        with read_snapshot(ProcurementProcess.objects.db), translation.override(LANGUAGE):
            published = published_years()
            wanted = published if years is None else [y for y in years if y in published]
            kept = {(f.kind, f.year): f for f in manifest() if f.year in published}
            for year in wanted:
                path = folder / NAMES[CSV].format(year=year)
                kept[(CSV, year)] = _write(path, CSV, year, _csv_lines(year))
                path = folder / NAMES[OCDS].format(year=year)
                kept[(OCDS, year)] = _write(path, OCDS, year, ocds_export.jsonl(year=year))
        files = sorted(kept.values(), key=lambda f: (-f.year, f.kind))
        with replaced_on_success(folder / MANIFEST) as handle:
            handle.write(json.dumps([asdict(f) for f in files], indent=1).encode())
        return files


def manifest() -> list[BulkFile]:
    """The files listed on /datos/ (none before the first build)."""
    try:
        data = json.loads((directory() / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [BulkFile(**entry) for entry in data]


def listed_file(name: str) -> tuple[BulkFile, Path] | None:
    """A file the manifest lists, with its path; None for any other name (nothing else in the
    folder is served)."""
    for bulk_file in manifest():
        if bulk_file.name == name:
            path = directory() / bulk_file.name
            return (bulk_file, path) if path.is_file() else None
    return None
