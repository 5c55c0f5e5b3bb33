"""`make run`'s background work, on real parts: a Celery worker with embedded beat on kombu's
filesystem transport (CELERY_BROKER_URL=filesystem://, what the Makefile starts beside the web
server) takes the tasks the web process queues as files, so the verification e-mail reaches
a real SMTP server (aiosmtpd), and its beat runs the periodic tasks (an audit anchor is
published without anyone asking)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.celery import app as celery_app
from tests.accounts.test_verification_email_integration import register_rosa
from tests.real_parts import database_url, wait_for

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration


@pytest.fixture
def run_worker(smtp_server, tmp_path, monkeypatch):
    var = tmp_path / "var"
    queue = var / "celery" / "queue"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": "filesystem://",
        "VAR_DIR": str(var),
        "ANCHOR_DIR": str(var / "anchors"),
        "AUDIT_ANCHOR_INTERVAL": "1",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server[1]}",
    }
    env.pop("CELERY_QUEUE", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "--pool", "solo"]
        + ["-l", "warning", "--schedule", str(tmp_path / "beat-schedule")],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    worker.log = tmp_path / "worker.log"
    conf = celery_app.conf
    previous = (
        conf.broker_url,
        conf.broker_transport_options,
        conf.task_always_eager,
        conf.task_default_queue,
    )
    queue.mkdir(parents=True, exist_ok=True)
    # Celery reads the broker from CELERY_BROKER_URL before its settings, as the web process
    # of `make run` gets it.
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    conf.broker_url, conf.task_always_eager = "filesystem://", False
    conf.task_default_queue = "portal"
    conf.broker_transport_options = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(var / "celery" / "control"),
        "store_processed": False,
    }
    celery_app._after_fork()
    yield worker, var
    (
        conf.broker_url,
        conf.broker_transport_options,
        conf.task_always_eager,
        conf.task_default_queue,
    ) = previous
    monkeypatch.undo()
    celery_app._after_fork()
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def test_the_run_worker_sends_queued_mail_and_runs_beat(transactional_db, smtp_server, run_worker):
    inbox, _port = smtp_server
    worker, var = run_worker
    register_rosa()
    wait_for(lambda: inbox.messages, worker, "no e-mail reached the SMTP server", 20)
    assert inbox.messages[0][0] == ["rosa@textiles.pe"]
    anchors = var / "anchors"
    wait_for(
        lambda: any(p.stat().st_size for p in anchors.glob("anchors-*.jsonl")),
        worker,
        "beat published no audit anchor",
    )
