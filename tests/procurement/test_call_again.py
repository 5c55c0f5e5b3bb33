"""A deserted process, or its deserted items, called again: a new draft under the same number
with the next call number, linked both ways; the old process keeps its page, identifier and
history (issue 10, "Award and standstill")."""

import pytest
from django.test import Client
from django.utils import timezone

from core import clock
from core.models import AuditEntry
from procurement.models import Award, ProcessStatus, ProcurementProcess
from procurement.services import awards, processes
from tests.domain import raises_domain
from tests.factories import EntityFactory, publish_with_lp_calendar, staff_of
from tests.procurement.evaluating import committee, opening_moment, tender_in

pytestmark = pytest.mark.django_db

CUSCO = "080101"


def _deserted():
    """A called LP of two items that nobody bid for, deserted by its committee."""
    tender = tender_in(CUSCO, items=2)
    first, _second = committee(tender)
    with clock.pinned(opening_moment(tender)):
        awards.desert_without_bids(actor=first, process=tender.process)
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.DESERTED
    return tender


def test_staff_call_a_deserted_process_again_under_the_next_call_number():
    tender = _deserted()
    old = tender.process
    client = Client()
    client.force_login(tender.staff)
    workspace = client.get(f"/gestion/procesos/{old.pk}/").content.decode()
    assert f"/gestion/procesos/{old.pk}/nueva-convocatoria/" in workspace
    response = client.post(f"/gestion/procesos/{old.pk}/nueva-convocatoria/")
    new = ProcurementProcess.objects.get(previous_call=old)
    assert response.status_code == 302 and response.url == f"/gestion/procesos/{new.pk}/"
    assert new.status == ProcessStatus.DRAFT
    assert (new.sequence, new.call_number) == (old.sequence, old.call_number + 1)
    assert new.identifier == old.identifier[: -len("-1")] + "-2"
    assert new.procedure_type == old.procedure_type and new.sme_only == old.sme_only
    copied = [
        (i.plan_item_id, i.catalog_item_id, i.quantity, i.estimated_value)
        for i in new.items.order_by("id")
    ]
    original = [
        (i.plan_item_id, i.catalog_item_id, i.quantity, i.estimated_value)
        for i in old.items.order_by("id")
    ]
    assert copied == original and new.estimated_value == old.estimated_value
    entry = AuditEntry.objects.get(action="process.called_again", object_id=str(new.pk))
    assert entry.data["previous_call"] == old.identifier
    # A second click opens the new call: there is never a third.
    again = client.post(f"/gestion/procesos/{old.pk}/nueva-convocatoria/")
    assert again.status_code == 302 and again.url == f"/gestion/procesos/{new.pk}/"
    assert ProcurementProcess.objects.filter(sequence=old.sequence, entity=old.entity).count() == 2
    # The old process is untouched and its public page names the call in preparation.
    old.refresh_from_db()
    assert old.status == ProcessStatus.DESERTED and old.identifier.endswith("-1")
    page = Client().get(f"/procesos/{old.identifier}/").content.decode()
    assert new.identifier in page and f'href="/procesos/{new.identifier}/"' not in page


def test_once_published_the_two_calls_link_each_other():
    tender = _deserted()
    new = processes.call_again(tender.staff, tender.process)
    new = publish_with_lp_calendar(tender.staff, new)
    public = Client()
    old_page = public.get(f"/procesos/{tender.process.identifier}/").content.decode()
    new_page = public.get(f"/procesos/{new.identifier}/").content.decode()
    assert f'rel="next" href="/procesos/{new.identifier}/"' in old_page
    assert f'rel="prev" href="/procesos/{tender.process.identifier}/"' in new_page


def test_only_deserted_items_are_called_again():
    tender = tender_in(CUSCO, items=2, by_items=True)
    first_item, second_item = tender.process.items.order_by("id")
    Award.objects.create(
        process=tender.process,
        item=second_item,
        status=Award.Status.DESERTED,
        reason="Sin ofertas admisibles",
        decided_at=timezone.now(),
    )
    new = processes.call_again(tender.staff, tender.process)
    [item] = new.items.all()
    assert (item.plan_item_id, item.description) == (
        second_item.plan_item_id,
        second_item.description,
    )
    assert new.estimated_value == second_item.estimated_value
    assert first_item.pk != item.pk


def test_a_process_that_is_not_deserted_is_not_called_again():
    tender = tender_in(CUSCO)
    with raises_domain("not_deserted"):
        processes.call_again(tender.staff, tender.process)
    client = Client()
    client.force_login(tender.staff)
    response = client.post(f"/gestion/procesos/{tender.process.pk}/nueva-convocatoria/")
    assert response.status_code == 400
    assert "desierto" in response.content.decode()
    assert not ProcurementProcess.objects.filter(previous_call=tender.process).exists()


def test_only_the_entitys_staff_call_it_again():
    tender = _deserted()
    client = Client()
    client.force_login(staff_of(EntityFactory()))
    response = client.post(f"/gestion/procesos/{tender.process.pk}/nueva-convocatoria/")
    assert response.status_code == 403
    assert client.get(f"/gestion/procesos/{tender.process.pk}/nueva-convocatoria/").status_code in (
        403,
        405,
    )
    assert not ProcurementProcess.objects.filter(previous_call=tender.process).exists()
