"""Seconds per part of the seed, so `seed_demo` and `make bench` show where the time goes
(and a part that stops scaling linearly shows up at once): wall-clock seconds, this
process's CPU seconds and, when PostgreSQL runs on this machine and its process is
readable, the CPU seconds of the database's backend serving the seed. On a shared machine
the wall clock varies with the load; the CPU seconds much less."""

import os
import resource
import time
from contextlib import contextmanager

from django.db import connection


def _backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend (same machine only), or None."""
    if connection.vendor != "postgresql":
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _children_cpu() -> float:
    """CPU seconds of this process's finished child processes (the seed's workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Phases:
    """Seconds per named phase, in the order first seen; a phase timed twice adds up."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.database_cpu: dict[str, float] = {}
        self.workers_cpu: dict[str, float] = {}  # worker processes (procurement.demo.workers)

    @contextmanager
    def phase(self, name: str):
        self.seconds.setdefault(name, 0.0)  # listed before the phases timed inside it
        started, cpu, database = time.perf_counter(), time.process_time(), _backend_cpu()
        children = _children_cpu()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
            workers = _children_cpu() - children
            if workers > 0.005:
                self.workers_cpu[name] = self.workers_cpu.get(name, 0.0) + workers
            after = _backend_cpu() if database is not None else None
            if after is not None:
                self.database_cpu[name] = self.database_cpu.get(name, 0.0) + after - database

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def total(self) -> float:
        """Seconds of the top-level phases (those inside another one are part of it)."""
        return sum(s for name, s in self.seconds.items() if not name.startswith(" "))

    def lines(self) -> list[str]:
        rows = [f"  {'part':<34} {'wall s':>8} {'CPU s':>8} {'DB CPU s':>9} {'workers CPU s':>13}"]
        for name, seconds in self.seconds.items():
            cpu = f"{self.cpu[name]:8.2f}" if name in self.cpu else " " * 8
            database = f"{self.database_cpu[name]:9.2f}" if name in self.database_cpu else " " * 9
            workers = f"{self.workers_cpu[name]:13.2f}" if name in self.workers_cpu else ""
            rows.append(f"  {name:<34} {seconds:8.2f} {cpu} {database} {workers}".rstrip())
        return rows
