"""/precios/<code>/: the awarded unit prices of a commodity (the winning bid's lines), grouped
by unit of measure, with the median and range per quarter against hand-computed figures; each
point links to its process; 404 for an unknown code; an empty state; bad filters are 400."""

from datetime import date, time, timedelta
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from procurement import prices
from procurement.models import ProcessItem
from tests.procurement.evaluating import awarded_tender

pytestmark = pytest.mark.django_db
CODE = "44121701"  # the commodity of the tenders of tests.procurement.bidding


def _awarded(price: str, unit: str | None = None):
    """An awarded tender whose winning line is priced `price` per unit (and of `unit`)."""
    tender, award, _people = awarded_tender(line_total=str(D(price) * 100))
    if unit:
        ProcessItem.objects.filter(process=tender.process).update(unit=unit)
    return tender, award


def test_prices_by_unit_with_quarter_median_and_range():
    first, _a = _awarded("10.00")
    second, _b = _awarded("14.00")
    third, _c = _awarded("30.00")
    boxed, _d = _awarded("900.00", unit="BX")
    unit = ProcessItem.objects.filter(process=first.process).values_list("unit", flat=True)[0]

    units = {history.unit: history for history in prices.history(CODE)}
    assert set(units) == {unit, "BX"}
    assert sorted(p.unit_price for p in units[unit].points) == [D("10"), D("14"), D("30")]
    assert [p.unit_price for p in units["BX"].points] == [D("900")]
    (quarter,) = units[unit].quarters  # the three were awarded in the same quarter
    assert (quarter.count, quarter.median, quarter.low, quarter.high) == (
        3,
        D("14"),
        D("10"),
        D("30"),
    )

    client = Client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/precios/{CODE}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 2  # one chart per unit
    for tender in (first, second, third, boxed):
        assert f'href="/procesos/{tender.process.identifier}/"' in html
    assert (
        'data-median="14.00"' in html
        and 'cx="' in html
        and "," not in html.split('cx="')[1].split('"')[0]
    )
    assert len(queries) <= 8  # catalog item, departments of the form, the prices: no N+1


def test_a_deserted_or_unawarded_line_is_no_price():
    tender, award = _awarded("10.00")
    type(award).objects.filter(pk=award.pk).update(status="revocado")
    assert prices.history(CODE) == []
    response = Client().get(f"/precios/{CODE}/")
    assert response.status_code == 200
    assert response.context["units"] == []
    assert "No se ha adjudicado" in response.content.decode() or response.context["units"] == []


def test_unknown_codes_are_404(client):
    for code in ("99999999", "abc", "4412170", "441217011"):
        assert client.get(f"/precios/{code}/").status_code == 404, code


def test_an_existing_code_without_prices_shows_the_empty_state(client):
    response = client.get(f"/precios/{CODE}/")
    assert response.status_code == 200
    assert b"<svg" not in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"year": "9223372036854775808"},
        {"year": "x"},
        {"department": "99"},
        {"entity": "x" * 100},
        {"awarded_from": "2026-02-30"},
        {"awarded_to": "1700-01-01"},
        {"awarded_from": "2026-05-02", "awarded_to": "2026-05-01"},
    ],
)
def test_bad_filters_are_400(client, params):
    assert client.get(f"/precios/{CODE}/", params).status_code == 400


def test_filters_by_department_entity_and_year(client):
    tender, award = _awarded("10.00")  # an entity seated in Cusco (08)
    year = award.decided_at.year
    entity = tender.process.entity
    for params, found in (
        ({"department": "08"}, 1),
        ({"department": "15"}, 0),
        ({"entity": entity.ruc}, 1),
        ({"entity": "20999999999"}, 0),  # not a factory RUC (the first is 20000000001)
        ({"year": year}, 1),
        ({"year": year - 1}, 0),
    ):
        response = client.get(f"/precios/{CODE}/", params)
        assert response.status_code == 200
        points = sum(len(unit.points) for unit, _chart in response.context["units"])
        assert points == found, params


def test_a_point_links_to_its_contract_when_signed(client):
    from tests.procurement.evaluating import consent
    from tests.procurement.test_contracts import _after, _sign

    tender, award = _awarded("12.50")
    award = consent(award)
    with _after(award):
        contract = _sign(tender, award)
    (unit,) = prices.history(CODE)
    assert [(p.unit_price, p.contract_id) for p in unit.points] == [(D("12.50"), contract.pk)]
    html = client.get(f"/precios/{CODE}/").content.decode()
    assert f'href="/contratos/{contract.pk}/"' in html


