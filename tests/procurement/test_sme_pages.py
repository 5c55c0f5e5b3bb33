"""The SME reservation pages: an entity's compliance page and its CSV, the national ranking
and its CSV (the same figures as the page), bad filters answered with 400, and the ranking's
query count independent of how many entities and contracts there are."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import clock
from core.codelists import ObjectType
from procurement import sme
from procurement.models import Contract
from procurement.services import plans
from tests.factories import EntityFactory, SupplierFactory, draft_plan, plan_item_data
from tests.procurement.sme_world import contract, entity_with_two_contracts, process

pytestmark = pytest.mark.django_db

GOODS = [("43211503", 1000, True)]


def _csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _entity_with_contracts(sme_amount=1000, other_amount=3000):
    entity, micro, _large = entity_with_two_contracts(sme_amount, other_amount)
    contract(
        process(entity, object_type=ObjectType.WORKS, items=GOODS),
        micro,
        9000,
        signed_on=date(2026, 4, 9),
    )
    return entity


def test_the_entity_page_shows_the_share_chart_table_and_contracts(client):
    entity = _entity_with_contracts()
    response = client.get(reverse("procurement:entity_sme", args=[entity.ruc]), {"year": 2026})
    assert response.status_code == 200
    share = response.context["share"]
    assert share.share == Decimal("0.25") and share.gap == Decimal("600.00")
    html = response.content.decode()
    assert '<title id="chart-title">' in html and '<desc id="chart-desc">' in html
    assert "<caption>" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    # Coordinates are numbers in any language ("228.0", never the Spanish "228,0").
    assert not re.search(r'\b(?:x|y)[12]?="[^"]*,', svg)
    assert 'y1="143.2"' in svg  # the 40% line
    # April (4th month) has the year-to-date share of both goods contracts: 25%.
    assert response.context["series"][3].to_date.share == Decimal("0.25")
    assert response.context["series"][1].to_date.share == Decimal("1")
    listed = {c.pk for c in response.context["page"].object_list}
    assert listed == set(
        Contract.objects.filter(entity=entity, process__object_type="goods").values_list(
            "pk", flat=True
        )
    )
    for pk in listed:
        assert reverse("procurement:contract_detail", args=[pk]) in html


def test_the_entity_csv_adds_up_to_the_page(client):
    entity = _entity_with_contracts()
    url = reverse("procurement:entity_sme", args=[entity.ruc])
    page = client.get(url, {"year": 2026}).context["share"]
    rows = _csv(client.get(url, {"year": 2026, "format": "csv"}))
    known = [r for r in rows if r["clase_mype"] != sme.SIZE_UNKNOWN]
    assert sum(Decimal(r["valor_elegible"]) for r in known) == page.eligible_value
    assert (
        sum(Decimal(r["valor_elegible"]) for r in known if r["clase_mype"] == sme.SIZE_SME)
        == page.sme_value
    )


def test_the_ranking_csv_equals_the_page(client):
    low = _entity_with_contracts(1000, 3000)
    high = _entity_with_contracts(3000, 1000)
    url = reverse("procurement:sme_ranking")
    response = client.get(url, {"year": 2026})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.ruc for r in rows] == [low.ruc, high.ruc]  # lowest share first
    assert "debajo del mínimo" in response.content.decode()
    lines = _csv(client.get(url, {"year": 2026, "format": "csv"}))
    assert [line["ruc"] for line in lines] == [r.ruc for r in rows]
    for line, row in zip(lines, rows, strict=True):
        assert Decimal(line["valor_mype"]) == row.share.sme_value
        assert Decimal(line["valor_elegible"]) == row.share.eligible_value
        assert Decimal(line["cuota_real"]) == row.share.share
        assert Decimal(line["brecha_soles"]) == row.share.gap
    national = response.context["national"]
    assert national.sme_value == sum(Decimal(line["valor_mype"]) for line in lines)


def test_the_ranking_filters_by_level(client):
    local = _entity_with_contracts()
    regional = _entity_with_contracts()
    regional.level = "regional"
    regional.save()
    response = client.get(reverse("procurement:sme_ranking"), {"year": 2026, "level": "regional"})
    assert [r.ruc for r in response.context["rows"]] == [regional.ruc]
    assert local.ruc not in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"year": "9223372036854775808"},
        {"year": "-1"},
        {"level": "galactic"},
        {"department": "x" * 500},
        {"sector": "\u202e"},
    ],
)
def test_hostile_filters_answer_400(client, params):
    url = reverse("procurement:sme_ranking")
    assert client.get(url, params).status_code == 400
    assert client.get(url, {**params, "format": "csv"}).status_code == 400


def test_a_bad_year_on_the_entity_page_is_400(client):
    entity = EntityFactory()
    url = reverse("procurement:entity_sme", args=[entity.ruc])
    assert client.get(url, {"year": "99999999999"}).status_code == 400
    assert client.get(url, {"year": "abc", "format": "csv"}).status_code == 400


def test_an_entity_without_contracts_shows_no_contracts(client):
    entity = EntityFactory()
    response = client.get(reverse("procurement:entity_sme", args=[entity.ruc]), {"year": 2026})
    assert response.status_code == 200
    assert response.context["share"].share is None


def test_the_methodology_page_names_the_csv_columns(client):
    response = client.get(reverse("procurement:sme_methodology"))
    assert response.status_code == 200
    for column in ("valor_elegible", "valor_mype", "cuota_real", "brecha_soles", "clase_mype"):
        assert column in response.content.decode()


def test_the_ranking_query_count_does_not_grow(client):
    url = reverse("procurement:sme_ranking")
    _entity_with_contracts()
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, {"year": 2026}).status_code == 200
    for _ in range(4):
        _entity_with_contracts()
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"year": 2026})
    assert len(response.context["rows"]) == 5
    assert len(many) == len(few)


def test_the_planned_share_by_month_follows_the_version_in_force(client):
    entity = EntityFactory()
    version, staff = draft_plan(entity, year=2026, items=[{"sme_reserved": True}, {}])
    with clock.pinned(clock.local(date(2026, 3, 15))):
        plans.publish_version(staff, version, approval_date=date(2026, 3, 10))
    # Modified on 10 July: the second item reserved too; the months before keep version 0.
    draft = plans.start_modification(staff, version.plan)
    for item in draft.items.all():
        plans.update_item(staff, item, plan_item_data(sme_reserved=True))
    with clock.pinned(clock.local(date(2026, 7, 10))):
        plans.publish_version(
            staff, draft, approval_date=date(2026, 7, 8), reason="Todo reservado a MYPE"
        )
    # Another entity's plan, in force all year, changes nothing here.
    other, other_staff = draft_plan(EntityFactory(), year=2026, items=[{"sme_reserved": True}])
    with clock.pinned(clock.local(date(2026, 1, 5))):
        plans.publish_version(other_staff, other, approval_date=date(2026, 1, 2))
    response = client.get(reverse("procurement:entity_sme", args=[entity.ruc]), {"year": 2026})
    planned = [m.planned for m in response.context["series"]]
    assert planned[:2] == [None, None]
    assert planned[2:6] == [Decimal("0.5")] * 4
    assert planned[6:] == [Decimal("1")] * 6
    assert response.context["planned"] == Decimal("1")
    assert sme.monthly_planned(EntityFactory(), 2026) == dict.fromkeys(range(1, 13))


def test_a_consortium_with_an_unknown_member_is_counted_apart():
    entity, micro, other = EntityFactory(), SupplierFactory(), SupplierFactory()
    contract(process(entity, items=GOODS), micro, 1000, classes={micro.ruc: "micro", other.ruc: ""})
    share = sme.entity_share(entity, 2026)
    assert (share.unknown_contracts, share.unknown_value) == (1, Decimal("1000"))
    assert share.eligible_value == 0 and share.share is None


def test_the_entity_page_is_in_english_too(client):
    entity = _entity_with_contracts()
    url = reverse("procurement:entity_sme", args=[entity.ruc])
    spanish = client.get(url, {"year": 2026}).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(url, {"year": 2026}).content.decode()
    assert "debajo del mínimo" in spanish
    assert "below the minimum" in english


@pytest.mark.urlwalk
def test_the_sme_pages_with_contracts_answer_no_5xx():
    """The URL walk's hostile values on the SME pages once contracts exist (the walk's world
    has none), so that the share's SQL runs on SQLite too (`make test`'s second run)."""
    from tests import test_url_walk as walk

    world = walk.build_world()
    supplier = SupplierFactory()
    contract(process(world.entity, items=GOODS), supplier, 1000)
    contract(
        process(world.entity, items=[("43211503", 500, True), ("43211504", 500, False)]),
        supplier,
        800,
        classes={supplier.ruc: ""},
    )
    patterns = [
        p for p in walk.all_patterns() if p.name and p.name.startswith("procurement:sme_")
    ] + [p for p in walk.all_patterns() if p.name == "procurement:entity_sme"]
    assert len(patterns) == 3
    failures = []
    client = walk._client("anonymous", world)
    for pattern in patterns:
        walk._walk_get(client, "anonymous", pattern, world, failures)
    assert not failures, "\n".join(failures[:20])
    page = client.get(reverse("procurement:entity_sme", args=[world.entity.ruc]), {"year": 2026})
    assert page.context["share"].sme_value == Decimal("1000")
    assert page.context["share"].unknown_value == Decimal("800") * Decimal("0.5")


def test_the_home_headline_is_the_national_share_of_mype(client):
    """The home page leads with the national actual share of the year's contracts: the same
    figure /mype/ shows for that year (one function), linked to it, with the gap in soles."""
    _entity_with_contracts(1000, 3000)  # 25%: S/ 600 short of 40% of S/ 4,000
    with clock.pinned(date(2026, 6, 1)):
        home = client.get("/")
        ranking = client.get(reverse("procurement:sme_ranking"), {"year": 2026})
    headline = home.context["headline"]["actual"]
    assert headline == ranking.context["national"]
    assert headline.share == Decimal("0.25")
    html = home.content.decode()
    assert f'href="{reverse("procurement:sme_ranking")}?year=2026"' in html
    assert "<strong>25" in html and "600" in html
    with clock.pinned(date(2027, 6, 1)):
        assert client.get("/").context["headline"]["actual"].share is None  # no 2027 contracts


def test_the_ranking_sorts_and_every_order_keeps_entities_without_a_share_last(client):
    low = _entity_with_contracts(1000, 3000)  # 25%, S/ 600 short
    high = _entity_with_contracts(3000, 1000)  # 75%
    big = _entity_with_contracts(2000, 14000)  # 12.5%, S/ 4,400 short, S/ 16,000 value
    unknown, nobody = EntityFactory(), SupplierFactory()
    contract(process(unknown, items=GOODS), nobody, 500, classes={nobody.ruc: ""})
    url = reverse("procurement:sme_ranking")

    def order(sort):
        response = client.get(url, {"year": 2026, "sort": sort})
        assert response.status_code == 200
        return [r.ruc for r in response.context["rows"]]

    assert order("") == [big.ruc, low.ruc, high.ruc, unknown.ruc]
    assert order("share") == order("")
    assert order("-share") == [high.ruc, low.ruc, big.ruc, unknown.ruc]
    assert order("gap") == [big.ruc, low.ruc, high.ruc, unknown.ruc]
    assert order("value")[:1] == [big.ruc] and order("value")[-1] == unknown.ruc
    csv_order = [
        line["ruc"]
        for line in _csv(client.get(url, {"year": 2026, "sort": "-share", "format": "csv"}))
    ]
    assert csv_order == order("-share")
    assert client.get(url, {"year": 2026, "sort": "bogus"}).status_code == 400


def test_the_ranking_draws_the_departments_with_the_minimum_line(client):
    entity = _entity_with_contracts(1000, 3000)
    html = client.get(reverse("procurement:sme_ranking"), {"year": 2026}).content.decode()
    department = entity.ubigeo.province.department
    assert f"department={department.code}" in html
    assert 'stroke-dasharray="4 3"' in html  # the 40% line
    assert 'fill="#a4262c"' in html  # 25% is below the minimum


def test_an_entity_without_contracts_is_ranked_last_as_without_contracts(client):
    with_contracts = _entity_with_contracts(1000, 3000)
    idle = EntityFactory()
    url = reverse("procurement:sme_ranking")
    for sort in ("", "-share", "gap", "value", "name"):
        response = client.get(url, {"year": 2026, "sort": sort})
        rows = response.context["rows"]
        assert [r.ruc for r in rows][-1] == idle.ruc or sort == "name", sort
        assert {r.ruc for r in rows} == {with_contracts.ruc, idle.ruc}
    idle_row = next(r for r in rows if r.ruc == idle.ruc)
    assert idle_row.share.share is None and idle_row.share.eligible_value == 0
    assert "sin contratos" in response.content.decode()
    lines = _csv(client.get(url, {"year": 2026, "format": "csv"}))
    assert [line["ruc"] for line in lines] == [with_contracts.ruc, idle.ruc]
    assert lines[1]["cuota_real"] == ""
