"""Staff run a process through the pages; other users are refused."""

from decimal import Decimal

import pytest
from django.utils import timezone

from core.workdays import WorkingCalendar
from procurement.models import ProcurementProcess
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    lp_calendar,
    published_plan,
    staff_of,
    user_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(client):
    version, staff = published_plan(
        items=[
            {
                "description": "Servidores",
                "catalog_item": "43211503",
                "estimated_value": Decimal("450000"),
            }
        ]
    )
    client.force_login(staff)
    return version


def _create(client, version, procedure="LP"):
    return client.post(
        f"/gestion/procesos/nuevo/{version.pk}/",
        {
            "procedure_type": procedure,
            "description": "Servidores para el data center",
            "delivery_place": "Sede central",
            "delivery_department": "15",
            "delivery_district": "Lima",
            "plan_items": [version.items.get().pk],
        },
    )


def test_staff_create_schedule_and_publish_a_process(client, plan):
    response = _create(client, plan, procedure="AS")
    assert response.status_code == 400
    assert "Licitación Pública" in response.content.decode()
    response = _create(client, plan)
    assert response.status_code == 302
    process = ProcurementProcess.objects.get()
    base = f"/gestion/procesos/{process.pk}/"
    assert "Convocar" in client.get(base).content.decode()
    response = client.post(base + "estado/", {"action": "publish"})
    assert response.status_code == 400 and "Faltan fechas" in response.content.decode()

    call = WorkingCalendar().next_working_day(timezone.localdate())
    dates = lp_calendar(call)
    form = {
        f"{stage}_{edge}": value.isoformat()
        for stage, pair in dates.items()
        for edge, value in zip(("start", "end"), pair, strict=True)
    }
    short = {**form, "ofertas_end": dates["consultas"][1].isoformat()}
    response = client.post(base + "calendario/", short)
    assert response.status_code == 400 and "22" in response.content.decode()
    assert client.post(base + "calendario/", form).status_code == 302
    page = client.get(base).content.decode()
    assert 'data-code="committee_missing"' in page
    response = client.post(base + "estado/", {"action": "publish"})
    assert response.status_code == 400
    staff = process.entity.memberships.get().user
    other = staff_of(process.entity, full_name="Rosa Quispe Mamani")
    response = client.post(base + "comite/", {"members": [staff.pk], "president": staff.pk})
    assert (
        response.status_code == 400
        and ProcurementProcess.objects.get().committee_members.count() == 0
    )
    chosen = {"members": [staff.pk, other.pk], "president": other.pk}
    assert client.post(base + "comite/", chosen).status_code == 302
    assert 'data-code="criteria_missing"' in client.get(base).content.decode()
    response = client.post(base + "estado/", {"action": "publish"})
    assert response.status_code == 400 and ProcurementProcess.objects.get().status == "draft"
    criteria = {
        "award": "whole",
        "criteria-TOTAL_FORMS": "2",
        "criteria-INITIAL_FORMS": "0",
        "criteria-0-kind": "technical",
        "criteria-0-name": "Experiencia del postor",
        "criteria-0-weight": "60",
        "criteria-1-kind": "economic",
        "criteria-1-name": "Precio",
        "criteria-1-weight": "40",
    }
    assert client.post(base + "criterios/", criteria).status_code == 302
    assert client.post(base + "estado/", {"action": "publish"}).status_code == 302
    public = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "Rosa Quispe Mamani" in public and staff.get_full_name() in public
    process.refresh_from_db()
    assert process.status == "convocado"
    response = client.post(base + "estado/", {"action": "cancel"})
    assert response.status_code == 400 and "motivo" in response.content.decode()
    response = client.post(base + "estado/", {"action": "award"})  # only through an evaluation
    assert response.status_code == 400 and 'value="award"' not in response.content.decode()
    assert (
        client.post(
            base + "estado/", {"action": "cancel", "reason": "Ya no se requiere"}
        ).status_code
        == 302
    )
    process.refresh_from_db()
    assert process.status == "cancelado"
    assert "Cancelado" in client.get(f"/procesos/{process.identifier}/").content.decode()


@pytest.mark.parametrize("who", ["other_staff", "supplier", "anonymous"])
def test_other_users_cannot_touch_the_process(client, plan, who):
    assert _create(client, plan).status_code == 302
    process = ProcurementProcess.objects.get()
    client.logout()
    if who == "other_staff":
        client.force_login(staff_of(EntityFactory()))
    elif who == "supplier":
        client.force_login(user_of(SupplierFactory()))
    expected = 302 if who == "anonymous" else 403
    base = f"/gestion/procesos/{process.pk}/"
    assert client.get(base).status_code == expected
    assert (
        client.post(base + "estado/", {"action": "cancel", "reason": "x"}).status_code == expected
    )
    assert client.post(base + "calendario/", {}).status_code == expected
    assert _create(client, plan).status_code == expected
    process.refresh_from_db()
    assert process.status == "draft"


def test_staff_create_a_process_outside_the_plan_with_its_reason(client, plan):
    entity = plan.plan.entity
    data = {
        "entity": entity.pk,
        "year": 2026,
        "procedure_type": "COMPRE",
        "description": "Mascarillas",
        "delivery_place": "Sede",
        "delivery_department": "15",
        "delivery_district": "Lima",
        "object_type": "goods",
        "catalog_code": "44121701",
        "item_description": "Mascarillas KN95",
        "quantity": "1000",
        "unit": "NIU",
        "estimated_value": "50000",
    }
    response = client.post("/gestion/procesos/nuevo/fuera-del-plan/", data)
    assert response.status_code == 400 and "motivo" in response.content.decode().lower()
    response = client.post(
        "/gestion/procesos/nuevo/fuera-del-plan/",
        {**data, "outside_plan_reason": "Emergencia sanitaria"},
    )
    assert response.status_code == 302
    process = ProcurementProcess.objects.get()
    assert (
        process.outside_plan_reason == "Emergencia sanitaria"
        and process.items.get().plan_item is None
    )
    other = EntityFactory()
    response = client.post(
        "/gestion/procesos/nuevo/fuera-del-plan/",
        {**data, "entity": other.pk, "outside_plan_reason": "x"},
    )
    assert response.status_code == 400
    assert ProcurementProcess.objects.count() == 1


def test_an_item_in_a_live_process_is_not_offered_again_after_a_plan_modification(client, plan):
    from procurement.services import plans

    assert _create(client, plan).status_code == 302
    staff = plan.plan.entity.memberships.get().user
    draft = plans.start_modification(staff, plan.plan)
    plans.publish_version(
        staff,
        draft,
        approval_date=timezone.localdate(),
        reason="Ajuste",
        sme_justification="prueba",
    )
    page = client.get(f"/gestion/procesos/nuevo/{draft.pk}/").content.decode()
    assert "Servidores" not in page
    same_item = draft.items.get()
    response = _create(client, draft)
    assert response.status_code == 400
    assert ProcurementProcess.objects.count() == 1
    assert same_item.reference == plan.items.get().reference
