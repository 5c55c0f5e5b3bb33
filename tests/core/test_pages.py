import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import DatabaseError
from django.db.backends.utils import CursorWrapper

from tests.factories import EntityFactory, SupplierFactory, UserFactory, admin_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_home_is_in_spanish_by_default_even_for_english_browsers(client):
    EntityFactory()
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es">' in html
    assert "Portal de compras públicas" in html
    assert 'name="q"' in html and 'action="/procesos/"' in html


def test_english_is_one_click_away(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Public procurement portal" in html


def test_entity_list_filters_and_entity_page(client):
    minsa = EntityFactory(
        name="Ministerio de Salud", acronym="MINSA", level="national", sector_id="salud"
    )
    EntityFactory(name="Municipalidad Provincial del Cusco", acronym="MPC", ubigeo_id="080101")
    html = client.get("/entidades/", {"q": "salud"}).content.decode()
    assert "Ministerio de Salud" in html and "Provincial del Cusco" not in html
    html = client.get("/entidades/", {"department": "08"}).content.decode()
    assert "Municipalidad Provincial del Cusco" in html and "Ministerio de Salud" not in html
    response = client.get("/entidades/", {"sector": "no-such-sector", "page": "x"})
    assert response.status_code == 400 and "Escoja una opción válida" in response.content.decode()
    assert client.get("/entidades/", {"page": "x"}).status_code == 200
    response = client.get(f"/entidades/{minsa.ruc}/")
    assert response.status_code == 200 and "MINSA" in response.content.decode()
    assert client.get("/entidades/20000000000/").status_code == 404


def test_supplier_list_filters_by_size(client):
    SupplierFactory(legal_name="Micro Uno S.A.C.", size_class="micro")
    SupplierFactory(legal_name="Grande Dos S.A.", size_class="medium_or_large")
    html = client.get("/proveedores/", {"sme": "true"}).content.decode()
    assert "Micro Uno" in html and "Grande Dos" not in html


def test_health_reports_the_database_but_its_vendor_only_to_admins(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert json.loads(response.content) == {"database": "ok"}
    client.force_login(UserFactory())
    assert "database_vendor" not in client.get("/health/").json()
    client.force_login(admin_user())
    assert client.get("/health/").json()["database_vendor"] == "postgresql"


def test_health_hides_what_failed_from_strangers(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)  # the database is outside our code
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"database": "error"}


def test_every_page_carries_a_strict_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy
    client.force_login(admin_user())
    assert "Content-Security-Policy" in client.get("/admin/").headers


def test_templates_have_no_inline_script_or_style():
    """What the policy would block: inline <script>, <style>, style= and on...= handlers."""
    pattern = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", re.I)
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


def test_sessions_end_with_the_browser_and_after_eight_hours(client):
    user = UserFactory(password="a-long-password-2026")
    response = client.post(
        "/cuentas/ingresar/", {"username": user.email, "password": "a-long-password-2026"}
    )
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    assert client.session.get_expire_at_browser_close()
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


def test_pages_are_light(client):
    for _ in range(3):
        EntityFactory()
    for url in ["/", "/entidades/", "/cuentas/registro/", "/cuentas/ingresar/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert len(response.content) < 30_000, url
        assert b"<script" not in response.content


def _production_env(**overrides) -> dict:
    signing_key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-9f8e7d6c5b4a",
        "ALLOWED_HOSTS": "compras.example.gob.pe",
        "SITE_URL": "https://compras.example.gob.pe",
        "EMAIL_URL": "smtp+tls://portal:secret@smtp.example.gob.pe:587",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"),
        "PORTAL_SIGNING_KEY": signing_key.decode(),
        "BID_MASTER_KEY": Fernet.generate_key().decode(),
        **overrides,
    }


def test_check_deploy_is_clean_under_production_settings():
    env = _production_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("SECRET_KEY", "SECRET_KEY must be set"),
        ("PORTAL_SIGNING_KEY", "PORTAL_SIGNING_KEY (or PORTAL_SIGNING_KEY_FILE) must be set"),
        ("BID_MASTER_KEY", "BID_MASTER_KEY (or BID_MASTER_KEY_FILE) must be set"),
    ],
)
def test_production_settings_refuse_a_missing_key(variable, expected):
    env = _production_env(**{variable: ""})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert expected in result.stderr


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"PORTAL_SIGNING_KEY": "not a key"}, "core.E001"),
        ({"BID_MASTER_KEY": "too-short"}, "core.E002"),
        # E-mailed reset links would point at http://127.0.0.1:8000.
        ({"SITE_URL": ""}, "core.E003"),
        ({"SITE_URL": "http://compras.example.gob.pe"}, "core.E003"),
    ],
)
def test_check_deploy_refuses_a_malformed_key(overrides, check_id):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=_production_env(**overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert check_id in result.stderr + result.stdout


def test_check_deploy_refuses_a_key_file_others_can_read(tmp_path):
    key_file = tmp_path / "portal_signing_key.pem"
    key_file.write_bytes(_production_env()["PORTAL_SIGNING_KEY"].encode())
    key_file.chmod(0o644)
    env = _production_env(PORTAL_SIGNING_KEY="", PORTAL_SIGNING_KEY_FILE=str(key_file))
    command = [sys.executable, "manage.py", "check", "--deploy"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "core.E004" in result.stderr + result.stdout
    key_file.chmod(0o600)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
