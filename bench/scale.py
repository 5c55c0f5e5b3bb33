"""The pages at a million processes: `python -m bench scale` (BENCH_SCALE_PROCESSES, default
1,000,000; BENCH_SCALE_BASE, default 2,000).

The data is a CLONED measurement fixture, not a seed: seed_demo builds BENCH_SCALE_BASE
processes (with their red flags and risk rows, computed by procurement.red_flags as the seed
always does), then SQL copies (INSERT ... SELECT over generate_series) every base row of the
tables the measured pages read, BENCH_SCALE_PROCESSES / BENCH_SCALE_BASE times in all: the
processes, their stages, status changes, items, awards, contracts, contract amendments,
appeals, risk rows and risk flags (CLONED below). Each copy gets new ids (the base id plus
the copy number times the table's largest base id), its foreign keys among the cloned tables
moved the same way, a new sequence number (and so a new identifier, unique per entity, year,
procedure and call), a new contract number, for imported processes a new ocid, and a
publication moment k milliseconds after its base's (copy k; lists sorted by it, and their
cursors, then meet distinct moments as real data has). A copy keeps the base row's other
dates, amounts, statuses, texts and search vector (so a text query finds the copies of what
it finds in the base, and the identifier inside the copy's search vector is its base's; the
share of running processes, high in the seed, stays as high), and references to rows that are not cloned (bids, openings, evaluations,
documents, plan items: no measured page reads them) still point at the base's rows, except
one-to-one ones, left empty. Risk rows are copies, not recomputed: the cross-process rules
(repeated direct contracting, recurrent winner, split purchase) would flag more at scale.

Then each page is requested BENCH_SCALE_REQUESTS times (default 30; fewer, at least 5, for a
page slower than BENCH_SCALE_PAGE_SECONDS, 60, allow; none for a page whose first request
alone took longer) after one first request (printed, not counted: it fills the caches), with
Django's test client (the auditor pages as the demo auditor), and p50/p95 are printed in
milliseconds. BENCH_SCALE_PAGES="overview,risks,api" measures only those pages (PAGES).
"""

import io
import os
import statistics
import time

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

# The tables the measured pages read (found by capturing their queries), parents first.
CLONED = (
    "procurement_procurementprocess",
    "procurement_processstage",
    "procurement_statuschange",
    "procurement_processitem",
    "procurement_award",
    "procurement_contract",
    "procurement_contractamendment",
    "procurement_appeal",
    "procurement_processrisk",
    "procurement_processriskflag",
)
PROCESS = "procurement_procurementprocess"
COPIES_PER_STATEMENT = 20
MIN_REQUESTS = 5  # a page slower than BENCH_SCALE_PAGE_SECONDS / 30 gets fewer requests

# (key, label, url, as the auditor); BENCH_SCALE_PAGES="key,key" measures only those. The url
# "sme-entity" stands for the compliance page of the entity with the most contracts.
PAGES = (
    ("home", "home", "/", False),
    ("overview", "audit overview", "/auditoria/", True),
    (
        "overview-period",
        "audit overview, a period",
        "/auditoria/?call_from=2026-01-01&call_to=2026-06-30",
        True,
    ),
    ("risks", "red flags", "/auditoria/riesgos/", True),
    (
        "risks-flag",
        "red flags, flag + sort by date",
        "/auditoria/riesgos/?flag=single_bidder&sort=-date",
        True,
    ),
    (
        "risks-department",
        "red flags, department + min score",
        "/auditoria/riesgos/?department=15&min_score=20",
        True,
    ),
    ("stuck", "stuck processes", "/auditoria/atascados/", True),
    (
        "stuck-filter",
        "stuck processes, department + stage",
        "/auditoria/atascados/?department=08&stage=contrato",
        True,
    ),
    ("api", "API processes", "/api/v1/processes/", False),
    (
        "api-status",
        "API processes, status filter",
        "/api/v1/processes/?status=convocado&page_size=200",
        False,
    ),
    ("api-next", "API processes, next page (cursor)", None, False),
    ("search", "search", "/procesos/", False),
    ("search-text", "search, text query", "/procesos/?q=papel", False),
    ("search-filter", "search, filter", "/procesos/?status=convocado&department=15", False),
    ("sme", "SME ranking", "/mype/", False),
    # The statistics: `first` is the table counted, the requests read it as kept (the
    # unfiltered ones are kept warm by Celery beat, procurement.statistics.warm).
    ("statistics", "statistics by segment", "/estadisticas/", False),
    ("statistics-month", "statistics by month", "/estadisticas/?by=month", False),
    ("statistics-supplier", "statistics by supplier", "/estadisticas/?by=supplier", False),
    (
        "statistics-filtered",
        "statistics by family, filtered",
        "/estadisticas/?by=family&department=15&sme_only=false&call_from=2026-01-01",
        False,
    ),
    ("prices", "price history, busiest code", "prices", False),
    ("sme-entity", "SME entity compliance", "sme-entity", False),
)


def _columns(table: str) -> list[tuple[str, bool]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            [table],
        )
        return cursor.fetchall()


