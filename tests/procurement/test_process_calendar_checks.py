"""Every action is checked against the calendar in the service, and the pages offer only
what the service would accept (asking the same functions), saying why otherwise."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core import clock
from core.errors import DomainError
from core.workdays import WorkingCalendar
from procurement.services import participation, processes
from tests.factories import (
    SupplierFactory,
    designate_committee_of_two,
    last_working_day_until_today,
    lp_calendar,
    process_from_plan,
    published_plan,
    user_of,
)

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.fixture
def called():
    """An LP called on the last working day up to today, whose registration stage ends with
    the questions (before the bid deadline)."""
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    process = process_from_plan(staff, version)
    call = last_working_day_until_today()
    dates = lp_calendar(call)
    dates["registro"] = (call, dates["consultas"][1])
    processes.set_calendar(staff, process, dates)
    designate_committee_of_two(staff, process)
    with clock.pinned(call):
        process = processes.publish_call(actor=staff, process=process)
    return process, staff, {s.stage: s for s in process.stages.all()}


def _code(call, at=None) -> str:
    """The code of the refusal `call` meets at `at` (each test names the one it expects)."""
    try:
        with clock.pinned(at or clock.now()):
            call()
    except DomainError as error:
        return error.code
    raise AssertionError("not refused")


def test_registration_follows_the_calendars_registration_stage(called):
    process, _staff, stages = called
    supplier = SupplierFactory()
    user = user_of(supplier)
    late = stages["registro"].end + timedelta(days=1)
    assert late < stages["ofertas"].end
    assert (
        _code(lambda: participation.register_participant(user, process, supplier), late)
        == "registration_closed"
    )
    with clock.pinned(stages["registro"].end):
        participation.register_participant(user, process, supplier)


def test_integrated_bases_are_refused_after_the_integration_stage(called):
    process, staff, stages = called
    after_questions = stages["consultas"].end + timedelta(days=1)
    with clock.pinned(after_questions):
        participation.publish_answers(staff, process, upload=SimpleUploadedFile("a.pdf", PDF))
    for too_late in (stages["integracion"].end + timedelta(days=1), stages["ofertas"].end):
        assert (
            _code(
                lambda: participation.publish_integrated_bases(
                    staff, process, upload=SimpleUploadedFile("b.pdf", PDF)
                ),
                too_late,
            )
            == "stage_over"
        )
    with clock.pinned(stages["integracion"].end):
        participation.publish_integrated_bases(
            staff, process, upload=SimpleUploadedFile("b.pdf", PDF)
        )


def test_answers_are_refused_after_the_answers_stage(called):
    process, staff, stages = called
    late = stages["absolucion"].end + timedelta(days=1)
    assert (
        _code(
            lambda: participation.publish_answers(
                staff, process, upload=SimpleUploadedFile("a.pdf", PDF)
            ),
            late,
        )
        == "stage_over"
    )


def test_the_page_does_not_offer_registration_the_service_refuses(client, called):
    process, _staff, _stages = called
    expired = SupplierFactory(registry_valid_until=timezone.localdate() - timedelta(days=1))
    client.force_login(user_of(expired))
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert 'data-code="registry_not_in_force"' in html
    assert 'name="fee_receipt"' not in html
    valid = SupplierFactory()
    client.force_login(user_of(valid))
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert 'name="fee_receipt"' in html


def test_the_page_does_not_offer_registration_before_it_opens(client):
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    process = process_from_plan(staff, version)
    call = WorkingCalendar().add_working_days(timezone.localdate(), 3)
    processes.set_calendar(staff, process, lp_calendar(call))
    designate_committee_of_two(staff, process)
    with clock.pinned(call):
        process = processes.publish_call(actor=staff, process=process)
    client.force_login(user_of(SupplierFactory()))
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert 'data-code="registration_not_open"' in html and 'name="fee_receipt"' not in html


def test_anonymous_visitors_are_told_how_to_take_part(client, called):
    process, _staff, _stages = called
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert 'id="how-to-take-part"' in html
    assert 'href="/cuentas/ingresar/' in html and 'href="/cuentas/registro/"' in html


def test_the_workspace_disables_what_the_service_would_refuse(client, called):
    process, staff, _stages = called
    client.force_login(staff)
    html = client.get(f"/gestion/procesos/{process.pk}/").content.decode()
    # The award comes from an evaluation, not a button; the answers wait for the questions
    # window to close.
    assert 'value="award"' not in html
    assert 'data-code="questions_open"' in html
    assert 'name="file" id="answers-file"' not in html and 'id="answers-file"' not in html
    # The return stage list holds only the stage under way and earlier ones.
    assert '<option value="convocatoria">' in html and '<option value="contrato">' not in html


def test_an_invalid_return_stage_says_so(client, called):
    process, staff, _stages = called
    client.force_login(staff)
    response = client.post(
        f"/gestion/procesos/{process.pk}/estado/",
        {"action": "annul", "reason": "Vicio", "return_stage": "contrato"},
    )
    assert response.status_code == 400
    process.refresh_from_db()
    assert process.status == "convocado"
    response = client.post(
        f"/gestion/procesos/{process.pk}/estado/",
        {"action": "annul", "reason": "Vicio", "return_stage": "x" * 30},
    )
    assert response.status_code == 400
    assert "Elija una acción" not in response.content.decode()


def test_a_supplier_whose_ruc_ownership_is_under_review_cannot_register(client, called):
    process, _staff, _stages = called
    provisional = SupplierFactory(ownership_provisional=True)
    user = user_of(provisional)
    assert (
        _code(lambda: participation.register_participant(user, process, provisional))
        == "ownership_under_review"
    )
    client.force_login(user)
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert 'data-code="ownership_under_review"' in html
    assert 'name="fee_receipt"' not in html
    assert not process.participants.exists()
