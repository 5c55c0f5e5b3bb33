"""The SME pages as a hostile reviewer read them (issue 11's review): every figure in a CSV
(money to the cent, unknown left empty), the share ordered exactly on SQLite too (whole soles
are integers there), no figures under an invalid or repeated filter, the scope of the figures
named, and entities whose contracts are all of unknown size told apart.

Run on PostgreSQL and, for the SQLite-only bugs, with DATABASE_URL=sqlite:///... too."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.codelists import ObjectType
from procurement import exports, sme
from procurement.models import Contract, Entity, SmeShareMonth
from tests.factories import EntityFactory, SupplierFactory
from tests.procurement.sme_world import contract, entity_with_two_contracts, process

pytestmark = pytest.mark.django_db

GOODS = [("43211503", 1000, True)]
RANKING = "procurement:sme_ranking"


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _entity(name: str, sme_amount: int, other_amount: int) -> Entity:
    return entity_with_two_contracts(sme_amount, other_amount, name=name)[0]


def test_a_yes_no_cell_is_empty_when_not_known(client):
    below = _entity("Abajo", 1000, 3000)
    idle = EntityFactory(name="Sin contratos")
    lines = {line["ruc"]: line for line in _csv(client.get(reverse(RANKING), {"format": "csv"}))}
    assert lines[idle.ruc]["cuota_real"] == "" and lines[idle.ruc]["cumple_minimo"] == ""
    assert lines[below.ruc]["cumple_minimo"] == "no"
    assert exports._written(None, exports.Kind.FLAG) == ""
    assert exports._written(True, exports.Kind.FLAG) == "si"


def test_the_ranking_orders_by_the_exact_share_with_whole_soles(client):
    """In whole soles SQLite sums integers: 1000 / 2000 was 0 there, tied with 25%."""
    half = _entity("AAA mitad", 1000, 1000)  # 50%
    quarter = _entity("ZZZ cuarto", 1000, 3000)  # 25%
    tenth = _entity("MMM decimo", 100, 900)  # 10%

    def order(sort):
        response = client.get(reverse(RANKING), {"year": 2026, "sort": sort})
        assert response.status_code == 200
        return [r.ruc for r in response.context["rows"]]

    assert order("share") == [tenth.ruc, quarter.ruc, half.ruc]
    assert order("-share") == [half.ruc, quarter.ruc, tenth.ruc]
    # The gap: 40% of 1000 - 100 = 300; of 4000 - 1000 = 600; of 2000 - 1000 < 0.
    assert order("gap") == [quarter.ruc, tenth.ruc, half.ruc]
    shares = [r.share.share for r in client.get(reverse(RANKING)).context["rows"]]
    assert shares == sorted(shares)


def test_the_shortfall_is_one_rule_for_plans_and_contracts():
    plan = sme.SmeShare(Decimal(5000), Decimal(4000), Decimal(1000), Decimal("0.4"))
    actual = sme.ActualShare(
        Decimal(4000), Decimal(1000), *[Decimal(0)] * 2, 2, 0, 0, 0, Decimal("0.4")
    )
    assert (
        plan.shortfall == actual.gap == sme.shortfall(Decimal(4000), Decimal(1000), Decimal("0.4"))
    )
    assert plan.shortfall == Decimal("600.00")
    assert sme.shortfall(Decimal(1000), Decimal(900), Decimal("0.4")) == 0


def test_money_in_the_csvs_has_two_decimals_and_adds_up_to_the_page(client):
    entity = EntityFactory()
    micro, large = SupplierFactory(), SupplierFactory()
    two_items = [("43211503", 1000, True), ("43211504", 500, False)]
    for amount in (1000, 1000, 1000):  # each: 2/3 eligible, 666.666... soles
        contract(process(entity, items=two_items), micro, amount)
    contract(process(entity, items=GOODS), large, 1702615, classes={large.ruc: "large"})
    contract(
        process(entity, items=GOODS), large, Decimal("111676.68"), classes={large.ruc: "large"}
    )
    url = reverse("procurement:entity_sme", args=[entity.ruc])
    page = client.get(url, {"year": 2026}).context["share"]
    money = re.compile(r"^-?\d+\.\d\d$")
    rows = _csv(client.get(url, {"year": 2026, "format": "csv"}))
    for row in rows:
        for column in ("monto_firmado", "monto_vigente", "valor_elegible"):
            assert money.match(row[column]), (column, row[column])
    assert sorted(r["valor_elegible"] for r in rows) == sorted(
        ["666.67", "666.67", "666.67", "1702615.00", "111676.68"]
    )
    assert sum(Decimal(r["valor_elegible"]) for r in rows) == page.eligible_value
    ranking = _csv(client.get(reverse(RANKING), {"year": 2026, "format": "csv"}))
    line = next(line for line in ranking if line["ruc"] == entity.ruc)
    for column in ("valor_elegible", "valor_mype", "valor_micro", "valor_pequena"):
        assert money.match(line[column]), (column, line[column])
    for column in ("brecha_soles", "valor_tamano_desconocido"):
        assert money.match(line[column]), (column, line[column])
    assert line["valor_elegible"] == "1816291.69" and line["valor_tamano_desconocido"] == "0.00"
    assert line["cuota_minima"] == "0.400000"
    assert exports._written(Decimal("0E-10"), exports.Kind.MONEY) == "0.00"
    assert exports._written(1169657.3199999998, exports.Kind.MONEY) == "1169657.32"


def test_the_month_table_and_the_lead_time_are_in_the_csvs(client):
    entity = _entity("Con plazos", 1000, 3000)
    process(entity, sme_only=True, call=date(2026, 2, 2), deadline=date(2026, 2, 12))
    process(entity, call=date(2026, 2, 2), deadline=date(2026, 2, 7))
    other = EntityFactory()
    process(other, call=date(2026, 3, 2), deadline=date(2026, 3, 11))
    url = reverse("procurement:entity_sme", args=[entity.ruc])
    response = client.get(url, {"year": 2026})
    months = _csv(client.get(url, {"year": 2026, "table": "months", "format": "csv"}))
    assert [int(m["mes"]) for m in months] == list(range(1, 13))
    for line, figures in zip(months, response.context["series"], strict=True):
        shown = figures.to_date.share
        assert line["cuota_real_acumulada"] == ("" if shown is None else f"{shown:.6f}")
        assert Decimal(line["valor_mype_acumulado"]) == figures.to_date.sme_value
        assert line["cuota_planificada"] == (
            "" if figures.planned is None else line["cuota_planificada"]
        )
    assert (
        months[1]["cuota_real_mes"] == "1.000000"
        and months[3]["cuota_real_acumulada"] == "0.250000"
    )
    assert months[0]["cuota_real_mes"] == "" and months[0]["valor_elegible_mes"] == "0.00"
    lead = response.context["lead"]
    html = response.content.decode()
    assert f'data-figure="reserved">{lead.reserved} / {lead.processes}<' in html
    ranking = client.get(reverse(RANKING), {"year": 2026})
    lines = {line["ruc"]: line for line in _csv(client.get(reverse(RANKING), {"format": "csv"}))}
    mine = lines[entity.ruc]
    assert (
        (int(mine["procesos_reservados_mype"]), int(mine["procesos_convocados"]))
        == (
            lead.reserved,
            lead.processes,
        )
        == (1, 4)
    )
    assert Decimal(mine["dias_plazo_solo_mype"]) == lead.sme_only_days == Decimal("10.0")
    assert Decimal(mine["dias_plazo_abiertos"]) == lead.open_days == Decimal("5.0")
    national = ranking.context["lead"]

    def total(column):
        return sum(int(line[column]) for line in lines.values())

    open_days = Decimal(total("suma_dias_abiertos")) / total("procesos_abiertos_con_plazo")
    assert open_days.quantize(Decimal("0.1")) == national.open_days == Decimal("7.0")
    sme_days = Decimal(total("suma_dias_solo_mype")) / total("procesos_solo_mype_con_plazo")
    assert sme_days.quantize(Decimal("0.1")) == national.sme_only_days


def test_the_methodology_page_names_the_new_columns(client):
    html = client.get(reverse("procurement:sme_methodology")).content.decode()
    for spec in (exports.SME_MONTHS, exports.SME_RANKING):
        for column in spec.header:
            if column not in ("ruc", "entidad", "anio_fiscal", "mes", "contratos"):
                assert column in html, column


@pytest.mark.parametrize(
    "params",
    [{"year": "abc", "department": "15"}, {"year": "2026", "level": "galactic"}],
)
def test_an_invalid_filter_shows_its_error_and_no_figures(client, params):
    _entity("Alguna", 1000, 3000)
    response = client.get(reverse(RANKING), params)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and "Corrija los filtros" in html
    assert "data-figure=" in html and 'data-figure="share"' not in html
    assert "national" not in response.context and "rows" not in response.context


def test_an_invalid_year_on_the_entity_page_shows_no_figures(client):
    entity = _entity("Alguna", 1000, 3000)
    url = reverse("procurement:entity_sme", args=[entity.ruc])
    for params in ({"year": "abc"}, {"year": "2026", "table": "bogus"}):
        response = client.get(url, params)
        assert response.status_code == 400
        html = response.content.decode()
        assert "Corrija el filtro" in html and 'data-figure="share"' not in html
        assert "share" not in response.context
    assert client.get(url, {"year": "2026", "table": "bogus", "format": "csv"}).status_code == 400


@pytest.mark.parametrize(
    ("name", "params"),
    [
        (RANKING, "year=2026&year=2025"),
        (RANKING, "department=15&department=13"),
        (RANKING, "sort=gap&sort=share"),
        ("procurement:process_list", "year=2026&year=2025"),
        ("procurement:process_list", "sort=date&sort=-date"),
    ],
)
def test_a_single_valued_filter_given_twice_is_refused(client, name, params):
    url = reverse(name) + "?" + params
    response = client.get(url)
    assert response.status_code == 400
    assert "Indique este filtro una sola vez." in response.content.decode()
    assert client.get(url + "&format=csv").status_code == 400


def test_a_repeated_year_on_the_entity_page_is_refused(client):
    entity = EntityFactory()
    url = reverse("procurement:entity_sme", args=[entity.ruc]) + "?year=2026&year=2025"
    assert client.get(url).status_code == 400
    assert client.get(url + "&format=csv").status_code == 400


def test_a_department_without_contracts_is_drawn_neutral_and_said_so(client):
    entity, supplier = EntityFactory(), SupplierFactory()
    contract(process(entity, object_type=ObjectType.WORKS, items=GOODS), supplier, 9000)
    html = client.get(reverse(RANKING), {"year": 2026}).content.decode()
    svg = html[html.index('<svg role="img" aria-labelledby="departments-chart"') :]
    svg = svg[: svg.index("</svg>")]
    assert 'fill="#a4262c"' not in svg and 'fill="#8a8a8a"' in svg
    assert "sin contratos" in svg


def test_the_figures_heading_names_the_filters_scope(client):
    entity = _entity("Alguna", 1000, 3000)
    lima = entity.ubigeo.province.department
    national = client.get(reverse(RANKING), {"year": 2026}).content.decode()
    assert '<h2 data-scope="">Cifras nacionales</h2>' in national
    narrowed = client.get(
        reverse(RANKING), {"year": 2026, "department": lima.code, "level": "local"}
    ).content.decode()
    assert "Cifras nacionales" not in narrowed
    assert re.search(r"<h2 data-scope=[^>]*>Cifras de [^<]*local[^<]*" + lima.name, narrowed, re.I)


def test_contracts_all_of_unknown_size_are_not_no_contracts(client):
    entity, nobody = EntityFactory(), SupplierFactory()
    contract(process(entity, items=GOODS), nobody, 500, classes={nobody.ruc: ""})
    idle = EntityFactory()
    ranking = client.get(reverse(RANKING), {"year": 2026})
    cells = dict(
        re.findall(
            r'<tr data-ruc="(\d+)">.*?<td class="num">(.*?)</td>',
            ranking.content.decode(),
            re.S,
        )
    )
    assert cells[entity.ruc] == "sin contratos de tamaño conocido"
    assert cells[idle.ruc] == "sin contratos"
    page = client.get(reverse("procurement:entity_sme", args=[entity.ruc]), {"year": 2026})
    assert 'data-figure="share">sin contratos de tamaño conocido<' in page.content.decode()


def test_the_sort_menu_lists_each_order_once(client):
    html = client.get(reverse(RANKING)).content.decode()
    assert html.count(">Menor cuota primero<") == 1
    response = client.get(reverse(RANKING), {"sort": ""})
    assert response.status_code == 200


def test_the_minimum_is_read_once_per_page(client):
    entity = _entity("Alguna", 1000, 3000)
    for url in (reverse(RANKING), reverse("procurement:entity_sme", args=[entity.ruc])):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"year": 2026}).status_code == 200
        reads = [q for q in queries if "sme_reserved_min_share" in q["sql"]]
        assert len(reads) == 1, url


def test_the_contracts_behind_are_paged_in_signing_order():
    entity, supplier = EntityFactory(), SupplierFactory()
    for day in (9, 3, 7, 1, 5):
        contract(process(entity, items=GOODS), supplier, 100 * day, signed_on=date(2026, 5, day))
    contract(process(entity, object_type=ObjectType.WORKS, items=GOODS), supplier, 50)
    listed = sme.share_contracts(Contract.objects.filter(entity=entity))
    expected = list(listed.filter(eligible_part__gt=0).order_by("signed_on", "pk"))
    behind = sme.ContractsBehind(listed, count=len(expected))
    assert [c.pk for c in behind[0:2] + behind[2:4] + behind[4:6]] == [c.pk for c in expected]
    assert [c.signed_on.day for c in behind[0:5]] == [1, 3, 5, 7, 9]


def test_the_summary_keeps_the_figures_without_a_minimum():
    entity = _entity("Alguna", 1000, 3000)
    row = SmeShareMonth.objects.get(entity=entity, month=2)
    assert (row.sme_value, row.eligible_value, row.contracts) == (Decimal(1000), Decimal(1000), 1)