def _foreign_keys(table: str) -> dict[str, str]:
    """Single-column foreign keys of `table`: column -> referenced table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname, c.confrelid::regclass::text FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.conrelid = %s::regclass",
            [table],
        )
        return dict(cursor.fetchall())


def _unique_columns(table: str) -> set[str]:
    """Columns that are unique on their own (a one-to-one reference, say)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass AND i.indisunique "
            "AND i.indnatts = 1 AND NOT i.indisprimary",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def _process_owned() -> set[str]:
    """The tables hanging from a process (through any chain of foreign keys)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f'"
        )
        edges = cursor.fetchall()
    owned, grew = {PROCESS}, True
    while grew:
        grew = False
        for child, parent in edges:
            if parent in owned and child not in owned and not child.startswith("core_"):
                owned.add(child)
                grew = True
    return owned


def _scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _largest(table: str, column: str | None) -> int:
    """max(column) of one of CLONED's tables (its row count when column is None)."""
    what = f"coalesce(max({column}), 0)" if column else "count(*)"
    return _scalar(f"SELECT {what} FROM {table}")  # noqa: S608 - our own table names


def _key(table: str) -> str:
    """The table's own key: its id, or (a one-to-one table such as the risk rows) process_id."""
    return "id" if any(name == "id" for name, _ in _columns(table)) else "process_id"


def clone(copies: int) -> list[tuple[str, float]]:
    """Copy the base rows of CLONED (copies - 1) times over: see the module's docstring."""
    quote = connection.ops.quote_name
    owned = _process_owned()
    span = {table: _largest(table, _key(table)) for table in CLONED}
    sequences = _largest(PROCESS, "sequence")
    figures = []
    for table in CLONED:
        key = _key(table)
        keys = _foreign_keys(table)
        unique = _unique_columns(table)
        names, values = [], []
        for name, _not_null in _columns(table):
            value = f"t.{quote(name)}"
            target = keys.get(name)
            if name == key and key == "id":
                value = f"t.id + k * {span[table]}"
            elif target in span:
                value = f"t.{quote(name)} + k * {span[target]}"
            elif target in owned and name in unique:
                value = "NULL"  # a one-to-one row that is not cloned
            if table == PROCESS and name == "sequence":
                value = f"t.sequence + k * {sequences}"
            elif table == PROCESS and name == "identifier":
                value = (
                    r"regexp_replace(t.identifier, '^(.*?-SM-)\d+-', "
                    f"'\\1' || (t.sequence + k * {sequences}) || '-')"
                )
            elif table == PROCESS and name == "search_text":
                value = (
                    "replace(t.search_text, t.identifier, regexp_replace(t.identifier, "
                    rf"'^(.*?-SM-)\d+-', '\1' || (t.sequence + k * {sequences}) || '-'))"
                )
            elif table == PROCESS and name == "ocid":
                value = "CASE WHEN t.ocid = '' THEN '' ELSE t.ocid || '-copia-' || k END"
            elif name == "published_at" and table in (PROCESS, "procurement_processrisk"):
                value = "t.published_at + k * interval '1 millisecond'"
            elif table == "procurement_contract" and name == "number":
                value = "t.number || '-C' || k"
            names.append(quote(name))
            values.append(value)
        own = "t.id" if key == "id" else f"t.{key}"
        limit = span[table] if key == "id" else span[PROCESS]
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} "  # noqa: S608
            f"FROM {table} t CROSS JOIN generate_series(%s, %s) k WHERE {own} <= {limit}"
        )
        started = time.perf_counter()
        for first in range(1, copies, COPIES_PER_STATEMENT):
            last = min(first + COPIES_PER_STATEMENT - 1, copies - 1)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [first, last])
        figures.append(
            (f"  clone {table.removeprefix('procurement_')}", time.perf_counter() - started)
        )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in CLONED:
            if _key(table) == "id":
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608, E501
                )
            cursor.execute(f"VACUUM ANALYZE {table}")
        # The seeded tables too (entities, suppliers, catalog...): with autovacuum off, as on
        # the bench machine, they would keep no statistics and the planner would guess (one
        # entity in a department of 70: nested loops over the whole status index).
        cursor.execute("ANALYZE")
    figures.append(("  vacuum analyze", time.perf_counter() - started))
    return figures


