"""/estadisticas/ narrowed by the search's own filters (ProcessFilter): for every grouping and
a range of filters, each row's count is what the search its figure links to finds, the
totals are that search's, the CSV has the page's rows, bad values are form errors (400), and
the number of queries does not grow with the rows."""

import csv
import io
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from core import clock
from core.workdays import WorkingCalendar
from procurement import statistics
from procurement.filters import ProcessFilter
from procurement.models import ProcurementProcess
from procurement.queries import public_processes
from procurement.tasks import warm_statistics
from tests.factories import EntityFactory
from tests.procurement.evaluating import awarded_tender
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db


def _found(url: str) -> int:
    """How many processes the search at `url` finds (ProcessFilter over what /procesos/ lists)."""
    process_filter = ProcessFilter(QueryDict(urlsplit(url).query), queryset=public_processes())
    assert process_filter.is_valid(), process_filter.errors
    return process_filter.qs.count()


@pytest.fixture
def world():
    """Four processes of four entities: `lima` (national, 43211503) called on `early`, the
    first working day of a month; `lima_sme` (another Lima entity, health, SMEs only) three
    working days later, the same month; `cusco` (regional, health, two pen items) and `arequipa`
    (local, a simplified award of services, SMEs only) about six weeks later."""
    calendar = WorkingCalendar()
    months_ago = clock.today().replace(day=1) - timedelta(days=80)
    early = calendar.next_working_day(months_ago.replace(day=1))
    near = calendar.add_working_days(early, 3)
    later = calendar.add_working_days(early, 30)
    lima = published("Computadoras", entity=EntityFactory(ubigeo_id="150101"), call=early)
    lima_sme = published(
        "Laptops",
        entity=EntityFactory(ubigeo_id="150101", sector_id="salud"),
        call=near,
    )
    cusco = published(
        "Bolígrafos",
        ("Azules", "Rojos"),
        entity=EntityFactory(ubigeo_id="080101", level="regional", sector_id="salud"),
        catalog="44121701",
        call=later,
    )
    arequipa = published(
        "Limpieza", entity=EntityFactory(ubigeo_id="040101", level="local"), call=later
    )
    ProcurementProcess.objects.filter(pk=lima_sme.pk).update(sme_only=True)
    ProcurementProcess.objects.filter(pk=arequipa.pk).update(
        procedure_type="AS", object_type="services", sme_only=True
    )
    return {
        "lima": lima,
        "lima_sme": lima_sme,
        "cusco": cusco,
        "arequipa": arequipa,
        "early": early,
        "near": near,
        "later": later,
    }


def _filters(world) -> list[dict]:
    return [
        {},
        {"department": "15"},
        {"sector": "salud"},
        {"level": "regional"},
        {"procedure_type": "AS"},
        {"object_type": "goods"},
        {"sme_only": "true"},
        {"sme_only": "false", "department": "15"},
        {"call_from": world["near"].isoformat()},
        {"call_from": world["near"].isoformat(), "call_to": world["later"].isoformat()},
        {"call_to": world["near"].isoformat()},
        {"catalog": "43000000"},
        {"catalog": "44121701"},
        {"catalog": "4412"},
        {"entity": world["cusco"].entity.ruc},
        {"year": str(world["lima"].fiscal_year_id)},
        {"ubigeo": "0401"},
    ]


def _page(client, **params):
    response = client.get("/estadisticas/", params)
    assert response.status_code == 200, response.context["filter"].errors
    return response


