"""The process identifier has one definition (procurement.models.process_identifier), used by
the service that creates processes and by the demo seed."""

from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command

from procurement.models import ProcurementProcess, process_identifier
from tests.factories import process_from_plan, published_plan

pytestmark = pytest.mark.django_db


def test_the_identifier_follows_seaces_nomenclature():
    identifier = process_identifier(
        procedure_type="AS", sequence=3, year=2026, entity_acronym="MINSA", call_number=2
    )
    assert identifier == "AS-SM-3-2026-MINSA-2"


def _expected(process: ProcurementProcess) -> str:
    return process_identifier(
        procedure_type=process.procedure_type,
        sequence=process.sequence,
        year=process.fiscal_year_id,
        entity_acronym=process.entity.acronym,
        call_number=process.call_number,
    )


def test_the_service_names_a_process_with_it():
    version, staff = published_plan(
        items=[
            {"description": "Servidores", "catalog_item": "43211503", "estimated_value": D(450000)}
        ]
    )
    process = process_from_plan(staff, version)
    assert process.identifier == _expected(process)


def test_the_seed_names_every_process_with_it():
    call_command(
        "seed_demo", "--processes", "80", "--seed", "3", "--today", "2026-11-25", stdout=StringIO()
    )
    processes = list(ProcurementProcess.objects.select_related("entity"))
    assert len(processes) >= 80
    assert [p.identifier for p in processes] == [_expected(p) for p in processes]
