"""`manage.py export_ocds`: one release package (or JSON lines) of every published process
that validates against the official schema, streamed in flat memory."""

import errno
import gc
import io
import json
import os
import signal
import tracemalloc
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from procurement.models import BidOpening, ProcurementProcess
from procurement.ocds import export as ocds_export
from procurement.ocds import schema
from procurement.ocds.releases import process_releases, release_queryset
from tests.factories import process_from_plan, publish_with_lp_calendar, published_plan
from tests.procurement.api_world import build_api_world, open_bids
from tests.procurement.bidding import called_tender
from tests.procurement.searching import published
from tests.procurement.test_ocds import amend_award_dates
from tests.procurement.test_ocds_awards import contracted_and_evaluated

pytestmark = pytest.mark.django_db


def export(*args) -> str:
    out = io.StringIO()
    call_command("export_ocds", *args, stdout=out)
    return out.getvalue()


def test_the_package_of_every_process_validates_and_holds_every_release(tmp_path):
    world = build_api_world()
    amend_award_dates(world)
    open_bids(world.tender)
    called_tender()
    target = tmp_path / "ocds.json"
    call_command("export_ocds", "--output", str(target), "--chunk", "1")
    package = json.loads(target.read_text(encoding="utf-8"))
    assert schema.errors(package, "release-package-schema.json") == []
    expected = [r["id"] for p in release_queryset() for r in process_releases(p)]
    assert [r["id"] for r in package["releases"]] == expected
    assert len(expected) == len(set(expected)) and len(expected) >= 8
    assert world.draft.identifier not in target.read_text(encoding="utf-8")
    assert package["license"] == "https://creativecommons.org/licenses/by/4.0/"


def test_json_lines_hold_one_valid_release_each_and_since_filters_by_date():
    world = build_api_world()
    open_bids(world.tender)
    lines = export("--jsonl").splitlines()
    releases = [json.loads(line) for line in lines]
    assert releases and all(schema.errors(r, "release-schema.json") == [] for r in releases)
    [opening] = [r for r in releases if r["id"].endswith("-opening")]
    day = opening["date"][:10]
    later = [json.loads(line) for line in export("--jsonl", "--since", day).splitlines()]
    assert opening["id"] in {r["id"] for r in later}
    assert all(r["date"][:10] >= day for r in later) and len(later) < len(releases)
    assert export("--jsonl", "--since", "2199-01-01") == ""


def test_bad_arguments_are_refused_with_a_message(tmp_path):
    with pytest.raises(CommandError, match="not a date"):
        call_command("export_ocds", "--since", "2026-13-45")
    with pytest.raises(CommandError, match="--chunk"):
        call_command("export_ocds", "--chunk", "0")
    with pytest.raises(CommandError, match="--output"):
        call_command("export_ocds", "--output", str(tmp_path / "missing" / "ocds.json"))
    too_many = 2 * (os.process_cpu_count() or 1) + 1  # each worker holds a connection
    with pytest.raises(CommandError, match="--workers: at most"):
        call_command("export_ocds", "--workers", str(too_many))


