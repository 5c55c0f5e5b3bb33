"""Open data figures: `export_ocds` rate (releases per second) and memory (in a child
process, so the seed's memory does not count): its peak, and how much the resident memory
grew over the export itself (flat: the same for any number of processes); the `import_ocds`
rate of the first BENCH_OCDS_IMPORT releases of that export into a fresh scratch database;
and the API's list latency (p95). BENCH_OCDS_WORKERS (default 1) is passed to `export_ocds
--workers`."""

import io
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management import call_command

from bench import production


def run(figures, *, seeded: bool) -> None:
    if not seeded:
        processes = int(os.environ.get("BENCH_OCDS_PROCESSES", "5000"))
        started = time.perf_counter()
        call_command("seed_demo", processes=processes, seed=1, verbosity=0, stdout=io.StringIO())
        figures.append((f"seed_demo --processes {processes}", time.perf_counter() - started))
    target = Path(os.environ["VAR_DIR"]) / "ocds.jsonl"
    workers = os.environ.get("BENCH_OCDS_WORKERS", "1")
    started = time.perf_counter()
    # Our own manage.py with fixed arguments, in a child that reports its own peak resident
    # memory (VmHWM, Linux): the child's rusage would count the pages it was forked with,
    # i.e. this process's peak after seeding.
    # The resident memory before the export is read once the command and what it imports
    # are loaded; its growth is the peak over that.
    child = (
        "import os, resource, runpy, sys\n"
        "def kb(key):\n"
        "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(key))\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')\n"
        "import django; django.setup()\n"
        "import config.urls, procurement.management.commands.export_ocds\n"
        "before = kb('VmRSS')\n"
        "sys.argv = ['manage.py', 'export_ocds', '--jsonl', '--output', *sys.argv[1:]]\n"
        "runpy.run_path('manage.py', run_name='__main__')\n"
        "print(before, kb('VmHWM'), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    finished = subprocess.run(  # noqa: S603
        [sys.executable, "-c", child, str(target), "--workers", workers],
        check=True,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    with target.open("rb") as handle:
        releases = sum(1 for _line in handle)
    before_kb, peak_kb, worker_kb = (int(kb) for kb in finished.stdout.split()[-3:])
    figures.append((f"export_ocds --jsonl --workers {workers} ({releases} releases)", seconds))
    figures.append(("  releases per second", releases / seconds))
    figures.append(("  peak memory of the export (MB)", peak_kb / 1024))
    figures.append(
        ("  memory growth over the export (MB, peak - start)", (peak_kb - before_kb) / 1024)
    )
    if worker_kb:  # --workers above 1: the largest worker's peak (their own, forked pages too)
        figures.append(("  peak memory of a worker (MB)", worker_kb / 1024))
    figures.append(("  output (MB)", target.stat().st_size / 1e6))
    import_figures(figures, target)

    settings.ALLOWED_HOSTS = ["*"]
    settings.API_ANON_THROTTLE_RATE = "1000000/second"
    client = production.page_client()
    from procurement.models import ProcurementProcess

    identifier = ProcurementProcess.objects.published().values_list("identifier", flat=True)[0]
    for url in [
        "/api/v1/processes/",
        "/api/v1/processes/?status=convocado&page_size=200",
        "/api/v1/suppliers/?sme=true",
        f"/api/ocds/records/{settings.OCDS_PREFIX}-{identifier}/",
    ]:
        client.get(url)  # warm up
        times = []
        for _ in range(40):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, url
        figures.append((f"GET {url[:40]} (p95 of 40)", statistics.quantiles(times, n=20)[-1]))


def import_figures(figures, exported: Path) -> None:
    """`import_ocds` of the first BENCH_OCDS_IMPORT releases of the export into a fresh
    scratch database (migrated, with the reference data), in a child process: releases per
    second, over every release read (loaded or refused; a refused one is rolled back)."""
    count = int(os.environ.get("BENCH_OCDS_IMPORT", "1000"))
    source = exported.with_name("import.jsonl")
    with exported.open("rb") as lines, source.open("wb") as out:
        for _n, line in zip(range(count), lines, strict=False):
            out.write(line)
    database = settings.DATABASES["default"]["NAME"] + "_import"
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database}")
        conn.execute(f"CREATE DATABASE {database}")
    env = {**os.environ, "DATABASE_URL": f"{base}/{database}"}

    def manage(*args, check=True):
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            check=check,
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )

    try:
        manage("migrate", "--verbosity", "0")
        manage("load_reference_data", "--verbosity", "0")
        started = time.perf_counter()
        finished = manage("import_ocds", str(source), check=False)  # exit 1 when any refused
        seconds = time.perf_counter() - started
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database}")
    summary = re.search(
        r"(\d+) releases loaded, (\d+) already imported, (\d+) refused", finished.stdout
    )
    assert summary, finished.stdout[-500:] + finished.stderr[-500:]
    loaded, unchanged, refused = (int(n) for n in summary.groups())
    read = loaded + unchanged + refused
    figures.append((f"import_ocds, fresh database ({read} releases, {refused} refused)", seconds))
    figures.append(("  releases per second", read / seconds))
