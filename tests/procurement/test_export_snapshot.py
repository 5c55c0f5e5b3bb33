"""An export reads one snapshot of the database: what another connection commits while
`export_ocds` (one process or several) or `build_open_data` runs is in none of its output,
which is the same as before the change (core.snapshots). PostgreSQL only: another connection
must commit while the export reads (an in-memory SQLite test database is not shared)."""

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from core import clock
from procurement import open_data
from procurement.ocds import export as ocds_export
from procurement.services import processes
from tests.factories import process_from_plan, publish_with_lp_calendar, published_plan
from tests.procurement.test_ocds import after_call, amend_award_dates

pytestmark = pytest.mark.django_db(transaction=True)  # another connection commits


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: an in-memory SQLite test database is not shared")


def _draft(description: str):
    """A Licitación Pública not yet called (as tests.procurement.searching.published makes
    them), with its staff member."""
    version, staff = published_plan(
        items=[{"description": "Bien", "estimated_value": D("450000"), "catalog_item": "43211503"}]
    )
    return SimpleNamespace(
        staff=staff, process=process_from_plan(staff, version, description=description)
    )


def _called(description: str):
    tender = _draft(description)
    tender.process = publish_with_lp_calendar(tender.staff, tender.process)
    return tender


def _in_another_connection(change) -> None:
    """Run `change` in a thread, on a database connection of its own, which commits."""
    failures = []

    def run():
        try:
            change()
        except BaseException as error:  # raised again in the test
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def export(*args) -> str:
    out = io.StringIO()
    call_command("export_ocds", *args, stdout=out)
    return out.getvalue()


def _releases(lines: str, process) -> list[dict]:
    releases = (json.loads(line) for line in lines.splitlines())
    return [r for r in releases if _identifier(r) == process.identifier]


def _identifier(release: dict) -> str:
    return release["ocid"].split("-", 2)[2]


def _tags(lines: str, process) -> set[str]:
    return {tag for release in _releases(lines, process) for tag in release["tag"]}


@pytest.mark.parametrize("workers", [1, 2])
def test_what_is_committed_during_an_export_is_in_none_of_it(workers):
    """With one chunk per process, after the first chunk was read (with two workers, the
    first four chunks were handed out then), another connection publishes a process whose id
    lies inside a later chunk's range, amends a later process's calendar (an award moved)
    and cancels another (its call withdrawn). The export shows none of it and is the export
    taken before, byte for byte; an export begun afterwards shows each change."""
    early = [_called(f"Proceso {n}") for n in range(4)]
    draft = _draft("Publicado durante la exportación")
    amended = _called("Enmendado durante la exportación")
    cancelled = _called("Cancelado durante la exportación")
    last = _called("Último")
    assert early[-1].process.pk < draft.process.pk < amended.process.pk < last.process.pk
    before = export("--jsonl", "--chunk", "1")

    def change():
        publish_with_lp_calendar(draft.staff, draft.process)
        amend_award_dates(SimpleNamespace(tender=amended))
        with clock.pinned(after_call(SimpleNamespace(tender=cancelled))):
            processes.cancel(
                actor=cancelled.staff, process=cancelled.process, reason="Ya no se necesita"
            )

    pieces = ocds_export.jsonl(chunk=1, workers=workers)
    try:
        during = [next(pieces)]  # the first chunk has been read
        _in_another_connection(change)
        during.extend(pieces)
    finally:
        pieces.close()
    during = b"".join(during).decode()
    after = export("--jsonl", "--chunk", "1")
    assert during == before
    # The changes were committed, each in a chunk read after them.
    assert not _releases(before, draft.process) and _releases(after, draft.process)
    assert "tenderAmendment" in _tags(after, amended.process) - _tags(before, amended.process)
    assert "tenderCancellation" in _tags(after, cancelled.process) - _tags(
        before, cancelled.process
    )
    assert _releases(after, last.process) == _releases(before, last.process)


def test_a_year_s_csv_and_ocds_files_describe_the_same_moment(settings, tmp_path, monkeypatch):
    """A process published by another connection once the year's CSV file is written is in
    neither of its files (nor in the manifest's counts): both describe the moment the build
    began. The next build has it in both."""
    settings.OPEN_DATA_DIR = tmp_path / "datos"
    first, second = _called("Computadoras"), _called("Servicio de limpieza")
    draft = _draft("Publicado durante la construcción")
    csv_lines = open_data._csv_lines

    def then_publish(year):
        yield from csv_lines(year)
        _in_another_connection(lambda: publish_with_lp_calendar(draft.staff, draft.process))

    monkeypatch.setattr(open_data, "_csv_lines", then_publish)
    files = open_data.build()
    monkeypatch.undo()
    year = first.process.fiscal_year_id

    def identifiers(kind):
        path = settings.OPEN_DATA_DIR / open_data.NAMES[kind].format(year=year)
        body = gzip.decompress(path.read_bytes())
        if kind == open_data.CSV:
            return {row[0] for row in list(csv.reader(io.StringIO(body.decode())))[1:]}
        return {_identifier(json.loads(line)) for line in body.decode().splitlines()}

    expected = {first.process.identifier, second.process.identifier}
    assert identifiers(open_data.CSV) == identifiers(open_data.OCDS) == expected
    assert {f.kind: f.rows for f in files}[open_data.CSV] == 2
    open_data.build()
    expected.add(draft.process.identifier)
    assert identifiers(open_data.CSV) == identifiers(open_data.OCDS) == expected


def test_a_snapshot_outlives_the_servers_idle_in_transaction_timeout():
    """A long read waits between its queries (a slow reader of the stream, a worker's chunk
    awaited): a server whose idle_in_transaction_session_timeout is short must not end the
    snapshot's transaction, in read_snapshot() as in an ExportedSnapshot."""
    from core.snapshots import ExportedSnapshot, read_snapshot

    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER DATABASE {connection.settings_dict['NAME']} SET idle_in_transaction_session_timeout = '200ms'"
        )
    connection.close()
    try:
        with read_snapshot(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            time.sleep(0.6)
            cursor.execute("SELECT 2")
            assert cursor.fetchone() == (2,)
        snapshot = ExportedSnapshot()
        try:
            time.sleep(0.6)
            with snapshot.connection.cursor() as cursor:
                cursor.execute("SELECT 3")
                assert cursor.fetchone() == (3,)
        finally:
            snapshot.close()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER DATABASE {connection.settings_dict['NAME']} RESET idle_in_transaction_session_timeout"
            )
        connection.close()


def test_an_export_worker_dies_with_the_export(tmp_path):
    """A worker forked by an export whose process is killed (kill -9, the OOM killer) is
    killed too by the kernel (Linux): orphaned, it would hold its copies of the parent's
    sockets, and so the parent's snapshot transaction, open for ever."""
    pid_file = tmp_path / "worker.pid"
    script = (
        "import os, time, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')\n"
        "django.setup()\n"
        "from procurement.ocds import export\n"
        "export._parent_pid = os.getpid()\n"
        "worker = os.fork()\n"
        "if worker == 0:\n"
        "    export._die_with_parent()\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        f"open({str(pid_file)!r}, 'w').write(str(worker))\n"
        "time.sleep(0.5)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, check=False)  # noqa: S603
    worker = int(pid_file.read_text())
    for _ in range(50):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return  # gone (reaped by init)
        if _zombie(worker):
            return
        time.sleep(0.1)
    os.kill(worker, 9)
    pytest.fail("the worker outlived its export's process")


def _zombie(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return False
