"""Events (the outbox) name their process, one kind per action, and who may learn of them."""

from decimal import Decimal

import pytest
from django.db import transaction

from core import audit, clock
from notifications import events
from notifications.models import Audience, Event, EventKind
from procurement.models import ProcurementProcess
from procurement.services import participation, processes
from tests.factories import (
    SupplierFactory,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    user_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def called():
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    return staff, publish_with_lp_calendar(staff, process_from_plan(staff, version))


def test_each_action_has_its_own_kind_and_names_its_process(called):
    staff, process = called
    published = Event.objects.get(kind=EventKind.PROCESS_PUBLISHED)
    assert published.process_id == process.pk and published.audience == Audience.PUBLIC
    processes.cancel(actor=staff, process=process, reason="Presupuesto recortado")
    cancelled = Event.objects.get(kind=EventKind.PROCESS_CANCELLED)
    assert cancelled.process_id == process.pk
    assert cancelled.payload["reason"] == "Presupuesto recortado"
    assert not Event.objects.filter(kind="process.status_changed").exists()


def test_who_registered_is_told_to_the_staff_only(called):
    _staff, process = called
    supplier = SupplierFactory()
    call = process.stages.get(stage="convocatoria").start  # registration opens with the call
    with clock.pinned(call):
        participation.register_participant(user_of(supplier), process, supplier)
    event = Event.objects.get(kind=EventKind.PROCESS_PARTICIPANT_REGISTERED)
    assert event.audience == Audience.STAFF
    assert event.process_id == process.pk  # the target is the participant, under its process


def test_a_public_event_cannot_name_a_participant(called):
    _staff, process = called
    with transaction.atomic(), pytest.raises(ValueError, match="supplier"):
        events.record(
            EventKind.PROCESS_AWARDED, process, audience=Audience.PUBLIC, payload={"supplier": "x"}
        )
    with transaction.atomic():
        event = events.record(
            EventKind.PROCESS_AWARDED, process, audience=Audience.BIDDER, payload={"supplier": "x"}
        )
    assert event.audience == Audience.BIDDER


def test_events_and_audit_entries_are_refused_outside_a_transaction(transactional_db):
    process = ProcurementProcess(pk=1, identifier="LP-SM-1-2026-X-1")
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.record(EventKind.PROCESS_PUBLISHED, process)
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(None, "process.viewed", process)
    assert not Event.objects.exists()
