"""The process search at scale (issue 12, "Scale"): `python -m bench search`.

Data: a CLONED fixture (bench/scale.py's build) of BENCH_SEARCH_PROCESSES processes (default
100,000) in the usual scratch database; or, with BENCH_SEARCH_DB=name, a database already
prepared (seeded or cloned, migrated), used as it is and never dropped.

For each query of QUERIES (full text, filters, both, an identifier, a deep keyset page, a
broad query hitting about a third of all processes, sorted by date or amount; the text
queries also sorted by relevance), BENCH_SEARCH_REQUESTS (default 30) requests of the search
page through Django's test client after one warm-up, then:
- http p50/p95: the page's wall time in ms (the server's work: the client runs in-process),
  and cpu: the process's CPU ms per request (Python only; the database's CPU is not counted);
- sql p50/p95: the SELECT statements that same page ran (a server-side cursor's too) (captured with
  CaptureQueriesContext, parameters bound) executed alone through a raw cursor, rows
  fetched, the same number of times;
- ratio: the page's throughput over the raw SQL's (sql p50 / http p50; target >= 0.5:
  Django's share of a request no larger than the database's).
Then the full CSV export (/procesos/?format=csv) streamed to the end: rows/s, the growth of
the process's peak RSS (resource.getrusage, the whole process's high-water mark: the export
runs before any page), and the Python heap peak (tracemalloc, a second pass).
"""

import html
import os
import re
import resource
import statistics
import sys
import time
import tracemalloc

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

TARGET_MS = 50.0
DEEP_PAGES = 20  # the deep page: the "next" link followed this many times

# (key, label, query string | a callable(client) -> query string, ranked variant?)
# Terms that exist in the seeded data (procurement/demo): "adquisicion" is in about a third of
# all descriptions ("Adquisición de ..."): the broad query.


def _identifier(_client) -> str:
    from procurement.models import ProcurementProcess

    process = ProcurementProcess.objects.published().order_by("-pk").only("identifier").first()
    return f"q={process.identifier}"


def _busiest_supplier(_client) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.ruc FROM procurement_award a JOIN suppliers_supplier s ON s.id = a.supplier_id"
            " GROUP BY s.ruc ORDER BY count(*) DESC, s.ruc LIMIT 1"
        )
        return f"supplier={cursor.fetchone()[0]}"


def _deep(query: str):
    def follow(client) -> str:
        url = f"/procesos/?{query}"
        for _ in range(DEEP_PAGES):  # the page's own "next" link
            found = re.search(r'rel="next" href="\?([^"]+)"', client.get(url, secure=True).text)
            if not found:
                break
            url = f"/procesos/?{html.unescape(found[1])}"
        return url.split("?", 1)[1]

    return follow


QUERIES = (
    ("all", "no filter, newest first", "", False),
    ("plural", "text: computadoras", "q=computadoras", True),
    ("accents", "text: adquisicion (~1/3 of all)", "q=adquisicion", True),
    ("phrase", "text: servicio de limpieza", "q=servicio+de+limpieza", True),
    ("identifier", "exact identifier (redirect)", _identifier, False),
    ("status-dept", "status + department", "status=convocado&department=15", False),
    ("amount", "amount range, by amount", "min_value=100000&max_value=500000&sort=-amount", False),
    ("catalog", "catalog prefix 51100000", "catalog=51100000", False),
    ("supplier", "winning supplier", _busiest_supplier, False),
    (
        "text-filter",
        "text + status + department",
        "q=servicios&status=convocado&department=15",
        True,
    ),
    ("text-amount", "text + amount, lowest first", "q=obra&min_value=1000000&sort=amount", False),
    ("deep", f"deep page ({DEEP_PAGES} x next)", _deep(""), False),
    ("deep-text", f"text deep page ({DEEP_PAGES} x next)", _deep("q=adquisicion"), False),
)


def _percentiles(times: list[float]) -> tuple[float, float]:
    if len(times) < 2:
        return times[0], times[0]
    return statistics.median(times), statistics.quantiles(times, n=20, method="inclusive")[-1]


def _page_times(client, url: str, requests: int) -> tuple[list[float], float, int]:
    """Wall ms of each request, CPU ms per request, status."""
    response = client.get(url, secure=True)  # warm up
    status = response.status_code
    assert status in (200, 302), (url, status)
    times, cpu = [], time.process_time()
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, secure=True)
        times.append((time.perf_counter() - started) * 1000)
    return times, (time.process_time() - cpu) * 1000 / requests, status


