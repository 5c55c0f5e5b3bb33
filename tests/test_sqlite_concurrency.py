"""The embedded default (SQLite) survives concurrent writes: ten identical POSTs at once to a
real threaded server end without a 5xx ("database is locked" was a 500 before IMMEDIATE
transactions and the busy timeout), and with one form token they create one row."""

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from core.idempotency import new_token

pytestmark = [
    pytest.mark.urlwalk,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
        reason="the embedded SQLite default: runs in the SQLite run of `make test`",
    ),
]
CSRF = "a" * 32
ITEM = {
    "object_type": "goods",
    "catalog_code": "44121701",
    "description": "Bolígrafos",
    "quantity": "10",
    "unit": "NIU",
    "estimated_value": "500.00",
    "procedure_type": "COMPRE",
    "planned_month": "3",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Run in the server's database: a staff member with a draft plan, logged in.
SETUP = """
import django
django.setup()
from django.test import Client
from tests.factories import draft_plan
version, staff = draft_plan()
client = Client()
client.force_login(staff)
print(version.pk, client.cookies["sessionid"].value)
"""


@pytest.fixture
def server(tmp_path):
    """A fresh embedded database in a file (migrated, reference data loaded), served by
    `runserver` (threaded, as `make run` serves it) on a free port."""
    database = tmp_path / "portal.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "CELERY_BROKER_URL": "",
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    base_dir = Path(settings.BASE_DIR)
    for command in (
        ["manage.py", "migrate", "-v0"],
        ["manage.py", "load_reference_data", "-v0"],
        ["-c", SETUP],
    ):
        done = subprocess.run(
            [sys.executable, *command],
            env=env,
            cwd=base_dir,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    version_id, session = done.stdout.split()
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            "--noreload",
            "--skip-checks",
            f"127.0.0.1:{port}",
        ],
        env=env,
        cwd=base_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/health/", timeout=2)  # noqa: S310 (our own server)
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the server did not start: " + process.stderr.read().decode()[-2000:])
            time.sleep(0.3)
    yield base, int(version_id), session, database
    process.terminate()
    process.wait(timeout=10)


def _race(url: str, session: str, data: dict, count: int = 10) -> list[int]:
    body = urllib.parse.urlencode(data).encode()
    barrier = threading.Barrier(count)
    statuses = []

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)

    def post():
        request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (our own server)
        request.add_header("Cookie", f"sessionid={session}; csrftoken={CSRF}")
        request.add_header("X-CSRFToken", CSRF)
        barrier.wait()
        try:
            with opener.open(request, timeout=60) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _items(database, version_id: int) -> int:
    with sqlite3.connect(database) as db:
        sql = "SELECT count(*) FROM procurement_planitem WHERE version_id = ?"
        return db.execute(sql, [version_id]).fetchone()[0]


def test_ten_identical_posts_at_once_end_without_5xx(server):
    base, version, session, database = server
    url = f"{base}/gestion/planes/{version}/items/"

    statuses = _race(url, session, ITEM)
    assert all(status < 500 for status in statuses), statuses
    assert statuses.count(302) == 10, statuses
    assert _items(database, version) == 10  # no token: ten submissions, ten items

    statuses = _race(url, session, {**ITEM, "form_token": new_token()})
    assert all(status < 500 for status in statuses), statuses
    assert _items(database, version) == 11  # one form submitted ten times: one item
