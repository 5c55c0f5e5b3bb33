"""The seed's per-process rows built chunk by chunk in worker processes (PostgreSQL).

A builder that goes through the processes in chunks reads each chunk's inputs from the
database (this process: only it is in the seed's transaction), has the chunk's rows built
(pure Python: dates, prices, receipts, AES-GCM, PDFs) and writes them (COPY, this process
again). With `parallel` the building is done by forked worker processes while this one
reads the next chunks and writes the finished ones, in chunk order; each chunk draws from
its own random stream (chunk_stream: the builder's stream and the chunk's number), so a
seed gives the same rows whichever process builds a chunk, with or without workers.

The workers inherit everything loaded before the fork (reference data, keys) and never
touch the seed's database connection (it belongs to this process's transaction: a query
from a worker would be a query in the middle of this one's). The one thing they need from
the database, ids from the tables' sequences (nextval is outside any transaction), comes
through a connection of their own (worker_ids_cursor).
"""

import multiprocessing
import os
import random
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor

from django.db import connection, connections

# Chunks in flight per worker: one being built, one waiting, so no worker idles while this
# process writes.
AHEAD = 2

_worker_connection = None  # a worker's own connection, for ids (psycopg 3, autocommit)
_worker_params: dict | None = None


def chunk_stream(base: int, index: int) -> random.Random:
    """The random stream of chunk `index` of a builder whose stream gave `base`."""
    return random.Random(f"{base}:{index}")


def parallel_available() -> bool:
    """Workers pay off on PostgreSQL with more than one CPU (SQLite stays in one process)."""
    return connection.vendor == "postgresql" and (os.cpu_count() or 1) > 1


def in_worker() -> bool:
    return _worker_params is not None


def worker_ids_cursor():
    """A cursor on the worker's own connection (ids from sequences), opened on first use."""
    global _worker_connection
    if _worker_connection is None:
        import psycopg

        _worker_connection = psycopg.connect(**_worker_params, autocommit=True)
    return _worker_connection.cursor()


def _refuse(*_args, **_kwargs):
    raise RuntimeError("a seed worker must not use the seed's database connection")


def _start_worker(params: dict) -> None:
    global _worker_params
    _worker_params = params
    # The inherited connection is the parent's socket: never use it, never close it.
    for alias in connections:
        wrapper = connections[alias]
        wrapper.connection = None
        wrapper.connect = _refuse
        wrapper.ensure_connection = _refuse


def _connection_params() -> dict:
    settings = connection.settings_dict
    params = {"dbname": settings["NAME"], "user": settings.get("USER") or None}
    for key, name in (("HOST", "host"), ("PORT", "port"), ("PASSWORD", "password")):
        if settings.get(key):
            params[name] = str(settings[key])
    return {k: v for k, v in params.items() if v is not None}


_build: Callable | None = None  # the chunk builder, inherited by the forked workers


def _call(index, inputs):
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE or "es"):
        return _build(index, inputs)


def run_chunks(
    chunks: Iterable,
    read: Callable,
    build: Callable,
    write: Callable,
    *,
    parallel: bool,
    workers: int | None = None,
) -> None:
    """For each chunk (in order): inputs = read(chunk) here, result = build(index, inputs)
    in a worker (or here), write(result) here, in chunk order. The workers are forked at
    the first chunk and inherit `build` (a bound method: the builder as loaded); inputs and
    results travel pickled."""
    global _build
    if not parallel:
        for index, chunk in enumerate(chunks):
            write(build(index, read(chunk)))
        return
    workers = workers or max(os.cpu_count() or 1, 2)
    _build = build
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(_connection_params(),),
    )
    pending: deque = deque()
    try:
        for index, chunk in enumerate(chunks):
            pending.append(pool.submit(_call, index, read(chunk)))
            while len(pending) >= workers * AHEAD:
                write(pending.popleft().result())
        while pending:
            write(pending.popleft().result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _build = None
