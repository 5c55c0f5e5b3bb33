"""Real parts for the integration tests: an SMTP server (aiosmtpd) that keeps what it
accepts, Celery workers run as their own processes on a real broker, and a private
redis-server a test may kill and start again (never the machine's shared one)."""

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


class Inbox:
    """What the SMTP server accepted: (envelope recipients, raw message) in arrival order.
    `delay` holds each message that long before accepting it (a slow server)."""

    def __init__(self, delay: float = 0):
        self.messages: list[tuple[list[str], bytes]] = []
        self.received_at: list[float] = []  # time.monotonic() of each (bench/notices.py)
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append((envelope.rcpt_tos, envelope.content))
        self.received_at.append(time.monotonic())
        return "250 Message accepted"

    def message_ids(self) -> list[str]:
        """The Message-ID of every accepted message, duplicates included."""
        return [MESSAGE_ID.search(content).group(1).decode() for _to, content in self.messages]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_running(inbox: Inbox | None = None):
    """An SMTP server on a free loopback port while the block runs: (inbox, port). `inbox`
    may be an Inbox of the test's own (one that refuses some addresses, say)."""
    inbox = inbox or Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    with smtp_running() as running:
        yield running


def new_queue(prefix: str = "test") -> str:
    """A queue name of its own, so that no other test's or run's tasks are taken."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def database_url() -> str:
    """The test database, as a worker process must be told."""
    database = settings.DATABASES["default"]
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def start_worker(*, broker, queue, smtp_port, log: Path, args=("--pool", "solo"), env=None):
    """A Celery worker process on `broker` taking `queue`, sending mail to the SMTP server on
    `smtp_port`; its output goes to `log` (read by wait_for when it stops). It leads its own
    process group, so stop_worker(..., signal.SIGKILL) kills its pool children with it, as a
    crash of the machine or container would. Celery reads CELERY_BROKER_URL from the
    environment before its settings: the broker goes there."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-l", "warning"]
        + list(args),
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker,
            "CELERY_QUEUE": queue,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            **(env or {}),
        },
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker.log = log
    return worker


def stop_worker(worker, sig=signal.SIGTERM) -> None:
    """Stop the worker and its pool children: SIGTERM lets it finish the tasks at hand,
    SIGKILL is a crash."""
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    with suppress(ProcessLookupError):  # children a SIGTERM left behind
        os.killpg(worker.pid, signal.SIGKILL)


@contextmanager
def tasks_sent_to(broker: str, queue: str):
    """Tasks this test process sends go to `queue` on `broker` (not run in-process). Celery
    reads CELERY_BROKER_URL from the environment before its settings: it goes there too."""
    conf = celery_app.conf
    previous = (conf.broker_url, conf.task_default_queue, conf.task_always_eager)
    previous_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker
    conf.broker_url, conf.task_default_queue, conf.task_always_eager = broker, queue, False
    # Connections pooled under another broker would outlive the change: drop them, as
    # Celery itself does after a fork.
    celery_app._after_fork()
    try:
        yield
    finally:
        conf.broker_url, conf.task_default_queue, conf.task_always_eager = previous
        if previous_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_env
        celery_app._after_fork()


def wait_for(condition, worker, what: str, seconds: float = 60):
    """Poll `condition` until it holds; fail naming `what` after `seconds`, or at once when
    the worker stopped, with the worker's log."""
    deadline = time.monotonic() + seconds
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the Celery worker stopped:\n{worker.log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s; the worker's log:\n{worker.log.read_text()}")
        time.sleep(0.2)


@pytest.fixture
def celery_workers(smtp_server, tmp_path):
    """Starts workers (start_worker's arguments but the SMTP port and log) and stops every
    one it started when the test ends."""
    started = []

    def start(**kwargs):
        log = tmp_path / f"worker-{len(started) + 1}.log"
        started.append(start_worker(smtp_port=smtp_server[1], log=log, **kwargs))
        return started[-1]

    yield start
    for worker in started:
        stop_worker(worker)


@pytest.fixture
def celery_worker_process(celery_workers):
    """One worker (solo pool) on the configured Redis, on a queue of its own."""
    broker = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"
    queue = new_queue()
    worker = celery_workers(broker=broker, queue=queue)
    with tasks_sent_to(broker, queue):
        yield worker


class RedisServer:
    """A redis-server of the test's own on a free port, keeping nothing on disk: killed and
    started again, it comes back empty, as a broker that lost its messages."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is missing: install Debian's redis-server package")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=(self.directory / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "redis-server did not start:\n" + (self.directory / "redis.log").read_text()
                    ) from None
                time.sleep(0.1)
        client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis_server(tmp_path):
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    server.start()
    yield server
    server.kill()
