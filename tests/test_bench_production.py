"""The benches measure under production settings (bench/production.py): in a fresh process,
DEBUG and the template engine's debug are off, the keys are read from the scratch directory,
static files resolve through the manifest, and a page answers the bench's client (over HTTPS
through the proxy) instead of redirecting it; BENCH_DEBUG=1 gives the development settings."""

import json
import os
import subprocess
import sys

from django.conf import settings

SCRIPT = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
from bench import production
production.apply(sys.argv[1])
django.setup()
line = production.prepare()
from django.conf import settings
from django.template import engines
from django.templatetags.static import static
from core import keys
keys.portal_signing_key_pem(); keys.bid_master_key()
from django.test import Client
settings.ALLOWED_HOSTS = ["*"]
page = "/recibos/clave-publica.pem"
print(json.dumps({
    "line": line,
    "debug": settings.DEBUG,
    "template_debug": engines["django"].engine.debug,
    "static": static("css/portal.css") if not settings.DEBUG else "",
    "bench_client": production.page_client().get(page).status_code,
    "plain_client": Client().get(page).status_code,
}))
"""


def _run(tmp_path, **extra) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(VAR_DIR=str(tmp_path / "var"), **extra)
    finished = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-c", SCRIPT, str(tmp_path / "scratch")],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_the_benches_run_with_debug_off_by_default(tmp_path):
    found = _run(tmp_path)
    assert found["line"] == "settings: DEBUG off (production settings)"
    assert found["debug"] is False
    assert found["template_debug"] is False
    assert found["static"].startswith("/static/css/portal.") and found["static"] != (
        "/static/css/portal.css"
    )  # the manifest's hashed name: collected into the scratch directory
    assert (tmp_path / "scratch" / "static" / "staticfiles.json").exists()
    assert found["bench_client"] == 200
    assert found["plain_client"] == 301  # DEBUG off redirects plain HTTP to HTTPS


def test_bench_debug_measures_with_debug_on(tmp_path):
    found = _run(tmp_path, BENCH_DEBUG="1")
    assert found["line"].startswith("settings: DEBUG on")
    assert found["debug"] is True
    assert found["template_debug"] is True
    assert found["bench_client"] == 200
