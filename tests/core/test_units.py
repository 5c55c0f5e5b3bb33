"""Units of measure are a codelist (core.codelists.Unit), never free text: what people and
other portals write is read into a code by unit_from_text, and the database refuses any
other value (issue 12: "unidad" and "caja x 100" are never mixed)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from core.codelists import Unit, unit_from_text
from procurement.models import PlanItem, ProcessItem
from tests.factories import process_from_plan, published_plan


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("unidad", "NIU"),
        ("  UNIDADES ", "NIU"),
        ("Und.", "NIU"),
        ("Cajas", "BX"),
        ("caja", "BX"),
        ("box", "BX"),
        ("KGM", "KGM"),
        ("kg", "KGM"),
        ("Galón", "GLL"),
        ("galones", "GLL"),
        ("metros cuadrados", "MTK"),
        ("m3", "MTQ"),
        ("meses", "MON"),
        ("mes", "MON"),
        ("servicio", "E48"),
        ("Global", "LS"),
        ("obra", "LS"),
        ("paquete", "PK"),
        ("millares", "MIL"),
        ("ml", "MLT"),
    ],
)
def test_what_people_write_is_read_into_the_codelist(text, code):
    assert unit_from_text(text) == code


@pytest.mark.parametrize("text", ["", None, "caja x 100", "bolsita", "12", "unidad de caja"])
def test_anything_else_is_not_a_unit(text):
    assert unit_from_text(text) is None


def test_every_code_reads_back_as_itself_and_by_its_spanish_and_english_names():
    from django.utils import translation

    for unit in Unit:
        assert unit_from_text(unit.value) == unit.value
        for language in ("es", "en"):
            with translation.override(language):
                assert unit_from_text(str(unit.label)) == unit.value, (language, unit.label)


@pytest.mark.django_db
def test_the_database_refuses_a_unit_outside_the_codelist():
    version, staff = published_plan(items=[{"estimated_value": Decimal("500000")}])
    process = process_from_plan(staff, version)
    item = process.items.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcessItem.objects.filter(pk=item.pk).update(unit="caja x 100"[:3])
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanItem.objects.filter(pk=item.plan_item_id).update(unit="UND")
    item.refresh_from_db()
    assert item.unit == Unit.UNIT
