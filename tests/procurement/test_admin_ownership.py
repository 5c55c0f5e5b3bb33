"""Ownership (the entity of a plan and everything in it, the plan's year) is set once by the
services: the admin cannot move a plan or a process to another entity."""

from decimal import Decimal

import pytest

from procurement.models import PlanItem, PlanVersion, ProcurementProcess
from tests.factories import EntityFactory, admin_user, process_from_plan, published_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def version():
    version, _ = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    return version


def test_admin_cannot_move_a_plan_to_another_entity_or_year(client, version):
    plan = version.plan
    owner, other = plan.entity, EntityFactory()
    client.force_login(admin_user())
    response = client.post(
        f"/admin/procurement/procurementplan/{plan.pk}/change/",
        {"entity": other.pk, "fiscal_year": 2027},
    )
    assert response.status_code == 403
    plan.refresh_from_db()
    assert (plan.entity, plan.fiscal_year_id) == (owner, 2026)
    assert client.get(f"/admin/procurement/procurementplan/{plan.pk}/change/").status_code == 200
    assert client.get("/admin/procurement/procurementplan/add/").status_code == 403


@pytest.mark.parametrize(
    "model", [PlanVersion, PlanItem, ProcurementProcess], ids=lambda m: m._meta.model_name
)
def test_admin_cannot_change_owned_records(client, version, model):
    staff = version.plan.entity.memberships.get().user
    process_from_plan(staff, version)
    obj = model.objects.first()
    owner, other = obj.entity_id, EntityFactory()
    client.force_login(admin_user())
    url = f"/admin/procurement/{model._meta.model_name}/{obj.pk}/change/"
    assert client.post(url, {"entity": other.pk}).status_code == 403
    obj.refresh_from_db()
    assert obj.entity_id == owner
