"""Open data figures: `export_ocds` rate (releases per second) and peak memory (in a child
process, so the seed's memory does not count), and the API's list latency (p95)."""

import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test import Client


def run(figures, *, seeded: bool) -> None:
    if not seeded:
        processes = int(os.environ.get("BENCH_OCDS_PROCESSES", "5000"))
        started = time.perf_counter()
        call_command("seed_demo", processes=processes, seed=1, verbosity=0, stdout=io.StringIO())
        figures.append((f"seed_demo --processes {processes}", time.perf_counter() - started))
    target = Path(os.environ["VAR_DIR"]) / "ocds.jsonl"
    started = time.perf_counter()
    # Our own manage.py with fixed arguments, in a child that reports its own peak resident
    # memory (VmHWM, Linux): the child's rusage would count the pages it was forked with,
    # i.e. this process's peak after seeding.
    child = (
        "import runpy, sys\n"
        "sys.argv = ['manage.py', 'export_ocds', '--jsonl', '--output', sys.argv[1]]\n"
        "runpy.run_path('manage.py', run_name='__main__')\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
    )
    finished = subprocess.run(  # noqa: S603
        [sys.executable, "-c", child, str(target)],
        check=True,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    with target.open("rb") as handle:
        releases = sum(1 for _line in handle)
    peak_mb = int(finished.stdout.split()[-1]) / 1024
    figures.append((f"export_ocds --jsonl ({releases} releases)", seconds))
    figures.append(("  releases per second", releases / seconds))
    figures.append(("  peak memory of the export (MB)", peak_mb))
    figures.append(("  output (MB)", target.stat().st_size / 1e6))

    settings.ALLOWED_HOSTS = ["*"]
    settings.API_ANON_THROTTLE_RATE = "1000000/second"
    client = Client()
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