def _sql_times(client, url: str, requests: int) -> tuple[list[float], int]:
    """Wall ms of the page's SELECTs run alone, per repetition; their number."""
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True)
    statements = []
    for query in captured.captured_queries:
        sql = query["sql"].lstrip()
        if sql.upper().startswith("DECLARE"):  # a server-side cursor (a form's choices): its query
            sql = re.split(r" CURSOR (?:WITH(?:OUT)? HOLD )?FOR ", sql, maxsplit=1)[1]
        if sql.upper().startswith("SELECT"):
            statements.append(sql)
    times = []
    with connection.cursor() as cursor:
        for sql in statements:  # warm up
            cursor.execute(sql)
            cursor.fetchall()
        for _ in range(requests):
            started = time.perf_counter()
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return times, len(statements)


def measure_queries(requests: int, only=()) -> list[tuple]:
    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    rows = []
    for key, label, query, relevance in QUERIES:
        if only and key not in only:
            continue
        query = query(client) if callable(query) else query
        variants = [(label, query)]
        if relevance:
            variants.append((f"{label} [relevance]", f"{query}&sort=relevance"))
        for name, text in variants:
            url = f"/procesos/?{text}" if text else "/procesos/"
            times, cpu, status = _page_times(client, url, requests)
            sql, statements = _sql_times(client, url, requests)
            rows.append(
                (name, url, status, *_percentiles(times), cpu, *_percentiles(sql), statements)
            )
    return rows


def print_queries(rows) -> None:
    print(
        f"\n{'search query':<40} {'http p50':>8} {'p95':>6} {'cpu':>6} {'sql p50':>8} {'p95':>6}"
        f" {'n':>2} {'ratio':>5}  url"
    )
    for name, url, status, p50, p95, cpu, sql50, sql95, statements in rows:
        miss = " *" if p95 > TARGET_MS and "[relevance]" not in name else "  "
        print(
            f"{name:<40} {p50:8.1f} {p95:6.1f} {cpu:6.1f} {sql50:8.1f} {sql95:6.1f}"
            f" {statements:2} {sql50 / p50:5.2f}{miss}{url[:70]}{'' if status == 200 else ' (302)'}",
            flush=True,
        )
    print(
        f"(ms; cpu = this process's CPU per request; n = SELECTs of the page; ratio = sql p50 /"
        f" http p50, target >= 0.5; * = date/amount-sorted p95 over {TARGET_MS:.0f} ms)"
    )


def measure_export() -> list[tuple[str, str]]:
    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    url = "/procesos/?format=csv"

    def stream() -> tuple[int, int]:
        response = client.get(url, secure=True)
        assert response.status_code == 200, response.status_code
        lines = size = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            size += len(chunk)
        return lines - 1, size  # less the header

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, started = time.process_time(), time.perf_counter()
    rows, size = stream()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    stream()
    _, heap = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return [
        (f"CSV export: rows (lines less header), {size / 1e6:.1f} MB", f"{rows:,}"),
        ("CSV export: seconds (CPU s of this process)", f"{seconds:.1f} ({cpu:.1f})"),
        ("CSV export: rows/s", f"{rows / seconds:,.0f}"),
        ("CSV export: peak RSS before -> after (MB)", f"{before / 1024:.0f} -> {after / 1024:.0f}"),
        ("CSV export: Python heap peak, tracemalloc (MB)", f"{heap / 1e6:.1f}"),
    ]


def run(existing: bool = False) -> None:
    """Build the fixture (unless `existing`), then the export and the query table."""
    from procurement.models import ProcurementProcess

    if not existing:
        from bench import scale

        processes = int(os.environ.get("BENCH_SEARCH_PROCESSES", "100000"))
        base = int(os.environ.get("BENCH_SCALE_BASE", "2000"))
        print(f"\n{'search: a CLONED fixture (bench/scale.py)':<52} figure")
        for label, figure in scale.build(processes, base):
            print(f"{label:<52} {figure}")
    total = ProcurementProcess.objects.count()
    load = "load average " + ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
    load += time.strftime(" at %H:%M:%S UTC", time.gmtime())
    print(f"\nsearch at {total:,} processes ({connection.settings_dict['NAME']}); {load}")
    only = [key for key in os.environ.get("BENCH_SEARCH_QUERIES", "").split(",") if key]
    if not only or "csv" in only:
        for label, figure in measure_export():
            print(f"{label:<52} {figure}", flush=True)
    requests = int(os.environ.get("BENCH_SEARCH_REQUESTS", "30"))
    print_queries(measure_queries(requests, [key for key in only if key != "csv"]))
    sys.stdout.flush()