def build(processes: int, base: int) -> list[tuple[str, str]]:
    """Seed the base, clone it to `processes`: the figures as (label, text)."""
    from procurement import sme, stuck
    from procurement.models import ProcessRisk, ProcurementProcess

    rows = []
    if seeded := ProcurementProcess.objects.count():  # another benchmark seeded: its base
        base = seeded
        rows.append((f"base: the {base} processes seeded before", ""))
    else:
        started = time.perf_counter()
        call_command("seed_demo", processes=base, seed=1, verbosity=0, stdout=io.StringIO())
        rows.append((f"seed_demo --processes {base} (s)", f"{time.perf_counter() - started:.1f}"))
    assert ProcessRisk.objects.exists(), "the seed computed no risk rows"
    copies = max(processes // base, 1)
    started = time.perf_counter()
    parts = clone(copies)
    rows.append(
        (f"clone x{copies} in SQL (s)", f"{time.perf_counter() - started:.1f}"),
    )
    rows += [(label + " (s)", f"{seconds:.1f}") for label, seconds in parts]
    # The clones bypass the services: the SME pages' summary is rebuilt as the daily task does.
    started = time.perf_counter()
    written = sme.refresh_summary()
    rows.append(
        (f"SME summary refresh, {written:,} rows (s)", f"{time.perf_counter() - started:.1f}")
    )
    # And the stuck list's stored rule (procurement.stuck.refresh_due), as the seed and
    # migration 0029 write it: the copies carry their base's value, written again here.
    started = time.perf_counter()
    written = stuck.refresh_due()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {PROCESS}")
    rows.append(
        (
            f"stuck: stage_due_on refresh, {written:,} rows (s)",
            f"{time.perf_counter() - started:.1f}",
        )
    )
    for table in CLONED:
        rows.append((f"rows {table.removeprefix('procurement_')}", f"{_largest(table, None):,}"))
    size = _scalar("SELECT pg_database_size(current_database())")
    rows.append(("database size (GB)", f"{size / 1e9:.2f}"))
    assert ProcurementProcess.objects.count() == copies * base
    return rows


def _busiest_entity_ruc() -> str:
    return _scalar(
        "SELECT e.ruc FROM procurement_contract c JOIN procurement_entity e ON e.id = c.entity_id"
        " GROUP BY e.ruc ORDER BY COUNT(*) DESC, e.ruc LIMIT 1"
    )


def _busiest_commodity() -> str:
    return _scalar(
        "SELECT catalog_item_id FROM procurement_processitem"
        " GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1"
    )


def measure(requests: int | None = None, only=()) -> list[tuple]:
    """(label, url, first, requests, p50, p95) of each of PAGES (or of the keys in `only`, or
    BENCH_SCALE_PAGES), in ms: `first` is the warm-up request, not counted in p50/p95. A page
    gets `requests` requests (BENCH_SCALE_REQUESTS, 30), or as many as
    BENCH_SCALE_PAGE_SECONDS (60) allow but at least MIN_REQUESTS; none more when the warm-up
    alone took longer than that."""
    from accounts.models import User
    from bench import production

    requests = requests or int(os.environ.get("BENCH_SCALE_REQUESTS", "30"))
    budget = float(os.environ.get("BENCH_SCALE_PAGE_SECONDS", "60"))
    settings.ALLOWED_HOSTS = ["*"]
    settings.API_ANON_THROTTLE_RATE = "1000000/second"
    auditor = production.page_client()
    auditor.force_login(User.objects.get(email="auditor@demo.portal.pe"))
    anonymous = production.page_client()
    only = only or [key for key in os.environ.get("BENCH_SCALE_PAGES", "").split(",") if key]
    found = []
    for key, label, url, as_auditor in PAGES:
        if only and key not in only:
            continue
        client = auditor if as_auditor else anonymous
        if url is None:  # the API's next page: the link its first page gives
            url = anonymous.get("/api/v1/processes/").json()["next"]
            url = url.split("://", 1)[-1].split("/", 1)[-1]
            url = "/" + url
        elif url == "prices":  # the commodity with the most items: the heaviest history
            url = f"/precios/{_busiest_commodity()}/"
        elif url == "sme-entity":  # the entity with the most contracts: the heaviest page
            url = f"/entidades/{_busiest_entity_ruc()}/mype/"
        began = time.perf_counter()
        response = client.get(url)  # warm up
        first = (time.perf_counter() - began) * 1000
        assert response.status_code == 200, (url, response.status_code)
        times, began = [], time.perf_counter()
        while first < budget * 1000 and len(times) < requests:  # a slow page: its first only
            if len(times) >= MIN_REQUESTS and time.perf_counter() - began > budget:
                break
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        if not times:
            found.append((label, url, first, 0, None, None))
            continue
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if times[1:] else times[0]
        found.append((label, url, first, len(times), statistics.median(times), p95))
    return found


def print_measures(measures) -> None:
    print(f"\n{'page':<36} {'first':>8} {'n':>3} {'p50 ms':>8} {'p95 ms':>8}  url")
    for label, url, first, n, p50, p95 in measures:
        figures = f"{p50:8.1f} {p95:8.1f}" if n else f"{'-':>8} {'-':>8}"
        print(f"{label:<36} {first:8.0f} {n:3} {figures}  {url[:60]}", flush=True)


def run() -> None:
    processes = int(os.environ.get("BENCH_SCALE_PROCESSES", "1000000"))
    base = int(os.environ.get("BENCH_SCALE_BASE", "2000"))
    rows = build(processes, base)
    print(f"\n{'scale: a CLONED fixture (bench/scale.py)':<52} figure")
    for label, figure in rows:
        print(f"{label:<52} {figure}")
    print_measures(measure())
