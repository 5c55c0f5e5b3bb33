from io import StringIO

import pytest
from django.core.management import call_command

from core.models import (
    CatalogItem,
    Department,
    District,
    FiscalYear,
    ProcedureThreshold,
    Province,
    Sector,
)

pytestmark = pytest.mark.django_db


def test_ubigeo_is_complete():
    assert Department.objects.count() == 25
    assert Province.objects.count() == 196
    assert District.objects.count() == 1874
    lima = District.objects.select_related("province__department").get(code="150101")
    assert (lima.name, lima.province.name, lima.province.department.name) == (
        "Lima",
        "Lima",
        "Lima",
    )
    assert District.objects.get(code="150132").name == "San Juan de Lurigancho"


def test_catalog_is_complete_with_hierarchy_and_both_languages():
    counts = {
        level: CatalogItem.objects.filter(level=level).count()
        for level in ["segment", "family", "class", "commodity"]
    }
    assert counts == {"segment": 55, "family": 352, "class": 2032, "commodity": 18350}
    item = CatalogItem.objects.get(code="43211503")
    assert item.parent_id == "43211500" and item.parent.parent_id == "43210000"
    assert item.name_es and item.name_en
    assert not CatalogItem.objects.filter(name_es="").exists()  # Spanish falls back to English


def test_sme_suppliable_flag():
    assert CatalogItem.objects.get(code="44121701").sme_suppliable  # office supplies
    assert CatalogItem.objects.get(code="72130000").sme_suppliable is False  # building construction
    assert CatalogItem.objects.get(code="25131700").sme_suppliable is False  # aircraft
    assert CatalogItem.objects.get(code="72101500").sme_suppliable  # building maintenance services


def test_fiscal_year_parameters():
    years = {y.year: y for y in FiscalYear.objects.all()}
    assert set(years) == {2024, 2025, 2026, 2027}
    assert years[2025].uit == 5350
    assert years[2026].sme_rule_id == "ley-28015"
    assert ProcedureThreshold.objects.filter(fiscal_year=2026).count() == 17
    eight_uit = ProcedureThreshold.objects.get(
        fiscal_year=2026, procedure_type="AS", object_type="goods"
    )
    assert (eight_uit.min_uit, eight_uit.min_amount) == (8, None)  # stays in UIT
    assert eight_uit.lower(years[2026].uit) == 8 * years[2026].uit
    assert Sector.objects.filter(code="salud").exists()


def test_loader_is_idempotent_and_keeps_admin_edits():
    item = CatalogItem.objects.get(code="44121701")
    item.sme_suppliable = False
    item.save()
    call_command("load_reference_data", stdout=StringIO())
    assert CatalogItem.objects.count() == 20789
    assert District.objects.count() == 1874
    assert CatalogItem.objects.get(code="44121701").sme_suppliable is False
    call_command("load_reference_data", "--update", stdout=StringIO())
    assert CatalogItem.objects.get(code="44121701").sme_suppliable is True


def test_a_rerun_says_what_it_created_and_what_was_already_there():
    thresholds = ProcedureThreshold.objects.count()
    ProcedureThreshold.objects.filter(fiscal_year=2027).delete()
    missing = thresholds - ProcedureThreshold.objects.count()
    out = StringIO()
    call_command("load_reference_data", stdout=out)
    lines = out.getvalue().splitlines()
    assert f"  procedure thresholds: {missing} created, {thresholds - missing} already present" in (
        lines
    )
    assert "  districts: 0 created, 1874 already present" in lines
    assert "  catalog items: 0 created, 20789 already present" in lines
    assert "  procedure stages: 0 created, 58 already present" in lines
    assert "  stage minimums: 0 created, 18 already present" in lines
    assert ProcedureThreshold.objects.count() == thresholds
    out = StringIO()
    call_command("load_reference_data", "--update", stdout=out)
    lines = out.getvalue().splitlines()
    assert f"  procedure thresholds: 0 created, {thresholds} rewritten from the files" in lines
    assert "  departments: 0 created, 25 rewritten from the files" in lines
