"""The search form's selects are written once per language (core.widgets.FastSelect with an
options_key), and the sector and department selects once per version of those rows
(core.reference_versions): a sector or department added, renamed or deleted must show on the
next page, in each language, and a page that reuses the options must read neither table."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core import reference_versions
from core.models import Department, Sector

pytestmark = pytest.mark.django_db


def _select(name: str, language: str = "es", params=None) -> str:
    client = Client()
    client.cookies["django_language"] = language
    response = client.get("/procesos/", params or {})
    assert response.status_code == 200
    return re.search(rf'<select name="{name}".*?</select>', response.content.decode(), re.S)[0]


def _reads(table: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        _select("sector")
    return sum(f'FROM "{table}"' in query["sql"] for query in captured)


def test_a_page_that_reuses_the_options_reads_no_sector_nor_department():
    _select("sector")  # written
    assert _reads("core_sector") == 0
    assert _reads("core_department") == 0


def test_a_sector_saved_shows_on_the_next_page_in_each_language():
    for language in ("es", "en"):
        _select("sector", language)  # both languages written
    sector = Sector.objects.create(code="pesca", name_es="Pesquería", name_en="Fisheries")
    assert '<option value="pesca">Pesquería</option>' in _select("sector", "es")
    assert '<option value="pesca">Fisheries</option>' in _select("sector", "en")
    sector.name_es, sector.name_en = "Pesca y acuicultura", "Fishing and aquaculture"
    sector.save()
    assert '<option value="pesca">Pesca y acuicultura</option>' in _select("sector", "es")
    assert '<option value="pesca">Fishing and aquaculture</option>' in _select("sector", "en")
    sector.delete()
    assert 'value="pesca"' not in _select("sector", "es")
    assert 'value="pesca"' not in _select("sector", "en")


def test_a_department_renamed_shows_on_the_next_page():
    assert ">Lima</option>" in _select("department")
    lima = Department.objects.get(code="15")
    lima.name = "Lima Metropolitana"
    lima.save()
    assert ">Lima Metropolitana</option>" in _select("department")


def test_a_change_in_bulk_shows_once_it_is_announced():
    # bulk writes send no signal (load_reference_data announces its own): changed() does it
    _select("department")
    Department.objects.filter(code="15").update(name="Lima Provincias")
    reference_versions.changed(Department)
    assert ">Lima Provincias</option>" in _select("department")


def test_the_chosen_option_is_selected_in_the_reused_options():
    _select("department")
    html = _select("department", params={"department": "15"})
    assert html.count(" selected>") == 1 and '<option value="15" selected>' in html
    html = _select("status", params={"status": "convocado"})
    assert html.count(" selected>") == 1 and '<option value="convocado" selected>' in html
    html = _select("status")
    assert html.count(" selected>") == 1 and '<option value="" selected>' in html


def test_the_static_choices_follow_the_language():
    assert _select("status", "es") != _select("status", "en")
    assert _select("status", "es") == _select("status", "es")