def test_every_figure_is_what_its_search_finds_under_every_filter(client, world):
    for params in _filters(world):
        expected = _found("/procesos/?" + "&".join(f"{k}={v}" for k, v in params.items()))
        for by in statistics.DIMENSIONS:
            response = _page(client, by=by, **params)
            assert response.context["totals"]["count"] == expected, (params, by)
            assert _found(response.context["all_url"]) == expected
            rows = response.context["rows"]
            if expected and by != "supplier":  # nothing is awarded in this world
                assert rows, (params, by)
            for row in rows:
                assert _found(row.search_url) == row.count, (params, by, row)
                # the row's search is the page's filters (a range or code narrowed to the
                # row's) plus its group's parameter
                linked = {k: v[0] for k, v in parse_qs(urlsplit(row.search_url).query).items()}
                assert set(params) <= set(linked), (params, row)
                narrowed = ("call_from", "call_to", "catalog")
                assert all(linked[k] == v for k, v in params.items() if k not in narrowed)


def test_the_filters_narrow_the_counts(client, world):
    counts = {}
    for params in _filters(world):
        rows = _page(client, by="entity", **params).context["rows"]
        counts[tuple(params.items())] = {row.key: row.count for row in rows}
    lima, lima_sme = world["lima"].entity.ruc, world["lima_sme"].entity.ruc
    cusco, arequipa = world["cusco"].entity.ruc, world["arequipa"].entity.ruc
    assert counts[()] == {lima: 1, lima_sme: 1, cusco: 1, arequipa: 1}
    assert counts[(("department", "15"),)] == {lima: 1, lima_sme: 1}
    assert counts[(("sector", "salud"),)] == {lima_sme: 1, cusco: 1}
    assert counts[(("procedure_type", "AS"),)] == {arequipa: 1}
    assert counts[(("sme_only", "true"),)] == {lima_sme: 1, arequipa: 1}
    assert counts[(("sme_only", "false"), ("department", "15"))] == {lima: 1}
    assert counts[(("catalog", "4412"),)] == {cusco: 1}


def test_a_call_range_cuts_the_periods_it_starts_or_ends_in(client, world):
    """The month of `early` and `near` counts only `near` from `near` on, and its link says
    from `near` (the month's first day would find `lima` too)."""
    near = world["near"]
    rows = _page(client, by="month", call_from=near.isoformat()).context["rows"]
    first = rows[0]
    assert first.key == near.strftime("%Y-%m")
    assert first.count == 1
    assert first.params["call_from"] == near.isoformat()
    assert _found(first.search_url) == 1
    everything = _page(client, by="month").context["rows"]
    assert everything[0].count == 2  # without the range: `lima` and `lima_sme`
    assert everything[0].params["call_from"] == near.replace(day=1).isoformat()
    rows = _page(client, by="quarter", call_to=near.isoformat()).context["rows"]
    assert [(r.count, r.params["call_to"]) for r in rows] == [(2, near.isoformat())]


def test_products_at_each_catalog_level(client, world):
    by_level = {
        by: {r.key: r.count for r in _page(client, by=by).context["rows"]}
        for by in ("segment", "family", "class", "commodity")
    }
    assert by_level == {
        "segment": {"43000000": 3, "44000000": 1},
        "family": {"43210000": 3, "44120000": 1},
        "class": {"43211500": 3, "44121700": 1},
        "commodity": {"43211503": 3, "44121701": 1},
    }
    # under a finer catalog filter a coarser level shows the filter's code: one search each
    rows = _page(client, by="segment", catalog="43211503").context["rows"]
    assert [(r.key, r.count, r.params["catalog"]) for r in rows] == [("43211503", 3, "43211503")]


def test_the_amounts_are_the_sums_of_the_counted(client, world):
    rows = _page(client, by="department").context["rows"]
    values = {p.entity.ubigeo_id[:2]: 0 for p in public_processes()}
    for process in public_processes():
        values[process.entity.ubigeo_id[:2]] += process.estimated_value
    assert {r.key: r.total for r in rows} == values
    rows = _page(client, by="family", department="08").context["rows"]
    assert [(r.key, r.total) for r in rows] == [("44120000", world["cusco"].estimated_value)]


