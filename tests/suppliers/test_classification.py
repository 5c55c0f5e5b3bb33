from decimal import Decimal

import pytest

from core.codelists import SizeClass
from core.models import FiscalYear, SmeRule
from suppliers.models import SizeClassification, Supplier
from suppliers.services import classify_supplier
from tests.domain import raises_domain
from tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.mark.parametrize(
    ("sales_uit", "workers", "expected"),
    [
        ("150", 10, SizeClass.MICRO),
        ("150.01", 10, SizeClass.SMALL),
        ("150", 11, SizeClass.SMALL),
        ("0", 0, SizeClass.MICRO),
        ("850", 50, SizeClass.SMALL),
        ("850.01", 50, SizeClass.MEDIUM_OR_LARGE),
        ("850", 51, SizeClass.MEDIUM_OR_LARGE),
        ("100", 51, SizeClass.MEDIUM_OR_LARGE),
    ],
)
def test_law_28015_needs_both_sales_and_workers_within_the_limit(sales_uit, workers, expected):
    rule = SmeRule.objects.get(pk="ley-28015")
    assert rule.classify(D(sales_uit), workers) == expected


@pytest.mark.parametrize(
    ("sales_uit", "workers", "expected"),
    [
        ("150", 500, SizeClass.MICRO),
        ("150.01", 1, SizeClass.SMALL),
        ("1700", 1, SizeClass.SMALL),
        ("1700.01", 1, SizeClass.MEDIUM),
        ("2300", 1, SizeClass.MEDIUM),
        ("2300.01", 1, SizeClass.LARGE),
    ],
)
def test_law_30056_classifies_by_sales_only(sales_uit, workers, expected):
    rule = SmeRule.objects.get(pk="ley-30056")
    assert rule.classify(D(sales_uit), workers) == expected


def test_service_classifies_soles_at_the_exact_edge_of_150_uit():
    """S/ 802,500 is exactly 150 UIT of 2025 (UIT S/ 5,350); one cent more is not micro."""
    at_edge = classify_supplier(
        SupplierFactory(size_class=""), sales_year=2025, annual_sales=D("802500.00"), workers=10
    )
    assert at_edge.size_class == SizeClass.MICRO
    above = classify_supplier(
        SupplierFactory(size_class=""), sales_year=2025, annual_sales=D("802500.01"), workers=10
    )
    assert above.size_class == SizeClass.SMALL
    assert above.sales_uit == D("150.00")  # stored rounded; compared exactly


def test_classification_keeps_history_and_the_rule_name():
    supplier = SupplierFactory(size_class="")
    classify_supplier(supplier, sales_year=2024, annual_sales=D("100000"), workers=3)
    year = FiscalYear.objects.get(pk=2025)
    year.sme_rule_id = "ley-30056"
    year.save()
    latest = classify_supplier(supplier, sales_year=2025, annual_sales=D("5350000"), workers=80)
    # 1,000 UIT with 80 workers: small under Law 30056 (would be above small under 28015).
    assert latest.size_class == SizeClass.SMALL
    assert latest.rule_id == "ley-30056"
    supplier.refresh_from_db()
    assert (supplier.size_class, supplier.size_rule_id) == (SizeClass.SMALL, "ley-30056")
    history = list(
        SizeClassification.objects.filter(supplier=supplier).values_list("rule_id", "size_class")
    )
    assert history == [("ley-30056", "small"), ("ley-28015", "micro")]


def test_negative_sales_are_refused_and_nothing_is_written():

    supplier = SupplierFactory(size_class="")
    with raises_domain("invalid", field="annual_sales"):
        classify_supplier(supplier, sales_year=2025, annual_sales=D("-1"), workers=1)
    with raises_domain("invalid", field="sales_year"):
        classify_supplier(supplier, sales_year=1999, annual_sales=D("1"), workers=1)
    assert not supplier.classifications.exists()
    assert Supplier.objects.get(pk=supplier.pk).size_class == ""


def test_public_record_shows_the_size_class_with_its_rule(client):
    supplier = SupplierFactory(size_class="")
    classify_supplier(supplier, sales_year=2025, annual_sales=D("123457"), workers=4)
    response = client.get(f"/proveedores/{supplier.ruc}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Microempresa" in html
    assert "Ley 28015 (2003)" in html
    assert not any(
        figure in html for figure in ["123457", "123,457", "123 457", "123\xa0457", "123.457"]
    )
