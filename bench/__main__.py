"""Benchmarks, printed as figures: `make bench` (PostgreSQL from DATABASE_URL).

`python -m bench` runs them all; `python -m bench seed` or `python -m bench bids` one of them
(bench/bids.py: concurrent bidders through the real pages; bench/ocds.py: the OCDS export
rate and memory, and API latency, on the seeded data or BENCH_OCDS_PROCESSES of its own;
bench/notices.py: subscription matching against a naive in-memory match, and notices sent
through real Celery workers to an SMTP server;
bench/scale.py: the auditor, API, search and SME pages' p50/p95 on a fixture CLONED in SQL to
BENCH_SCALE_PROCESSES, default 1,000,000; bench/search.py: the process search's queries, its
raw SQL and the CSV export, on a clone of BENCH_SEARCH_PROCESSES, default 100,000, or, with
BENCH_SEARCH_DB=name and `search` alone, on that database as it is, never dropped). Each run
uses a scratch database
it creates and drops, and a temporary VAR_DIR (keys, media, anchors), so nothing of yours is
touched. Every benchmark runs with production settings, DEBUG off (bench/production.py: keys,
SECRET_KEY and static files of the run's own); BENCH_DEBUG=1 measures with DEBUG on instead.
Figures are wall-clock seconds on this machine; compare runs on the same machine.
"""

import io
import os
import sys
import tempfile
import time

import django
import psycopg
from django.conf import settings

from bench import production

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
BENCH_DB = os.environ.get("BENCH_DB", "portal_bench")
BENCHMARKS = ("seed", "bids", "ocds", "notices", "scale", "search")


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {BENCHMARKS}")
    if os.environ.get("BENCH_SEARCH_DB") and chosen == ["search"]:
        return existing_search(os.environ["BENCH_SEARCH_DB"])
    scratch = tempfile.TemporaryDirectory(prefix="portal-bench-")
    os.environ["VAR_DIR"] = scratch.name
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    admin_url = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    production.apply(scratch.name)
    django.setup()
    print(production.prepare(), flush=True)
    from django.core.management import call_command

    try:
        figures = []

        def timed(label, func):
            started = time.perf_counter()
            result = func()
            figures.append((label, time.perf_counter() - started))
            return result

        timed("migrate (empty database)", lambda: call_command("migrate", verbosity=0))
        timed("load_reference_data", lambda: call_command("load_reference_data", verbosity=0))
        if "seed" in chosen:
            seed_figures(figures, timed)
        if "ocds" in chosen:
            from bench import ocds

            ocds.run(figures, seeded="seed" in chosen)
        print(f"{'benchmark':<52} figure (seconds unless the label says)")
        for label, seconds in figures:
            print(f"{label:<52} {seconds:8.3f}")
        if "bids" in chosen:
            from bench import bids

            print(f"\n{'bids: the last minute before a deadline':<52} figure")
            for label, figure in bids.run():
                print(f"{label:<52} {figure}")
        if "notices" in chosen:
            from bench import notices

            print(f"\n{'notices: matching and sending (issue 13)':<60} figure")
            for label, figure in notices.run():
                print(f"{label:<60} {figure}")
        if "scale" in chosen:  # last: it multiplies whatever the others seeded
            from bench import scale

            scale.run()
        if "search" in chosen:  # its own clone (after scale: none more)
            from bench import search

            search.run(existing="scale" in chosen)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        scratch.cleanup()


def existing_search(name: str) -> None:
    """`python -m bench search` on a database already prepared (BENCH_SEARCH_DB): read, never
    dropped nor migrated. VAR_DIR is the environment's, or the scratch one that holds the
    production settings' keys and static files."""
    scratch = tempfile.TemporaryDirectory(prefix="portal-bench-")
    os.environ.setdefault("VAR_DIR", scratch.name)
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        production.apply(scratch.name)
        django.setup()
        print(production.prepare(), flush=True)
        from bench import search

        search.run(existing=True)
    finally:
        scratch.cleanup()


def seed_figures(figures, timed) -> None:
    """seed_demo at BENCH_PROCESSES processes (with the seconds of each part of it), then
    the main public pages."""
    from django.core.management import call_command

    from procurement.management.commands.seed_demo import Command as SeedDemo

    processes = int(os.environ.get("BENCH_PROCESSES", "100000"))
    seeded = io.StringIO()
    command = SeedDemo(stdout=seeded)
    timed(
        f"seed_demo --processes {processes}",
        lambda: call_command(command, processes=processes, seed=1, verbosity=0),
    )
    total = figures[-1][1]
    phases = command.report.phases
    for part, seconds in phases.seconds.items():
        cpu = f"CPU {phases.cpu[part]:.1f}" if part in phases.cpu else ""
        if part in phases.database_cpu:
            cpu += f" + DB {phases.database_cpu[part]:.1f}"
        if part in phases.workers_cpu:
            cpu += f" + workers {phases.workers_cpu[part]:.1f}"
        figures.append((f"  {part} ({cpu} s)" if cpu else f"  {part}", seconds))
    figures.append(("  anchor, report and the rest", total - command.report.phases.total()))
    from procurement.models import ProcurementProcess

    created = ProcurementProcess.objects.count()
    assert created == processes, f"seed_demo created {created} processes, not {processes}"
    figures.append(
        (
            f"  seeding per 1,000 processes ({created} created)",
            total / max(created, 1) * 1000,
        )
    )
    settings.ALLOWED_HOSTS = ["*"]
    client = production.page_client()
    for url in [
        "/",
        "/procesos/",
        "/procesos/?q=papel&status=convocado",
        "/planes/",
        "/entidades/",
        "/proveedores/",
        "/proveedores/?sme=true&department=15",
    ]:
        client.get(url)  # warm up
        started = time.perf_counter()
        for _ in range(20):
            response = client.get(url)
            assert response.status_code == 200, url
        figures.append((f"GET {url} (mean of 20)", (time.perf_counter() - started) / 20))
    # The auditors' red-flag pages (procurement.views.red_flags), as the demo auditor.
    from accounts.models import User

    client.force_login(User.objects.get(email="auditor@demo.portal.pe"))
    for url in [
        "/auditoria/riesgos/",
        "/auditoria/riesgos/?flag=single_bidder&sort=-date",
        "/auditoria/riesgos/?department=15&min_score=20",
        "/auditoria/entidades/",
    ]:
        client.get(url)  # warm up
        started = time.perf_counter()
        for _ in range(20):
            response = client.get(url)
            assert response.status_code == 200, url
        figures.append((f"GET {url} (auditor, mean of 20)", (time.perf_counter() - started) / 20))
    figures.append((seeded.getvalue().splitlines()[0][:50], 0.0))  # what seed_demo created


if __name__ == "__main__":
    sys.exit(main())