def _queries(tmp_path, chunk: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        call_command("export_ocds", "--output", str(tmp_path / "q.json"), "--chunk", str(chunk))
    return len(queries)


def _peak_memory(tmp_path, name) -> int:
    """Peak Python memory of an export to a file, one process per batch."""
    tracemalloc.start()
    call_command("export_ocds", "--output", str(tmp_path / name), "--chunk", "1")
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _opened_tender():
    tender = called_tender()
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    open_bids(tender)


def test_the_export_streams_in_flat_memory_and_fixed_queries_per_batch(tmp_path):
    """Exporting eight processes takes about the memory of two (without the collection after
    each batch it takes twice as much), and one batch costs the same queries for any number
    of processes."""
    world = build_api_world()
    open_bids(world.tender)
    _opened_tender()
    _peak_memory(tmp_path, "warm.json")
    two_queries, two_peak = _queries(tmp_path, 10), _peak_memory(tmp_path, "two.json")
    for _n in range(6):
        _opened_tender()
    # The first export of new processes fills one-off caches (compiled queries and the like):
    # warm up again, as for two, so that only what each batch holds is compared.
    _peak_memory(tmp_path, "warm-eight.json")
    eight_queries, eight_peak = _queries(tmp_path, 10), _peak_memory(tmp_path, "eight.json")
    assert eight_queries == two_queries
    assert (tmp_path / "eight.json").stat().st_size > 3 * (tmp_path / "two.json").stat().st_size
    assert eight_peak < two_peak * 1.3, (two_peak, eight_peak)


def test_a_full_export_of_the_demo_data_validates_and_covers_parties(tmp_path, client):
    """The demo data set (every process state, bids, openings): zero schema errors, every
    party identified by PE-RUC with its roles, every published process present, and no
    tenderer named for a process whose bids are still sealed."""
    call_command(
        "seed_demo",
        "--processes",
        "60",
        "--seed",
        "2",
        "--today",
        "2026-11-25",
        stdout=io.StringIO(),
    )
    target = tmp_path / "demo.jsonl"
    call_command("export_ocds", "--jsonl", "--output", str(target), "--chunk", "7")
    # The bulk loader (procurement.ocds.bulk) gives the releases release_queryset() gives.
    assert target.read_text(encoding="utf-8") == "".join(
        json.dumps(release, ensure_ascii=False, separators=(",", ":")) + "\n"
        for process in release_queryset()
        for release in process_releases(process)
    )
    releases = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    errors = {r["id"]: schema.errors(r, "release-schema.json") for r in releases}
    assert {k: v for k, v in errors.items() if v} == {}
    published = set(ProcurementProcess.objects.published().values_list("identifier", flat=True))
    assert {r["tender"]["id"] for r in releases if "tender" in r} == published
    for release in releases:
        for party in release.get("parties", []):
            assert party["roles"] and party["identifier"]["scheme"] == "PE-RUC", release["id"]
            assert party["id"] == f"PE-RUC-{party['identifier']['id']}"
    opened = set(
        BidOpening.objects.filter(status=BidOpening.Status.COMPLETED).values_list(
            "process__identifier", flat=True
        )
    )
    named = {r["tender"]["id"] for r in releases if "tenderers" in r.get("tender", {})}
    assert opened and named == opened
    for identifier in sorted(published)[:15]:
        response = client.get(f"/api/ocds/records/ocds-xxxxxx-{identifier}/")
        assert schema.errors(response.json(), "record-package-schema.json") == [], identifier


def test_the_streamed_export_is_byte_identical_to_each_process_s_own_releases(tmp_path):
    """However the export batches and loads the processes, each line is exactly the JSON of
    that process's releases as the API builds them one process at a time, and the release
    package holds the same releases in the same order."""
    world = build_api_world()
    amend_award_dates(world)
    open_bids(world.tender)
    _opened_tender()
    contracted_and_evaluated()  # award, consent, contract, amendment, end, evaluation
    expected = "".join(
        json.dumps(release, ensure_ascii=False, separators=(",", ":")) + "\n"
        for pk in ProcurementProcess.objects.published().order_by("id").values_list("pk", flat=True)
        for release in process_releases(release_queryset().get(pk=pk))
    )
    assert expected.count("\n") >= 15
    for step in ("-amendment-", "-opening", "-award-", "-consent", "-contract-", "-evaluation"):
        assert step in expected, step
    for chunk in ("1", "3", "500"):
        assert export("--jsonl", "--chunk", chunk) == expected, chunk
    package = json.loads(export("--chunk", "2"))
    assert package["releases"] == [json.loads(line) for line in expected.splitlines()]


@pytest.mark.django_db(transaction=True)  # the worker processes read what is committed
def test_worker_processes_write_the_same_releases_in_the_same_order():
    """--workers N builds the chunks in N forked processes: the same bytes as one process,
    for JSON lines and the release package, with --since too; --workers 0 is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: an in-memory SQLite test database is not shared")
    world = build_api_world()
    amend_award_dates(world)
    open_bids(world.tender)
    _opened_tender()
    contracted_and_evaluated()
    one = export("--jsonl", "--chunk", "1")
    assert one.count("\n") >= 15
    assert export("--jsonl", "--chunk", "1", "--workers", "3") == one
    assert export("--jsonl", "--chunk", "2", "--workers", "2") == one
    package = json.loads(export("--chunk", "2", "--workers", "2"))
    assert schema.errors(package, "release-package-schema.json") == []
    assert package["releases"] == [json.loads(line) for line in one.splitlines()]
    days = sorted(json.loads(line)["date"][:10] for line in one.splitlines())
    day = days[len(days) // 2]
    later = export("--jsonl", "--since", day, "--chunk", "1")
    assert 0 < later.count("\n") < one.count("\n")
    assert export("--jsonl", "--since", day, "--chunk", "1", "--workers", "2") == later
    with pytest.raises(CommandError, match="--workers"):
        call_command("export_ocds", "--workers", "0")


def test_the_export_encodes_as_json_dumps_does():
    """export.dumps (orjson) gives the bytes of json.dumps(ensure_ascii=False, compact) for
    what releases hold: amounts from a cent up and quantities (every number a release holds
    is an integer, 0, or a two-decimal value, so at least 0.01), Spanish text, escapes,
    nesting. Not for every float: below 1e-4 orjson writes 1e-05 as 0.00001 where json.dumps
    writes 1e-05 (the same number, other bytes)."""
    from procurement.ocds.export import dumps

    release = {
        "amounts": [0, 0.0, 0.01, 0.0001, 100.0, 1234567890123.45, 1e16, 98765432109876543.21],
        "sums": [0.1 + 0.2, 1 / 3],
        "text": 'Adquisición de "útiles" — año 2026\n\tlínea\u2028\x7f\x1f\\/',
        "nested": {"list": [True, False, None, 0, -7, {"ñ": []}], "empty": {}},
    }
    expected = json.dumps(release, ensure_ascii=False, separators=(",", ":")).encode()
    assert dumps(release) == expected


def _require_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: an in-memory SQLite test database is not shared")


def _killed(*args):
    """A worker killed while it builds its chunk (kill -9, the OOM killer)."""
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
def deadline():
    """Fail a test whose export would wait forever instead of hanging the run."""

    def expired(signum, frame):
        raise TimeoutError("the export hung")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_fails_the_export_and_leaves_the_output_as_it_was(
    tmp_path, monkeypatch, deadline
):
    """A worker that dies ends the export with an error (not a wait forever), and --output
    is only ever the previous file or a whole new one: no partial file, no temporary one."""
    _require_postgresql()
    world = build_api_world()
    open_bids(world.tender)
    (folder := tmp_path / "exports").mkdir()
    target = folder / "ocds.jsonl"
    target.write_text("yesterday's export\n")
    monkeypatch.setattr(ocds_export, "_worker_chunk", _killed)
    with pytest.raises(CommandError, match="worker process ended"):
        call_command(
            "export_ocds", "--jsonl", "--chunk", "1", "--workers", "2", "--output", str(target)
        )
    assert target.read_text() == "yesterday's export\n"
    assert os.listdir(folder) == ["ocds.jsonl"]
    monkeypatch.undo()
    call_command(
        "export_ocds", "--jsonl", "--chunk", "1", "--workers", "2", "--output", str(target)
    )
    assert target.read_text(encoding="utf-8") == export("--jsonl")
    assert os.listdir(folder) == ["ocds.jsonl"]


@pytest.mark.django_db(transaction=True)
def test_a_process_published_after_the_chunks_were_planned_is_in_none(monkeypatch):
    """The chunks are planned first and read later, in the snapshot the planning read: a
    process published in between (in an early chunk's id range) is in none of them, and every
    other process is still exported exactly once."""
    _require_postgresql()
    first = published("Primero")
    version, staff = published_plan(
        items=[{"description": "Bien", "estimated_value": D("450000"), "catalog_item": "43211503"}]
    )
    draft = process_from_plan(staff, version, description="Publicado durante la exportación")
    others = [published("Segundo"), published("Tercero")]
    assert first.pk < draft.pk < others[0].pk
    before = export("--jsonl", "--chunk", "1")
    plan = ocds_export._chunk_bounds

    def plan_then_publish(*args, **options):
        bounds = list(plan(*args, **options))
        publish_with_lp_calendar(staff, draft)
        yield from bounds

    monkeypatch.setattr(ocds_export, "_chunk_bounds", plan_then_publish)
    during = export("--jsonl", "--chunk", "1", "--workers", "2")
    after = export("--jsonl", "--chunk", "1")  # a new export reads what is published now
    tenders = [json.loads(line)["tender"]["id"] for line in after.splitlines()]
    assert set(tenders) == {p.identifier for p in (first, draft, *others)}
    assert during == before != after


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_workers_open_their_own_connections_and_leave_the_caller_s_alone():
    """A caller inside a transaction keeps its connection and its transaction: the workers
    neither close nor use the connection they were forked with."""
    _require_postgresql()
    world = build_api_world()
    open_bids(world.tender)
    one = export("--jsonl", "--chunk", "1")
    with transaction.atomic():
        caller = _backend_pid()
        assert export("--jsonl", "--chunk", "1", "--workers", "2") == one
        assert _backend_pid() == caller
        assert ProcurementProcess.objects.published().exists()
    assert _backend_pid() == caller


@pytest.fixture
def collector():
    yield
    gc.unfreeze()  # whatever a failing test left
    gc.enable()


def test_a_failed_export_leaves_the_garbage_collector_on(collector):
    """The automatic collection is paused only while a chunk is built, never while the
    export waits for its consumer: a consumer that fails (a full disk), or that keeps the
    export unfinished, leaves a long-lived process (a Celery worker) collecting."""
    world = build_api_world()
    open_bids(world.tender)
    _opened_tender()

    class FullDisk(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space") as failure:
        call_command("export_ocds", "--jsonl", "--chunk", "1", stdout=FullDisk())
    assert failure.traceback  # kept, with the export's frames
    assert gc.isenabled() and gc.get_freeze_count() == 0
    pieces = ocds_export.jsonl(chunk=1)
    assert next(pieces)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    pieces.close()
    gc.freeze()  # a server that froze what it preloaded keeps it frozen
    preloaded = gc.get_freeze_count()
    assert export("--jsonl") and gc.isenabled() and gc.get_freeze_count() >= preloaded > 0
