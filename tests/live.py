"""Real services for integration tests and benchmarks: an SMTP server (aiosmtpd) that keeps
what it receives, Celery worker processes on the real broker, and this process's Celery app
pointed at the same broker and queue. The pytest fixtures (tests.accounts.
test_verification_email_integration) and bench/notices.py are thin users of these."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BROKER = "redis://127.0.0.1:6379/15"


class Inbox:
    """What the SMTP server accepted: (recipients, content), and when (time.monotonic())."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.received_at: list[float] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content))
        self.received_at.append(time.monotonic())
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def smtp_server():
    """An SMTP server on a free loopback port: yields (inbox, port)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def database_url() -> str:
    database = settings.DATABASES["default"]
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def start_worker(*, broker: str, queue: str, smtp_port: int, output=subprocess.PIPE):
    """A Celery worker process (solo pool: one task at a time) on `broker`, taking `queue`,
    reading this process's database and sending mail to the SMTP server on `smtp_port`.
    Celery reads CELERY_BROKER_URL from the environment before the settings: it is passed."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": queue,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    return subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue]
        + ["--pool", "solo", "-l", "warning"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def stop_worker(worker) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@contextlib.contextmanager
def celery_app_on(broker: str, queue: str):
    """This process's Celery app sends its tasks to `broker` and `queue`, not eagerly."""
    from config.celery import app as celery_app

    conf = celery_app.conf
    previous = (conf.broker_url, conf.task_default_queue, conf.task_always_eager)
    conf.broker_url, conf.task_default_queue, conf.task_always_eager = broker, queue, False
    # Connections pooled under another broker would outlive the change: drop them, as
    # Celery itself does after a fork.
    celery_app._after_fork()
    try:
        yield celery_app
    finally:
        conf.broker_url, conf.task_default_queue, conf.task_always_eager = previous
        celery_app._after_fork()


def new_queue(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
