"""The selection committee: designated before the call among the entity's staff, needed to
publish the call, named on the public page."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import clock
from core.models import AuditEntry
from core.workdays import WorkingCalendar
from procurement.models import CommitteeMember
from procurement.services import processes
from procurement.services.committee import committee_refusal, designate_committee
from tests.domain import raises_domain
from tests.factories import (
    EntityFactory,
    lp_calendar,
    process_from_plan,
    published_plan,
    set_default_criteria,
    staff_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    version, staff = published_plan(
        items=[{"description": "Servidores", "estimated_value": Decimal("450000")}]
    )
    process = process_from_plan(staff, version)
    call = WorkingCalendar().next_working_day(timezone.localdate())
    processes.set_calendar(staff, process, lp_calendar(call))
    set_default_criteria(staff, process)  # the call's other condition, tested elsewhere
    return process, staff, staff_of(process.entity, full_name="Ana Torres Ríos")


def test_two_staff_are_designated_with_a_president(draft):
    process, staff, other = draft
    designate_committee(actor=staff, process=process, members=[staff, other], president=other)
    roles = dict(process.committee_members.values_list("user_id", "role"))
    assert roles == {staff.pk: "member", other.pk: "president"}
    assert committee_refusal(process) is None
    entry = AuditEntry.objects.get(action="process.committee_designated")
    assert entry.object_id == str(process.pk) and entry.data["before"] == []


def test_replacing_before_the_call_is_audited_with_before_and_after(draft):
    process, staff, other = draft
    third = staff_of(process.entity)
    designate_committee(actor=staff, process=process, members=[staff, other], president=staff)
    designate_committee(actor=staff, process=process, members=[other, third], president=third)
    assert set(process.committee_members.values_list("user_id", flat=True)) == {other.pk, third.pk}
    entry = AuditEntry.objects.filter(action="process.committee_designated").last()
    assert {m["user"] for m in entry.data["before"]} == {staff.pk, other.pk}
    assert {m["user"] for m in entry.data["after"]} == {other.pk, third.pk}


def test_one_member_is_too_small(draft):
    process, staff, _other = draft
    with raises_domain("committee_too_small", field="members"):
        designate_committee(actor=staff, process=process, members=[staff, staff], president=staff)
    assert not process.committee_members.exists()


def test_staff_of_another_entity_is_refused(draft):
    process, staff, _other = draft
    outsider = staff_of(EntityFactory())
    with raises_domain("not_entity_staff", field="members"):
        designate_committee(
            actor=staff, process=process, members=[staff, outsider], president=staff
        )
    assert not process.committee_members.exists()


def test_only_staff_of_the_entity_designate(draft):
    process, _staff, other = draft
    outsider = staff_of(EntityFactory())
    with pytest.raises(PermissionDenied):
        designate_committee(actor=outsider, process=process, members=[other], president=other)


def test_publish_is_refused_without_a_committee_and_accepted_with_one(draft):
    process, staff, other = draft
    call = process.stages.get(stage="convocatoria").start
    with clock.pinned(call), raises_domain("committee_missing"):
        processes.publish_call(actor=staff, process=process)
    designate_committee(actor=staff, process=process, members=[staff, other], president=staff)
    with clock.pinned(call):
        assert processes.publish_call(actor=staff, process=process).status == "convocado"


def test_after_the_call_the_committee_is_fixed(draft):
    process, staff, other = draft
    designate_committee(actor=staff, process=process, members=[staff, other], president=staff)
    with clock.pinned(process.stages.get(stage="convocatoria").start):
        process = processes.publish_call(actor=staff, process=process)
    third = staff_of(process.entity)
    with raises_domain("after_call"):
        designate_committee(actor=staff, process=process, members=[other, third], president=third)
    assert process.committee_members.count() == 2


def test_a_user_sits_once_per_process(draft):
    process, staff, other = draft
    designate_committee(actor=staff, process=process, members=[staff, other], president=staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        CommitteeMember.objects.create(
            process=process, user=other, role="member", designated_at=clock.now()
        )


def test_the_public_page_names_the_committee_or_says_it_is_missing(draft, client):
    process, staff, other = draft
    # A process called without a committee (older data, the bulk seed): the page still shows.
    process.__class__.objects.filter(pk=process.pk).update(
        status="convocado", published_at=clock.now()
    )
    page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "Comité no designado" in page
    CommitteeMember.objects.create(
        process=process, user=other, role="president", designated_at=clock.now()
    )
    CommitteeMember.objects.create(
        process=process, user=staff, role="member", designated_at=clock.now()
    )
    page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "Ana Torres Ríos" in page and staff.get_full_name() in page
