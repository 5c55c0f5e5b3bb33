"""A supplier's SME standing on a day: a classification based on the sales of one of the
two previous years, under the SME rule in force that day (suppliers.services.sme_standing_on),
and the refusal SME-only processes give (procurement.services.participation.sme_refusal)."""

from datetime import date
from decimal import Decimal

import pytest

from core import clock
from core.codelists import SizeClass
from core.models import FiscalYear
from procurement.services.participation import sme_refusal
from suppliers.models import SizeClassification
from suppliers.services import classify_supplier, sme_rule_in_force, sme_standing_on
from tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _set_rule(year: int, rule: str) -> None:
    FiscalYear.objects.filter(pk=year).update(sme_rule_id=rule)


def test_sales_count_for_the_two_following_years_only():
    """Sales of 2024 classify a supplier in 2025 and 2026, not in 2024 itself nor in 2027."""
    supplier = SupplierFactory(size_class="")
    classify_supplier(supplier, sales_year=2024, annual_sales=D("300000"), workers=4)
    for day, counts in [
        (date(2024, 12, 31), False),
        (date(2025, 1, 1), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),
    ]:
        standing = sme_standing_on(supplier, day)
        assert standing.is_sme is counts, day
        assert (standing.classification is not None) is counts, day
        with clock.pinned(day):
            assert (sme_refusal(supplier) is None) is counts, day  # day defaults to today


def test_across_the_new_year_the_refusal_names_the_years_it_wants():
    supplier = SupplierFactory(size_class=SizeClass.MICRO)
    classify_supplier(supplier, sales_year=2024, annual_sales=D("300000"), workers=4)
    with clock.pinned(date(2026, 12, 31)):
        assert sme_refusal(supplier) is None
    with clock.pinned(date(2027, 1, 1)):
        refusal = sme_refusal(supplier)
    # Its current class still says micro, but no classification of 2025 or 2026 sales exists.
    assert refusal is not None and "2025 o 2026" in refusal
    assert sme_refusal(supplier, date(2026, 6, 1)) is None  # an explicit day wins


def test_the_newest_sales_year_counts_and_a_later_review_replaces_a_declaration():
    supplier = SupplierFactory(size_class="")
    classify_supplier(supplier, sales_year=2024, annual_sales=D("300000"), workers=4)
    classify_supplier(supplier, sales_year=2025, annual_sales=D("9000000"), workers=90)
    day = date(2026, 3, 2)
    standing = sme_standing_on(supplier, day)
    assert standing.classification.sales_year_id == 2025
    assert standing.size_class == SizeClass.MEDIUM_OR_LARGE and not standing.is_sme
    refusal = sme_refusal(supplier, day)
    assert "2025" in refusal and "Ley 28015 (2003)" in refusal
    assert "mediana o gran empresa" in refusal
    classify_supplier(
        supplier,
        sales_year=2025,
        annual_sales=D("900000"),
        workers=12,
        source=SizeClassification.Source.REVIEW,
    )
    assert sme_standing_on(supplier, day).size_class == SizeClass.SMALL
    assert sme_refusal(supplier, day) is None


def test_the_rule_in_force_that_day_applies_to_figures_classified_under_another():
    """1,000 UIT with 80 workers: medium or large under Law 28015, small under Law 30056."""
    supplier = SupplierFactory(size_class="")
    uit_2025 = FiscalYear.objects.get(pk=2025).uit
    classify_supplier(supplier, sales_year=2025, annual_sales=uit_2025 * 1000, workers=80)
    day = date(2026, 5, 4)
    assert sme_rule_in_force(day).pk == "ley-28015"
    assert not sme_standing_on(supplier, day).is_sme
    _set_rule(2026, "ley-30056")
    standing = sme_standing_on(supplier, day)
    assert standing.rule.pk == "ley-30056" and standing.reclassified
    assert standing.size_class == SizeClass.SMALL and sme_refusal(supplier, day) is None
    # The rule of 2025 still governs a day of 2025.
    assert not sme_standing_on(supplier, date(2025, 12, 31)).reclassified


def test_a_class_the_rule_in_force_no_longer_admits_is_refused_naming_both_rules():
    _set_rule(2025, "ley-30056")
    supplier = SupplierFactory(size_class="")
    uit_2025 = FiscalYear.objects.get(pk=2025).uit
    made = classify_supplier(supplier, sales_year=2025, annual_sales=uit_2025 * 1000, workers=80)
    assert made.size_class == SizeClass.SMALL and made.rule_id == "ley-30056"
    day = date(2026, 5, 4)  # 2026 keeps Law 28015, which also counts workers
    refusal = sme_refusal(supplier, day)
    assert refusal is not None
    assert "Ley 28015 (2003)" in refusal and "Ley 30056 (2013)" in refusal


def test_a_year_without_parameters_follows_the_latest_rule():
    last = FiscalYear.objects.order_by("-year").first()
    later = date(last.year + 3, 2, 1)
    assert sme_rule_in_force(later) == last.sme_rule
    assert sme_rule_in_force(date(1990, 1, 1)) is None
    assert sme_refusal(SupplierFactory(), date(1990, 1, 1)) is not None
