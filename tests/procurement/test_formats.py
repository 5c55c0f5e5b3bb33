"""One money and date format per language, in pages and messages; CSV stays machine-readable."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from core import formatting
from procurement.services import plans
from tests.domain import raises_domain
from tests.factories import (
    draft_plan,
    plan_item_data,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "money", "day"),
    [("es", "S/\xa01\xa0073\xa0600,50", "26/11/2026"), ("en", "S/\xa01,073,600.50", "11/26/2026")],
)
def test_one_format_per_language(language, money, day):
    with translation.override(language):
        assert formatting.money(Decimal("1073600.5")) == money
        assert formatting.day(date(2026, 11, 26)) == day


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_columns_amounts_are_amount(language):
    """formatting.amounts (a table's column, separators read once) writes what amount does."""
    values = [Decimal("1073600.505"), Decimal("0.5"), 999, Decimal("-1234.5"), None, ""]
    with translation.override(language):
        column = formatting.amounts()
        assert [column(v) for v in values] == [formatting.amount(v) for v in values]


@pytest.fixture
def process():
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    return process_from_plan(staff, version)


def test_process_pages_show_the_languages_money_format(client, process):
    client.force_login(process.entity.memberships.get().user)
    html = client.get(f"/gestion/procesos/{process.pk}/").content.decode()
    assert "S/\xa0450\xa0000,00" in html and "450,000" not in html
    client.cookies["django_language"] = "en"
    html = client.get(f"/gestion/procesos/{process.pk}/").content.decode()
    assert "S/\xa0450,000.00" in html


def test_plan_changes_show_amounts_not_raw_decimals(client):
    version, staff = published_plan(items=[{"estimated_value": Decimal("500000")}])
    draft = plans.start_modification(staff, version.plan)
    item = draft.items.get()
    plans.update_item(staff, item, plan_item_data(estimated_value=Decimal("650000")))
    plans.publish_version(
        staff,
        draft,
        approval_date=version.approval_date,
        reason="Mayor demanda",
        sme_justification="prueba",
    )
    url = f"/planes/{version.plan.entity.ruc}/2026/cambios/"
    html = client.get(url).content.decode()
    assert "500\xa0000,00" in html and "650\xa0000,00" in html
    assert "500000.00" not in html


def test_messages_carry_the_languages_date_format():
    version, staff = published_plan(items=[{}])
    draft = plans.start_modification(staff, version.plan)
    earlier = date(version.approval_date.year - 1, 1, 15)
    with raises_domain("approval_before_previous", field="approval_date") as error:
        plans.publish_version(staff, draft, approval_date=earlier, reason="x")
    assert formatting.day(version.approval_date) in error.value.message
    assert version.approval_date.isoformat() not in error.value.message


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", ["12\xa0500", "2,5", "100", "1\xa0234,57", "0,25"]),
        ("en", ["12,500", "2.5", "100", "1,234.57", "0.25"]),
    ],
)
def test_quantities_show_up_to_two_decimals_grouped_per_language(language, expected):
    values = [Decimal("12500"), Decimal("2.50"), Decimal("100.00"), Decimal("1234.567"), "0.25"]
    with translation.override(language):
        assert [formatting.quantity(value) for value in values] == expected
        assert formatting.quantity(None) == formatting.EMPTY


def test_plan_and_process_pages_group_quantities(client):
    version, staff = published_plan(
        items=[
            {
                "catalog_item": "43211503",
                "quantity": Decimal("12500"),
                "estimated_value": Decimal("450000"),
            }
        ]
    )
    html = client.get(f"/planes/{version.plan.entity.ruc}/2026/").content.decode()
    assert "12\xa0500 unidad" in html and "12500" not in html
    process = publish_with_lp_calendar(staff, process_from_plan(staff, version))
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "12\xa0500 unidad" in html and "12500" not in html
    client.cookies["django_language"] = "en"
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "12,500 unit" in html


def test_the_plan_upload_form_says_its_item_limit_in_the_languages_format(client, settings):
    settings.PLAN_UPLOAD_MAX_ITEMS = 12_000
    version, staff = draft_plan()
    client.force_login(staff)
    html = client.get(f"/gestion/planes/{version.pk}/").content.decode()
    assert "12\xa0000" in html and "12,000" not in html
    client.cookies["django_language"] = "en"
    html = client.get(f"/gestion/planes/{version.pk}/").content.decode()
    assert "12,000" in html
