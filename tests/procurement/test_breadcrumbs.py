"""Breadcrumbs show the drill-down path (issue 12): Inicio › Entidades › department ›
entity › process › contract, and Inicio › Proveedores › department › supplier. Each crumb is
a link that works (the department's crumb lists its entities or suppliers), the last one is
the page itself (aria-current), and nothing outside the trail's nav is needed."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client

from core import clock
from procurement.models import Entity, ProcurementPlan
from procurement.services import contracts
from tests.procurement.evaluating import awarded_tender, consent

pytestmark = pytest.mark.django_db
NAV = re.compile(
    r'<nav class="breadcrumbs" aria-label="([^"]+)"><ol role="list">(.*?)</ol></nav>', re.S
)
CRUMB = re.compile(
    r'<li>(?:<a href="([^"]+)">([^<]*)</a>|<span aria-current="page">([^<]*)</span>)</li>'
)


def crumbs(client, url) -> list[tuple[str | None, str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    [(label, items)] = NAV.findall(response.content.decode())
    assert label == "Ruta de navegación"
    found = [
        (unescape(href) or None, unescape(text or here))
        for href, text, here in CRUMB.findall(items)
    ]
    assert found and found[0] == ("/", "Inicio")
    assert found[-1][0] is None  # the page itself, not a link
    assert all(href for href, _text in found[:-1])
    return found


@pytest.fixture
def world():
    tender, award, _people = awarded_tender()
    award = consent(award)
    with clock.pinned(clock.local(award.consented_on) + timedelta(days=2)):
        contract = contracts.sign_contract(
            actor=tender.staff,
            award=award,
            number="C-9-2026",
            signed_on=award.consented_on,
            term_days=30,
            guarantee="fiel_cumplimiento",
        )
    return tender.process, contract


def test_the_drill_down_path_from_department_to_contract(world):
    process, contract = world
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    entity = Entity.objects.select_related("ubigeo__province__department").get(pk=process.entity_id)
    department = entity.ubigeo.province.department
    to_entity = [
        ("/", "Inicio"),
        ("/entidades/", "Entidades"),
        (f"/entidades/?department={department.code}", department.name),
    ]
    to_process = [*to_entity, (f"/entidades/{entity.ruc}/", entity.name)]
    to_contract = [*to_process, (f"/procesos/{process.identifier}/", process.identifier)]

    assert crumbs(client, f"/entidades/{entity.ruc}/") == [*to_entity, (None, entity.name)]
    assert crumbs(client, f"/procesos/{process.identifier}/") == [
        *to_process,
        (None, process.identifier),
    ]
    assert crumbs(client, f"/contratos/{contract.pk}/") == [
        *to_contract,
        (None, f"Contrato {contract.number}"),
    ]
    assert crumbs(client, f"/procesos/{process.identifier}/evaluacion/")[:-1] == to_contract
    assert crumbs(client, f"/procesos/{process.identifier}/apertura/")[:-1] == to_contract
    # Every link on the way works, and the department's lists its entities (this one too).
    for href, _text in to_contract:
        assert client.get(href).status_code == 200, href
    listed = client.get(f"/entidades/?department={department.code}").content.decode()
    assert entity.name in listed


def test_the_supplier_record_sits_under_its_department(world):
    _process, contract = world
    supplier = contract.supplier
    department = supplier.domicile.province.department
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    assert crumbs(client, f"/proveedores/{supplier.ruc}/") == [
        ("/", "Inicio"),
        ("/proveedores/", "Proveedores"),
        (f"/proveedores/?department={department.code}", department.name),
        (None, supplier.legal_name),
    ]
    listed = client.get(f"/proveedores/?department={department.code}").content.decode()
    assert supplier.legal_name in listed


def test_plan_price_and_dictionary_pages_have_their_trail(world):
    process, _contract = world
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    plan = ProcurementPlan.objects.select_related("entity").get(entity=process.entity)
    trail = crumbs(client, f"/planes/{plan.entity.ruc}/{plan.fiscal_year_id}/")
    assert trail[-1] == (None, f"Plan anual de contrataciones {plan.fiscal_year_id}")
    assert trail[-2] == (f"/entidades/{plan.entity.ruc}/", plan.entity.name)
    code = process.items.first().catalog_item_id
    assert crumbs(client, f"/precios/{code}/") == [
        ("/", "Inicio"),
        ("/estadisticas/", "Estadísticas de compras"),
        (None, f"Precios de {code}"),
    ]
    assert crumbs(client, "/datos/diccionario/")[-2:] == [
        ("/datos/", "Datos abiertos"),
        (None, "Diccionario de datos"),
    ]