def test_the_winning_supplier_under_a_supplier_filter():
    from django.test import Client

    _tender, award, people = awarded_tender(bidders=2)
    winner = award.supplier
    client = Client()
    for by in ("supplier", "segment", "entity", "month"):
        response = client.get("/estadisticas/", {"by": by, "supplier": winner.ruc})
        assert response.status_code == 200
        rows = response.context["rows"]
        assert [r.count for r in rows] == [1], by
        assert _found(rows[0].search_url) == 1
    loser = next(s for s, _u in people if s.pk != winner.pk)
    response = client.get("/estadisticas/", {"by": "supplier", "supplier": loser.ruc})
    assert response.context["rows"] == []
    assert response.context["totals"]["count"] == 0


def test_the_csv_of_every_grouping_has_the_rows_of_its_page(client, world):
    for by in statistics.DIMENSIONS:
        params = {"by": by, "department": "15"}
        rows = _page(client, **params).context["rows"]
        response = client.get("/estadisticas/", params | {"format": "csv"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))
        assert lines[0] == ["clave", "nombre", "procesos", "monto", "busqueda"]
        assert [(line[0], line[1], int(line[2]), line[4]) for line in lines[1:]] == [
            (r.key, r.label, r.count, r.search_url) for r in rows
        ], by
        for line in lines[1:3]:
            assert _found(line[4]) == int(line[2])


@pytest.mark.parametrize(
    "params",
    [
        {"department": "99"},
        {"sector": "nada"},
        {"level": "federal"},
        {"procedure_type": "XX"},
        {"object_type": "cosas"},
        {"call_from": "2026-02-30"},
        {"call_from": "2026-05-01", "call_to": "2026-04-01"},
        {"call_from": "1700-01-01"},
        {"catalog": "4" * 30},
        {"supplier": "123"},
        {"ubigeo": "1"},
        {"by": "class", "min_value": "-5"},
        {"by": "product"},
    ],
)
def test_bad_filter_values_are_form_errors(client, params):
    response = client.get("/estadisticas/", params)
    assert response.status_code == 400
    assert b'role="alert"' in response.content
    assert client.get("/estadisticas/", params | {"format": "csv"}).status_code == 400


def test_the_queries_do_not_grow_with_the_rows(client, world):
    params = {"sme_only": "false", "call_to": date(2199, 1, 1).isoformat()}

    def count(by):
        cache.clear()  # counted, not kept
        with CaptureQueriesContext(connection) as queries:
            _page(client, by=by, **params)
        return len(queries)

    before = {by: count(by) for by in statistics.DIMENSIONS}
    for n in range(4):
        published(
            f"Más {n}",
            entity=EntityFactory(ubigeo_id=f"{5 + n:02d}0101", level="local"),
            catalog="44121701",
            call=world["later"] + timedelta(days=40 * n),
        )
    assert {by: count(by) for by in statistics.DIMENSIONS} == before


def test_the_page_is_labelled_and_in_both_languages(client, world):
    page = _page(client, by="department").content.decode()
    assert '<label for="id_by">' in page
    assert '<label for="id_department">' in page
    assert "<caption>" in page and "<desc " in page and '<th scope="row">15</th>' in page
    assert "Estadísticas de compras" in page and "Agrupar por" in page
    client.cookies["django_language"] = "en"
    english = client.get("/estadisticas/", {"by": "class"})
    assert "Purchase statistics" in english.content.decode()
    assert "Catalog class" in english.content.decode()


