from decimal import Decimal

import pytest

from tests.factories import process_from_plan, publish_with_lp_calendar, published_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def called():
    version, staff = published_plan(
        items=[
            {
                "description": "Computadoras portátiles",
                "catalog_item": "43211503",
                "estimated_value": Decimal("450000"),
            },
            {
                "description": "Papel bond",
                "estimated_value": Decimal("60000"),
                "sme_reserved": True,
            },
        ]
    )
    lp = process_from_plan(
        staff,
        version,
        [version.items.get(description__startswith="Computadoras")],
        description="Adquisición de computadoras portátiles",
    )
    lp = publish_with_lp_calendar(staff, lp)
    draft = process_from_plan(
        staff,
        version,
        [version.items.get(description="Papel bond")],
        procedure_type="COMPRE",
        description="Papel para oficinas",
    )
    return lp, draft


def test_process_page_shows_stages_items_and_history(client, called):
    lp, _draft = called
    response = client.get(f"/procesos/{lp.identifier}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Convocatoria" in html and "Presentación de ofertas" in html
    assert "Computadoras portátiles" in html
    assert "Borrador → Convocado" in html


def test_drafts_are_not_public(client, called):
    lp, draft = called
    assert client.get(f"/procesos/{draft.identifier}/").status_code == 404
    html = client.get("/procesos/").content.decode()
    assert lp.identifier in html and draft.identifier not in html


def test_search_filters_and_csv(client, called):
    lp, _draft = called
    assert lp.identifier in client.get("/procesos/", {"q": "portátiles"}).content.decode()
    assert lp.identifier not in client.get("/procesos/", {"q": "ambulancias"}).content.decode()
    response = client.get("/procesos/", {"q": lp.identifier.lower()})  # straight to it
    assert response.status_code == 302 and response["Location"] == f"/procesos/{lp.identifier}/"
    assert (
        lp.identifier
        in client.get(
            "/procesos/", {"procedure_type": "LP", "status": "convocado"}
        ).content.decode()
    )
    assert lp.identifier not in client.get("/procesos/", {"sme_only": "true"}).content.decode()
    response = client.get("/procesos/", {"status": "nonsense", "min_value": "x"})
    assert response.status_code == 400 and "Introduzca un número" in response.content.decode()
    response = client.get("/procesos/", {"min_value": "x", "format": "csv"})
    assert response.status_code == 400 and "min_value" in response.content.decode()
    response = client.get("/procesos/", {"format": "csv", "entity": lp.entity.ruc})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("nomenclatura,") and lp.identifier in body


def test_home_and_entity_page_list_latest_processes(client, called):
    lp, _draft = called
    assert lp.identifier in client.get("/").content.decode()
    assert lp.identifier in client.get(f"/entidades/{lp.entity.ruc}/").content.decode()
