import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import EntityFactory, SupplierFactory

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


def test_health_reports_the_database(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert json.loads(response.content)["database"] == "ok"


def test_pages_are_light(client):
    for _ in range(3):
        EntityFactory()
    for url in ["/", "/entidades/", "/cuentas/registro/", "/cuentas/ingresar/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert len(response.content) < 30_000, url
        assert b"<script" not in response.content


def test_check_deploy_is_clean_under_production_settings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-9f8e7d6c5b4a",
        "ALLOWED_HOSTS": "compras.example.gob.pe",
        "EMAIL_URL": "smtp+tls://portal:secret@smtp.example.gob.pe:587",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"),
    }
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


def test_production_settings_refuse_a_missing_secret_key():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