def test_a_table_is_kept_and_the_unfiltered_ones_warmed(client, world):
    """A table is counted once and kept (a newly published process shows when it is counted
    again); the beat task counts every unfiltered table in every language, so those pages run
    no grouping query."""

    def grouped_queries(**params) -> int:
        with CaptureQueriesContext(connection) as queries:
            _page(client, **params)
        return sum("GROUP BY" in q["sql"] or "COUNT(" in q["sql"] for q in queries)

    assert grouped_queries(by="entity", sme_only="false") == 2  # the rows and the totals
    assert grouped_queries(by="entity", sme_only="false") == 0  # kept
    assert grouped_queries(by="entity", sme_only="true") == 2  # other filters: other table
    _page(client, by="entity")
    extra = published("Más", entity=EntityFactory(ubigeo_id="050101"), call=world["later"])
    kept = _page(client, by="entity").context
    assert extra.entity.ruc not in {r.key for r in kept["rows"]}
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "procurement.tasks.warm_statistics" in schedule
    assert warm_statistics() == 2 * len(statistics.DIMENSIONS)
    fresh = _page(client, by="entity").context
    assert extra.entity.ruc in {r.key for r in fresh["rows"]}
    assert fresh["totals"]["count"] == kept["totals"]["count"] + 1
    for by in statistics.DIMENSIONS:
        assert grouped_queries(by=by) == 0, by
        client.cookies["django_language"] = "en"
        assert grouped_queries(by=by) == 0, by
        del client.cookies["django_language"]


def test_the_search_links_to_the_statistics_of_its_processes(client, world):
    for params in _filters(world)[1:6]:
        search = client.get("/procesos/", params).content.decode()
        link = search.split("data-statistics")[0].rsplit('href="', 1)[1].split('"')[0]
        link = link.replace("&amp;", "&")
        assert link.startswith("/estadisticas/?")
        response = client.get(link)
        assert response.status_code == 200
        assert response.context["totals"]["count"] == _found("/procesos/?" + urlsplit(link).query)
        assert parse_qs(urlsplit(link).query) == {k: [v] for k, v in params.items()}


@pytest.mark.parametrize("value", [" true", "true\n", "maybe", "yes", "TRUE "])
def test_an_unknown_yes_no_value_is_refused_not_read_as_any(client, world, value):
    """A value the select does not know is a form error on the statistics, the search and
    their CSVs; it is never counted (nor kept) as the unfiltered table."""
    for url in ("/estadisticas/", "/procesos/"):
        for extra in ({}, {"format": "csv"}):
            response = client.get(url, {"by": "entity", "sme_only": value} | extra)
            assert response.status_code == 400, (url, extra)
    assert _page(client, by="entity", sme_only="true").context["totals"]["count"] == 2
    assert _page(client, by="entity", sme_only="false").context["totals"]["count"] == 2
    assert _page(client, by="entity").context["totals"]["count"] == 4


def test_a_search_typed_two_ways_is_one_table_with_canonical_links(client, world):
    """The table is kept under, and its rows link with, the cleaned values written back in one
    form: another spelling of the same search reads the same table and gets the same links."""
    year = world["lima"].fiscal_year_id
    fullwidth = str(year).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    acronym = world["cusco"].entity.acronym
    spellings = [
        [{"year": str(year)}, {"year": f"{year}.0"}, {"year": f"+{year}"}, {"year": fullwidth}],
        [{"entity": acronym.upper()}, {"entity": acronym.lower()}, {"entity": f" {acronym} "}],
        [{"catalog": "43000000"}, {"catalog": "43"}, {"catalog": "43-00"}],
        [{"min_value": "1"}, {"min_value": "1.00"}, {"min_value": "1e0"}],
        [{"department": "15", "sme_only": "false"}, {"sme_only": "False", "department": "15"}],
    ]
    for variants in spellings:
        cache.clear()
        first = _page(client, by="entity", **variants[0]).context
        assert first["totals"]["count"] >= 1, variants[0]
        for params in variants[1:]:
            with CaptureQueriesContext(connection) as queries:
                context = _page(client, by="entity", **params).context
            assert not any("GROUP BY" in q["sql"] for q in queries), params  # kept
            assert [r.search_url for r in context["rows"]] == [
                r.search_url for r in first["rows"]
            ], params
            assert context["all_url"] == first["all_url"]
            assert context["csv_url"] == first["csv_url"]
    context = _page(client, by="segment", year=f"{year}.0", entity=acronym.lower()).context
    assert context["rows"][0].params == {
        "year": str(year),
        "entity": acronym.upper(),
        "catalog": "44000000",
    }


