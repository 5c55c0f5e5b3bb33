"""The public process search (ProcessFilter): each filter alone and combined, on the page and
its CSV; bad values are form errors."""

import csv
import io
from datetime import timedelta
from decimal import Decimal as D

import pytest

from core import clock
from core.workdays import WorkingCalendar
from tests.factories import EntityFactory
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Three called processes: `lima` and `sme` called on `day`; `cusco` (a regional health
    entity, two items, pens) called 18 working days earlier, so on `day` it is taking bids."""
    calendar = WorkingCalendar()
    early = calendar.next_working_day(clock.today() - timedelta(days=40))
    day = calendar.add_working_days(early, 18)
    cusco_entity = EntityFactory(
        name="Dirección Regional de Salud Cusco",
        acronym="DIRESACUSCO",
        level="regional",
        sector_id="salud",
        ubigeo_id="080101",
    )
    cusco = published(
        "Bolígrafos y útiles de escritorio",
        items=["Bolígrafos azules", "Bolígrafos rojos"],
        entity=cusco_entity,
        catalog="44121701",
        call=early,
    )
    lima = published("Computadoras de escritorio", call=day)
    sme = published(
        "Sillas ergonómicas", catalog="44121701", value=D("420000"), sme_reserved=True, call=day
    )
    return {"lima": lima, "cusco": cusco, "sme": sme, "day": day}


def _found(client, world, **params) -> set[str]:
    with clock.pinned(world["day"]):
        response = client.get("/procesos/", params)
        assert response.status_code == 200, (params, response.context["filter"].errors)
        page = {p.pk for p in response.context["page"]}
        exported = client.get("/procesos/", {**params, "format": "csv"})
        rows = list(csv.reader(io.StringIO(exported.getvalue().decode("utf-8-sig"))))[1:]
    names = {world[k].pk: k for k in ("lima", "cusco", "sme")}
    identifiers = {world[k].identifier: k for k in ("lima", "cusco", "sme")}
    shown = {names[pk] for pk in page if pk in names}
    assert shown == {identifiers[row[0]] for row in rows if row[0] in identifiers}, params
    return shown


def test_each_filter_alone(client, world):
    day = world["day"]
    cases = [
        ({}, {"lima", "cusco", "sme"}),
        ({"sector": "salud"}, {"cusco"}),
        ({"level": "regional"}, {"cusco"}),
        ({"department": "08"}, {"cusco"}),
        ({"ubigeo": "08"}, {"cusco"}),
        ({"ubigeo": "0801"}, {"cusco"}),
        ({"ubigeo": "150101"}, {"lima", "sme"}),
        ({"entity": "diresacusco"}, {"cusco"}),
        ({"entity": world["cusco"].entity.ruc}, {"cusco"}),
        ({"catalog": "43210000"}, {"lima"}),  # a family finds its commodities
        ({"catalog": "44"}, {"cusco", "sme"}),  # a segment too
        ({"sme_only": "true"}, {"sme"}),
        ({"min_value": "800000"}, {"cusco"}),
        ({"max_value": "450000"}, {"lima", "sme"}),
        ({"call_from": day.isoformat()}, {"lima", "sme"}),
        ({"call_to": (day - timedelta(days=1)).isoformat()}, {"cusco"}),
        ({"deadline_to": (day + timedelta(days=10)).isoformat()}, {"cusco"}),
        ({"deadline_from": (day + timedelta(days=20)).isoformat()}, {"lima", "sme"}),
        ({"stage": "convocatoria"}, {"lima", "sme"}),
        ({"stage": "ofertas"}, {"cusco"}),
        ({"stage": "registro"}, {"lima", "cusco", "sme"}),
        ({"stage": "contrato"}, set()),
        ({"status": "convocado"}, {"lima", "cusco", "sme"}),
        ({"status": "adjudicado"}, set()),
        ({"procedure_type": "LP"}, {"lima", "cusco", "sme"}),
        ({"procedure_type": "AS"}, set()),
        ({"object_type": "goods"}, {"lima", "cusco", "sme"}),
        ({"q": "boligrafo"}, {"cusco"}),
        ({"year": "2026"}, {"lima", "cusco", "sme"}),
        ({"year": "2025"}, set()),
    ]
    for params, expected in cases:
        assert _found(client, world, **params) == expected, params


def test_filters_combine(client, world):
    assert _found(client, world, sector="salud", stage="ofertas") == {"cusco"}
    assert _found(client, world, sector="salud", stage="convocatoria") == set()
    assert _found(client, world, q="sillas", sme_only="true") == {"sme"}
    assert _found(client, world, catalog="44", max_value="450000") == {"sme"}
    assert _found(client, world, ubigeo="15", q="computadoras", min_value="1") == {"lima"}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"call_from": "2026-03-10", "call_to": "2026-03-01"}, "call_to"),
        ({"deadline_from": "2026-03-10", "deadline_to": "2026-03-01"}, "deadline_to"),
        ({"min_value": "10", "max_value": "5"}, "max_value"),
        ({"call_from": "2026-02-30"}, "call_from"),
        ({"deadline_to": "0001-01-01"}, "deadline_to"),
        ({"ubigeo": "0"}, "ubigeo"),
        ({"ubigeo": "15010"}, "ubigeo"),
        ({"ubigeo": "lima"}, "ubigeo"),
        ({"sector": "no-such-sector"}, "sector"),
        ({"level": "federal"}, "level"),
        ({"stage": "siesta"}, "stage"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_values_are_form_errors_on_the_page_and_the_csv(client, params, field):
    response = client.get("/procesos/", params)
    assert response.status_code == 400
    assert field in response.context["filter"].errors
    exported = client.get("/procesos/", {**params, "format": "csv"})
    assert exported.status_code == 400
    assert f"{field}:" in exported.content.decode()


@pytest.mark.parametrize(
    ("start", "end", "low", "high"),
    [
        ("call_from", "call_to", "2026-03-10", "2026-03-09"),
        ("deadline_from", "deadline_to", "2026-03-10", "2026-03-09"),
        ("min_value", "max_value", "10", "9.99"),
    ],
)
def test_a_reversed_range_is_an_error_on_its_end_and_an_equal_one_is_fine(
    client, start, end, low, high
):
    """core.filtering.OrderedRangesForm, in Spanish by default."""
    response = client.get("/procesos/", {start: low, end: high})
    assert response.status_code == 400
    assert response.context["filter"].errors == {
        end: ["El final del rango es anterior a su inicio."]
    }
    assert "El final del rango es anterior a su inicio." in response.content.decode()
    assert client.get("/procesos/", {start: low, end: low}).status_code == 200
    assert client.get("/procesos/", {start: high, end: low}).status_code == 200