def test_the_process_page_shows_the_median_of_the_last_12_months_for_its_items():
    from datetime import timedelta

    from django.utils import timezone

    from core import clock
    from procurement.models import Award

    first, award = _awarded("10.00")
    _awarded("14.00")
    _awarded("30.00")
    _awarded("900.00", unit="BX")  # another unit: not counted
    _old, old_award = _awarded("1.00")
    Award.objects.filter(pk=old_award.pk).update(
        decided_at=old_award.decided_at - timedelta(days=prices.RECENT_DAYS + 2)
    )
    item = first.process.items.get()
    today = timezone.localdate(award.decided_at)  # the tenders are awarded on their calendar
    recent = prices.recent_prices([item], today, exclude_process=first.process)
    # The other processes' prices of the same unit within a year: 14 and 30 (not its own 10,
    # not the boxes, not the one awarded more than a year ago).
    assert recent[item.pk] == prices.RecentPrice(D("22"), 2, D("14"), D("30"))
    assert prices.recent_prices([item], today - timedelta(days=1)) == {}  # none awarded yet
    with CaptureQueriesContext(connection) as queries, clock.pinned(today):
        html = Client().get(f"/procesos/{first.process.identifier}/").content.decode()
    assert 'data-recent-median="22"' in html or 'data-recent-median="22.00"' in html
    assert "2 precios por" in html
    assert prices.recent_prices([], today) == {}
    assert len(queries) < 60


def test_an_item_of_an_unlisted_unit_is_never_compared():
    """Unit.OTHER ("caja x 100" from another portal or before the codelist) has no price
    history and counts in no item's past prices: its unit is unknown, so is its price."""
    first, award = _awarded("10.00")
    other, _b = _awarded("900.00", unit="ZZ")
    assert [(h.unit, len(h.points)) for h in prices.history(CODE)] == [("NIU", 1)]
    [mine] = ProcessItem.objects.filter(process=first.process)
    [unlisted] = ProcessItem.objects.filter(process=other.process)
    recent = prices.recent_prices([mine, unlisted], award.decided_at.date())
    assert set(recent) == {mine.pk} and recent[mine.pk].count == 1
    assert recent[mine.pk].highest == D("10.00")


def test_filters_by_the_award_days(client):
    """The range is of Lima days, both ends included."""
    from django.utils import timezone

    _tender, award = _awarded("10.00")
    day = timezone.localdate(award.decided_at)
    one = timedelta(days=1)
    for params, found in (
        ({"awarded_from": day}, 1),
        ({"awarded_to": day}, 1),
        ({"awarded_from": day, "awarded_to": day}, 1),
        ({"awarded_from": day + one}, 0),
        ({"awarded_to": day - one}, 0),
        ({"awarded_from": day - one, "awarded_to": day + one}, 1),
    ):
        params = {k: v.isoformat() for k, v in params.items()}
        response = client.get(f"/precios/{CODE}/", params)
        assert response.status_code == 200, params
        points = sum(len(unit.points) for unit, _chart in response.context["units"])
        assert points == found, params


def _decided(award, moment):
    type(award).objects.filter(pk=award.pk).update(decided_at=moment)


def test_the_quarter_figures_equal_a_hand_computation_per_unit_and_lima_quarter():
    """Odd and even counts, two quarters of Lima (a moment late on 31 March in Lima is
    already April in UTC), two units never mixed; the same on PostgreSQL (computed by the
    database) and SQLite (in Python)."""
    from core import clock

    for price, moment in (
        ("10.00", clock.local(date(2025, 2, 10), time(12))),
        ("30.00", clock.local(date(2025, 3, 1), time(12))),
        ("14.00", clock.local(date(2025, 3, 31), time(23, 30))),  # 04:30 UTC on 1 April
        ("7.00", clock.local(date(2025, 4, 2), time(9))),
        ("8.25", clock.local(date(2025, 6, 30), time(9))),
    ):
        _tender, award = _awarded(price)
        _decided(award, moment)
    for price in ("900.00", "100.00"):
        _tender, award = _awarded(price, unit="BX")
        _decided(award, clock.local(date(2025, 1, 5), time(10)))

    figures = {
        history.unit: [(q.quarter, q.count, q.median, q.low, q.high) for q in history.quarters]
        for history in prices.history(CODE)
    }
    assert figures == {
        "NIU": [
            ("2025-T1", 3, D("14"), D("10"), D("30")),  # 10, 14, 30: the middle one
            ("2025-T2", 2, D("7.625"), D("7"), D("8.25")),  # (7 + 8.25) / 2
        ],
        "BX": [("2025-T1", 2, D("500"), D("100"), D("900"))],  # (100 + 900) / 2
    }
    assert [h.unit for h in prices.history(CODE)] == ["NIU", "BX"]  # most prices first
    (niu,) = [h for h in prices.history(CODE, year=2025) if h.unit == "NIU"]
    assert niu.count == 5 and not niu.capped