def test_the_csv_is_named_after_the_cleaned_year(client, world):
    year = world["lima"].fiscal_year_id
    fullwidth = str(year).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for typed in (str(year), f"{year}.0", f" {year}", fullwidth):
        response = client.get("/estadisticas/", {"year": typed, "format": "csv"})
        assert response.status_code == 200
        assert response["Content-Disposition"] == (
            f'attachment; filename="estadisticas-segment-{year}.csv"'
        ), typed


def test_a_catalog_filter_of_any_number_of_digits_links_to_what_it_counts(client, world):
    """A level no finer than the filter is one row, the filter's code as its search reads it
    (432 and 43211 are prefixes: 43200000 would be 4320, 43211000 would be 432110)."""
    for typed, code in (("432", "432"), ("43211", "43211"), ("4321", "43210000")):
        for by in ("segment", "family", "class", "commodity"):
            rows = _page(client, by=by, catalog=typed).context["rows"]
            assert rows, (typed, by)
            for row in rows:
                assert _found(row.search_url) == row.count == 3, (typed, by, row)
                assert row.params["catalog"] == row.key
            if by == "segment" or (by == "family" and len(typed) >= 4):
                assert [r.key for r in rows] == [code], (typed, by)
    family = _page(client, by="segment", catalog="4321").context["rows"]
    assert family[0].label  # the family's name from the catalog
    assert _page(client, by="segment", catalog="432").context["rows"][0].label == ""


def test_a_table_says_it_was_cut_only_when_rows_were_left_out(client, world, monkeypatch):
    """Four entities: a LIMIT of four shows them all and no cut; of three, three and the cut."""
    for limit, shown, cut in ((4, 4, False), (3, 3, True), (5, 4, False)):
        monkeypatch.setattr(statistics, "LIMIT", limit)
        cache.clear()
        response = _page(client, by="entity")
        assert (len(response.context["rows"]), response.context["cut"]) == (shown, cut), limit
        said = f"Los {limit} con más procesos" in response.content.decode()
        assert said == cut, limit


def test_the_quarter_is_named_in_the_page_language(client, world):
    rows = _page(client, by="quarter").context["rows"]
    quarter = (world["early"].month - 1) // 3 + 1
    assert rows[0].label == rows[0].key == f"{world['early'].year}-T{quarter}"
    client.cookies["django_language"] = "en"
    rows = _page(client, by="quarter").context["rows"]
    assert rows[0].label == f"{world['early'].year}-Q{quarter}"
    assert _found(rows[0].search_url) == rows[0].count


def test_the_filter_fields_are_written_as_the_search_writes_them(client):
    """The statistics' filters are the search's fields (all but the sort), written by the
    search forms' own include (includes/filter_fields.html): each labelled for its widget's
    id, a field in error marked and its message announced, as on /procesos/."""
    params = {"call_from": "2026-03-10", "call_to": "2026-03-09", "department": "15"}
    page = client.get("/estadisticas/", params)
    search = client.get("/procesos/", params)
    assert page.status_code == search.status_code == 400
    html, search_html = page.content.decode(), search.content.decode()
    names = [f.name for f in ProcessFilter().form if f.name not in statistics.NOT_FILTERS]
    assert names and "sort" not in names
    for name in names:
        assert f'<label for="id_{name}">' in html, name
        assert f'id="id_{name}"' in html, name
    assert 'id="id_sort"' not in html
    # Each field's row is the search form's, byte for byte (the same form, bound the same).
    rows = html.split('<div class="filter-fields">', 1)[1].split("</div>\n  </details>", 1)[0]
    for name in names:
        start = f'<div class="field">\n    <label for="id_{name}">'
        row = start + rows.split(start, 1)[1].split("\n  </div>\n", 1)[0]
        assert row in search_html, name
    error = 'aria-invalid="true"'
    assert html.count(error) == search_html.count(error) == 1
    assert '<div role="alert"><ul class="errorlist" id="id_call_to_error">' in html
