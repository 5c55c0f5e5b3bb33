"""The bulk files of /datos/: for each fiscal year, the processes as gzip CSV (the columns of
the search's CSV, exports.PROCESSES) and their OCDS releases as gzip JSON lines
(ocds.export). Written once a day by `manage.py build_open_data` and the beat task into
settings.OPEN_DATA_DIR, with a manifest (index.json) saying each file's size, rows, date and
SHA-256, which the page lists. A file is written under a temporary name and renamed when
complete, so a visitor never downloads half a file."""

import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone, translation

from . import exports
from .models import ProcurementProcess
from .ocds import export as ocds_export
from .queries import public_processes

MANIFEST = "index.json"
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
    CSV's header is not a row) and hashes the compressed file as served. CSV lines come one
    by one as text (a quoted value may hold a line break); OCDS lines as UTF-8 bytes, many
    whole lines a piece (JSON escapes line breaks inside strings, so each b"\\n" ends one)."""
    temporary = path.with_name(path.name + ".tmp")
    rows = 0
    with gzip.open(temporary, "wb") as handle:
        for line in lines:
            if isinstance(line, str):
                handle.write(line.encode())
                rows += 1
            else:
                handle.write(line)
                rows += line.count(b"\n")
    if kind == CSV:
        rows -= 1
    digest = hashlib.sha256()
    with open(temporary, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    os.replace(temporary, path)
    return BulkFile(
        name=path.name,
        kind=kind,
        year=year,
        rows=rows,
        size=path.stat().st_size,
        sha256=digest.hexdigest(),
        generated_at=timezone.now().replace(microsecond=0).isoformat(),
    )


def build(years: list[int] | None = None) -> list[BulkFile]:
    """Write the files of the given years (every published year by default) and the manifest.
    Files of other years already listed are kept; a year no longer published is dropped."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    published = published_years()
    wanted = published if years is None else [year for year in years if year in published]
    kept = {(f.kind, f.year): f for f in manifest() if f.year in published}
    with translation.override(LANGUAGE):
        for year in wanted:
            csv_file = _write(folder / NAMES[CSV].format(year=year), CSV, year, _csv_lines(year))
            kept[(CSV, year)] = csv_file
            lines = ocds_export.jsonl(year=year)
            kept[(OCDS, year)] = _write(folder / NAMES[OCDS].format(year=year), OCDS, year, lines)
    files = sorted(kept.values(), key=lambda f: (-f.year, f.kind))
    temporary = folder / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps([asdict(f) for f in files], indent=1), encoding="utf-8")
    os.replace(temporary, folder / MANIFEST)
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
