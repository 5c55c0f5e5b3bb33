"""End to end on real parts: the registration commits with its e-mail in the outbox, a real
Celery worker takes the dispatch task from the real Redis and sends the verification e-mail
to a real SMTP server (aiosmtpd), under the event's Message-ID, and marks the event sent."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from config.celery import app as celery_app
from core.models import District
from notifications.models import Event, EventKind
from suppliers.services import register_supplier

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


class Inbox:
    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def celery_worker_process(smtp_server):
    broker = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": queue,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server[1]}",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    previous = (
        celery_app.conf.broker_url,
        celery_app.conf.task_default_queue,
        celery_app.conf.task_always_eager,
    )
    celery_app.conf.broker_url, celery_app.conf.task_default_queue = broker, queue
    celery_app.conf.task_always_eager = False
    # Connections pooled under another broker would outlive the change: drop them, as
    # Celery itself does after a fork.
    celery_app._after_fork()
    yield worker
    (
        celery_app.conf.broker_url,
        celery_app.conf.task_default_queue,
        celery_app.conf.task_always_eager,
    ) = previous
    celery_app._after_fork()
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def register_rosa():
    """A supplier registration, whose verification e-mail goes to rosa@textiles.pe."""
    return register_supplier(
        ruc="20131312955",
        legal_name="Textiles del Cusco S.A.C.",
        domicile=District.objects.get(code="080108"),
        email="rosa@textiles.pe",
        password="Alpaca-Andina-2026",
        full_name="Rosa Quispe",
        sales_year=2025,
        annual_sales=350000,
        workers=6,
    )


def test_registration_mail_goes_through_a_real_worker_and_smtp_server(
    transactional_db, smtp_server, celery_worker_process
):
    inbox, _port = smtp_server
    register_rosa()
    deadline = time.monotonic() + 60
    while not inbox.messages and time.monotonic() < deadline:
        if celery_worker_process.poll() is not None:
            pytest.fail(
                "the Celery worker stopped:\n" + celery_worker_process.stdout.read().decode()
            )
        time.sleep(0.2)
    assert inbox.messages, "no e-mail reached the SMTP server within 60 s"
    recipients, content = inbox.messages[0]
    assert recipients == ["rosa@textiles.pe"]
    text = content.decode("utf-8", "replace")
    assert "/cuentas/verificar/" in text
    event = Event.objects.get(kind=EventKind.ACCOUNT_VERIFICATION)
    assert f"Message-ID: <event-{event.pk}@" in text
    while event.dispatched_at is None and time.monotonic() < deadline:
        time.sleep(0.2)  # the worker records the send when its batch commits
        event.refresh_from_db()
    assert event.dispatched_at is not None and event.attempts == 1
    assert len(inbox.messages) == 1
