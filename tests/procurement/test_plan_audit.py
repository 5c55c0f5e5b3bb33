"""Every change to a draft plan version writes its audit entry, in the same transaction; a
refused change writes none (issue 7, item 15)."""

import hashlib
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import DomainError
from core.models import AuditEntry
from procurement.models import PlanItem, PlanVersion
from procurement.plan_import import COLUMNS
from procurement.services import plans
from tests.factories import EntityFactory, draft_plan, plan_item_data, published_plan, staff_of

pytestmark = pytest.mark.django_db
D = Decimal
VERSION = "procurement.planversion"


class Trail:
    """The entries written since it was opened."""

    def __init__(self):
        self.head = AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True)
        self.start = self.head.first() or 0

    def new(self):
        return list(AuditEntry.objects.filter(sequence__gt=self.start).order_by("sequence"))


def only_entry(trail, action, version):
    entries = trail.new()
    assert [(e.action, e.object_type, e.object_id) for e in entries] == [
        (action, VERSION, str(version.pk))
    ]
    return entries[0].data


def test_creating_a_plan_records_the_plan_and_its_draft():
    entity = EntityFactory()
    staff = staff_of(entity)
    trail = Trail()
    version = plans.create_plan(staff, entity, 2026)
    [entry] = trail.new()
    assert (entry.action, entry.object_type, entry.object_id) == (
        "plan.created",
        "procurement.procurementplan",
        str(version.plan_id),
    )
    assert entry.data == {"entity": entity.ruc, "year": 2026, "draft": version.pk, "version": 0}
    assert entry.actor_id == staff.pk


def test_adding_an_item_records_every_value_of_the_new_item():
    version, staff = draft_plan()
    trail = Trail()
    item = plans.add_item(
        staff, version, plan_item_data(description="Papel bond", estimated_value=D("1234.5"))
    )
    assert only_entry(trail, "plan.item_added", version) == {
        "item": item.reference,
        "object_type": "goods",
        "catalog_item": "44121701",
        "description": "Papel bond",
        "quantity": "100.00",
        "unit": "NIU",
        "estimated_value": "1234.50",
        "procedure_type": "COMPRE",
        "planned_month": 3,
        "sme_reserved": False,
    }


def test_changing_an_item_records_before_and_after_of_the_changed_fields_only():
    version, staff = draft_plan(items=[{"description": "Tóner"}])
    item = version.items.get()
    trail = Trail()
    plans.update_item(
        staff,
        item,
        plan_item_data(
            description="Tóner", estimated_value=D("3500"), planned_month=7, catalog_item="43211503"
        ),
    )
    assert only_entry(trail, "plan.item_changed", version) == {
        "item": item.reference,
        "changes": {
            "catalog_item": {"before": "44121701", "after": "43211503"},
            "estimated_value": {"before": "1000.00", "after": "3500.00"},
            "planned_month": {"before": 3, "after": 7},
        },
    }


def test_saving_an_unchanged_item_writes_no_entry():
    version, staff = draft_plan(items=[{}])
    trail = Trail()
    # The same values, one of them written differently (100 is the stored 100.00).
    plans.update_item(staff, version.items.get(), plan_item_data(quantity=D("100")))
    assert trail.new() == []


def test_deleting_an_item_records_what_was_deleted():
    version, staff = draft_plan(items=[{"description": "Sillas", "sme_reserved": True}])
    item = version.items.get()
    trail = Trail()
    plans.delete_item(staff, item)
    data = only_entry(trail, "plan.item_deleted", version)
    assert data["item"] == item.reference
    assert (data["description"], data["estimated_value"], data["sme_reserved"]) == (
        "Sillas",
        "1000.00",
        True,
    )
    assert not PlanItem.objects.filter(pk=item.pk).exists()


def test_a_load_from_a_file_writes_one_entry_summing_it_up(client):
    version, staff = draft_plan(items=[{"description": "Ítem existente"}])
    header = ",".join(name for name, _field in COLUMNS)
    rows = [f"bienes,44121701,Ítem {n},1,unidad,{1000 + n}.25,AS,3,no" for n in range(3)]
    content = "\n".join([header, *rows]).encode()
    client.force_login(staff)
    trail = Trail()
    response = client.post(
        f"/gestion/planes/{version.pk}/cargar/",
        {"file": SimpleUploadedFile("pac.csv", content), "mode": "replace"},
    )
    assert response.status_code == 302
    assert only_entry(trail, "plan.items_imported", version) == {
        "rows": 3,
        "total_value": "3003.75",
        "file_sha256": hashlib.sha256(content).hexdigest(),
        "replace": True,
        "replaced_items": 1,
    }


def test_discarding_a_draft_records_what_it_held():
    version, staff = draft_plan(items=[{"estimated_value": D("10")}, {"estimated_value": D("5")}])
    trail = Trail()
    plans.discard_draft(staff, version)
    assert only_entry(trail, "plan.draft_discarded", version) == {
        "version": 0,
        "items": 2,
        "total_value": "15.00",
        "plan_deleted": True,
    }


def test_starting_a_modification_records_the_new_draft():
    version, staff = published_plan(items=[{}, {}])
    trail = Trail()
    draft = plans.start_modification(staff, version.plan)
    assert only_entry(trail, "plan.modification_started", draft) == {
        "version": 1,
        "from_version": 0,
        "items_copied": 2,
    }


def test_refused_changes_write_no_entry():
    version, staff = published_plan(items=[{}])
    item = version.items.get()
    other_staff = staff_of(EntityFactory())
    trail = Trail()
    refusals = [
        lambda: plans.add_item(staff, version, plan_item_data()),
        lambda: plans.update_item(staff, item, plan_item_data(estimated_value=D("1"))),
        lambda: plans.delete_item(staff, item),
        lambda: plans.import_items(
            staff, version, [plan_item_data()], replace=True, file_sha256="0" * 64
        ),
        lambda: plans.discard_draft(staff, version),
    ]
    for refused in refusals:
        with pytest.raises(DomainError) as error:
            refused()
        assert error.value.code == "version_published"
    draft = plans.start_modification(staff, version.plan)
    trail = Trail()
    with pytest.raises(DomainError):
        plans.start_modification(staff, version.plan)  # one draft at a time
    with pytest.raises(DomainError) as error:
        plans.publish_version(staff, draft, approval_date=timezone.localdate())
    assert error.value.field == "reason"
    for refused in [
        lambda: plans.add_item(other_staff, draft, plan_item_data()),
        lambda: plans.delete_item(other_staff, draft.items.get()),
    ]:
        with pytest.raises(PermissionDenied):
            refused()
    assert trail.new() == []
    assert PlanVersion.objects.get(pk=draft.pk).items.count() == 1
