"""/estadisticas/: counts and amounts of published processes by catalog segment and family,
entity, department, period of the call, procedure type, object and winning supplier, against
hand-computed data; every count is what its linked search finds; CSV = page; bad parameters
are 400; the number of queries does not grow with the rows."""

import csv
import io
from decimal import Decimal as D
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from procurement.filters import ProcessFilter
from procurement.models import Entity, ProcurementProcess
from procurement.queries import public_processes
from tests.factories import EntityFactory, SupplierFactory
from tests.procurement.evaluating import awarded_tender
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db


def _found(url: str) -> int:
    """How many processes the search at `url` finds (ProcessFilter, as the page)."""
    process_filter = ProcessFilter(QueryDict(urlsplit(url).query), queryset=public_processes())
    assert process_filter.is_valid(), process_filter.errors
    return process_filter.qs.count()


@pytest.fixture
def data():
    """p1: entity A, one item 43211503 (450 000); p2: entity A, one item 44121701 (600 000);
    p3: entity B in Cusco, two items 43211503 (450 000 each: 900 000)."""
    a = EntityFactory(acronym="ENTA", ubigeo_id="150101")
    b = EntityFactory(acronym="ENTB", ubigeo_id="080101")
    p1 = published("Computadoras", entity=a)
    p2 = published("Útiles", value=D("600000"), catalog="44121701")
    # one plan per entity and year: the second process of A is moved there
    ProcurementProcess.objects.filter(pk=p2.pk).update(entity=a, sequence=2)
    p3 = published("Laptops", ("Uno", "Dos"), entity=b)
    return a, b, p1, p2, p3


def _table(client, **params):
    response = client.get("/estadisticas/", params)
    assert response.status_code == 200
    return {row.key: row for row in response.context["rows"]}, response


def test_by_segment_family_entity_and_department(client, data):
    a, b, p1, p2, p3 = data
    rows, response = _table(client, by="segment")
    assert {k: (r.count, r.total) for k, r in rows.items()} == {
        "43000000": (2, D("1350000")),
        "44000000": (1, D("600000")),
    }
    assert response.context["totals"] == {"count": 3, "total": D("1950000")}
    rows, _r = _table(client, by="family")
    assert {k: r.count for k, r in rows.items()} == {"43210000": 2, "44120000": 1}
    rows, _r = _table(client, by="entity")
    assert {k: (r.count, r.total) for k, r in rows.items()} == {
        a.ruc: (2, D("1050000")),
        b.ruc: (1, D("900000")),
    }
    rows, _r = _table(client, by="department")
    assert {k: (r.label, r.count) for k, r in rows.items()} == {
        "15": ("Lima", 2),
        "08": ("Cusco", 1),
    }


def test_every_count_is_what_its_search_finds(client, data):
    for by in ("segment", "family", "entity", "department", "month", "quarter", "year"):
        for year in ("", "2026"):
            rows, response = _table(client, by=by, year=year)
            assert rows, by
            for row in rows.values():
                assert _found(row.search_url) == row.count, (by, row)
                assert f'href="{row.search_url.replace("&", "&amp;")}"'.encode() in response.content


def test_by_procedure_type_object_and_periods(client, data):
    rows, _r = _table(client, by="procedure_type")
    assert {k: r.count for k, r in rows.items()} == {"LP": 3}
    rows, _r = _table(client, by="object_type")
    assert {k: r.count for k, r in rows.items()} == {"goods": 3}
    calls = sorted(p.call_date for p in public_processes())
    rows, _r = _table(client, by="month")
    expected = {}
    for day in calls:
        expected[day.strftime("%Y-%m")] = expected.get(day.strftime("%Y-%m"), 0) + 1
    assert {k: r.count for k, r in rows.items()} == expected
    rows, _r = _table(client, by="year")
    assert sum(r.count for r in rows.values()) == 3


def test_the_year_filter(client, data):
    ProcurementProcess.objects.filter(pk=data[2].pk).update(fiscal_year_id=2025)
    rows, response = _table(client, by="entity", year="2026")
    assert {k: r.count for k, r in rows.items()} == {data[0].ruc: 1, data[1].ruc: 1}
    assert response.context["totals"]["count"] == 2
    assert all("year=2026" in r.search_url for r in rows.values())


def test_by_winning_supplier():
    from django.test import Client

    _tender, award, people = awarded_tender()
    supplier = people[0][0]
    response = Client().get("/estadisticas/", {"by": "supplier"})
    rows = {row.key: row for row in response.context["rows"]}
    assert {k: (r.count, r.total) for k, r in rows.items()} == {supplier.ruc: (1, award.amount)}
    assert _found(rows[supplier.ruc].search_url) == 1
    other = SupplierFactory()
    assert other.ruc != supplier.ruc
    assert _found(f"/procesos/?supplier={other.ruc}") == 0  # another supplier won nothing
    assert Client().get("/procesos/", {"supplier": "123"}).status_code == 400
    page = Client().get(f"/procesos/{award.process.identifier}/").content.decode()
    assert 'href="/precios/44121701/"' in page  # the item's past prices


def test_the_csv_has_the_rows_of_the_page(client, data):
    for by in ("segment", "entity", "quarter"):
        rows, _r = _table(client, by=by)
        response = client.get("/estadisticas/", {"by": by, "format": "csv"})
        assert response["Content-Type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))
        assert lines[0] == ["clave", "nombre", "procesos", "monto", "busqueda"]
        assert [(line[0], int(line[2]), D(line[3])) for line in lines[1:]] == [
            (r.key, r.count, r.total) for r in rows.values()
        ]


def test_the_page_draws_a_bar_per_row_linking_to_the_search(client, data):
    rows, response = _table(client, by="entity")
    assert response.content.count(b"<rect ") == len(rows) == 2
    assert b"<svg" in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"by": "nada"},
        {"year": "9223372036854775808"},
        {"year": "-1"},
        {"year": "x" * 10_000},
        {"format": "xml"},
        {"year": "abc", "format": "csv"},
    ],
)
def test_bad_parameters_are_400(client, params):
    assert client.get("/estadisticas/", params).status_code == 400


def test_the_queries_do_not_grow_with_the_rows(client, data):
    def count(by):
        cache.clear()  # counted, not kept (statistics.counted)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/estadisticas/", {"by": by}).status_code == 200
        return len(queries)

    few = {by: count(by) for by in ("segment", "entity", "department", "month")}
    for n in range(4):
        published(f"Más {n}", entity=EntityFactory(ubigeo_id="040101"), catalog="44121701")
    assert {by: count(by) for by in few} == few
    assert Entity.objects.count() >= 6


def test_without_processes_the_page_says_so(client):
    response = client.get("/estadisticas/")
    assert response.status_code == 200
    assert response.context["rows"] == []