def test_the_chart_shows_the_latest_lines_and_says_how_many_of_how_many(client, monkeypatch):
    from core import clock

    monkeypatch.setattr(prices, "POINTS_SHOWN", 2)
    for day, price in ((1, "10.00"), (3, "30.00"), (2, "20.00")):
        _tender, award = _awarded(price)
        _decided(award, clock.local(date(2025, 5, day), time(12)))
    (unit,) = prices.history(CODE)
    assert (unit.count, unit.capped) == (3, True)
    assert [p.unit_price for p in unit.points] == [D("20"), D("30")]  # the latest, oldest first
    assert unit.quarters[0].count == 3 and unit.quarters[0].median == D("20")

    html = client.get(f"/precios/{CODE}/").content.decode()
    assert 'data-shown="2" data-count="3"' in html
    assert "Se muestran las 2 más recientes de 3" in html
    assert html.count("<circle") == 2
    assert html.count('data-price="') == 2

    monkeypatch.setattr(prices, "POINTS_SHOWN", 3)
    html = client.get(f"/precios/{CODE}/").content.decode()
    assert 'data-shown="3" data-count="3"' in html and html.count("<circle") == 3


def test_the_page_s_queries_do_not_grow_with_the_lines(client):
    _awarded("10.00")
    with CaptureQueriesContext(connection) as one:
        assert client.get(f"/precios/{CODE}/").status_code == 200
    for price in ("11.00", "12.00", "13.00"):
        _awarded(price)
    _awarded("50.00", unit="BX")
    with CaptureQueriesContext(connection) as kept:
        response = client.get(f"/precios/{CODE}/")
    # Kept for prices.KEPT_SECONDS: the figures counted by the first request, no query for them.
    assert sum(unit.count for unit, _chart in response.context["units"]) == 1
    assert len(kept) < len(one)
    cache.clear()
    with CaptureQueriesContext(connection) as five:
        response = client.get(f"/precios/{CODE}/")
    assert sum(unit.count for unit, _chart in response.context["units"]) == 5
    assert len(five) == len(one)


def test_every_line_as_csv_with_the_filters(client, monkeypatch):
    import csv
    import io

    monkeypatch.setattr(prices, "POINTS_SHOWN", 1)
    first, _a = _awarded("10.00")
    second, award = _awarded("12.50")
    response = client.get(f"/precios/{CODE}/", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()[1:])))
    assert sorted((r["nomenclatura"], r["unidad"], r["precio_unitario"]) for r in rows) == sorted(
        [
            (first.process.identifier, "NIU", "10.00"),
            (second.process.identifier, "NIU", "12.50"),
        ]
    )
    html = client.get(f"/precios/{CODE}/", {"department": "08"}).content.decode()
    assert "?department=08&amp;format=csv" in html
    year = award.decided_at.year - 1
    response = client.get(f"/precios/{CODE}/", {"format": "csv", "year": year})
    assert b"".join(response.streaming_content).decode().count("\n") == 1  # the header only


def test_a_reversed_award_period_is_an_error_on_its_end_and_an_equal_one_is_fine(client):
    """core.filtering.OrderedRangesForm, in Spanish by default."""
    response = client.get(
        f"/precios/{CODE}/", {"awarded_from": "2026-05-02", "awarded_to": "2026-05-01"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "awarded_to": ["El final del rango es anterior a su inicio."]
    }
    assert "El final del rango es anterior a su inicio." in response.content.decode()
    for day in ("2026-05-01", "2026-05-02"):
        equal = client.get(f"/precios/{CODE}/", {"awarded_from": day, "awarded_to": day})
        assert equal.status_code == 200


def test_a_quarter_is_labelled_in_the_reader_s_language_as_on_the_statistics_page():
    """One label for a quarter across the portal (core.formatting.quarter): 'T' (trimestre)
    in Spanish, 'Q' in English, on the price page as on /estadisticas/; the chart's median
    point still sits in the middle of its quarter."""
    from core import clock

    _tender, award = _awarded("10.00")
    _decided(award, clock.local(date(2025, 5, 10), time(12)))
    pages = {}
    for language in ("es", "en"):
        client = Client()
        client.cookies["django_language"] = language
        pages[language] = client.get(f"/precios/{CODE}/").content.decode()
    spanish, english = pages["es"], pages["en"]
    assert '<th scope="row">2025-T2</th>' in spanish
    assert '<th scope="row">2025-Q2</th>' in english and "2025-T2" not in english
    (history,) = prices.history(CODE)
    assert history.quarters[0].start == date(2025, 4, 1)
