""" "Can I take part?" on the process page: a plain answer for each of the user's suppliers,
decided by the very functions the services refuse with (they can never disagree: checked on
every case below), each reason with what to do next; anonymous visitors see the conditions
and a sign-up link."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import clock
from core.errors import DomainError
from core.workdays import WorkingCalendar
from procurement import take_part
from procurement.services import bids, participation, processes
from suppliers.services import classify_supplier
from tests.factories import (
    SupplierFactory,
    compre_calendar,
    designate_committee_of_two,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    user_of,
)
from tests.procurement.bidding import called_tender, classify

pytestmark = pytest.mark.django_db


def _called(sme_only: bool):
    """A called process whose call day (a working day after today) is inside registration."""
    value = Decimal("60000") if sme_only else Decimal("450000")
    version, staff = published_plan(
        items=[{"catalog_item": "44121701", "estimated_value": value, "sme_reserved": sme_only}]
    )
    process = process_from_plan(staff, version, procedure_type="COMPRE" if sme_only else "LP")
    cal = WorkingCalendar()
    call = cal.next_working_day(timezone.localdate())
    if not sme_only:
        process = publish_with_lp_calendar(staff, process, call=call)
        stages = {s.stage: s for s in process.stages.all()}
        return process, call, stages["ofertas"].end
    add = cal.add_working_days
    processes.set_calendar(staff, process, compre_calendar(call))
    designate_committee_of_two(staff, process)
    with clock.pinned(call):
        process = processes.publish_call(actor=staff, process=process)
    return process, call, add(call, 3)


def _big():
    big = SupplierFactory(size_class="")
    classify_supplier(big, sales_year=2025, annual_sales=Decimal("9000000"), workers=80)
    return big


def _agrees(process, supplier, moment) -> take_part.Answer:
    """The page's answer and the registration service agree: eligible exactly when the
    service registers, and the first reason is the service's refusal."""
    with clock.pinned(moment):
        answer = take_part.answer(process, supplier, registered=False)
        try:
            participation.register_participant(user_of(supplier), process, supplier)
        except DomainError as refusal:
            assert not answer.eligible
            assert answer.reasons[0].code == refusal.code
            assert answer.reasons[0].message == refusal.message
        else:
            assert answer.eligible and answer.action == "register"
    return answer


def test_an_eligible_supplier_is_told_until_when_to_register_and_then_to_bid(client):
    process, call, deadline = _called(sme_only=False)
    supplier = SupplierFactory()
    answer = _agrees(process, supplier, call)
    assert answer.until.startswith(deadline.strftime("%d/%m/%Y"))
    client.force_login(user_of(supplier))
    bids_open = process.stages.get(stage="ofertas").start
    with clock.pinned(bids_open):
        html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert 'data-action="bid"' in html and "presente su oferta hasta" in html


def test_an_expired_registry_is_told_to_renew_with_a_link():
    process, call, _deadline = _called(sme_only=False)
    expired = SupplierFactory(registry_valid_until=call - timedelta(days=1))
    answer = _agrees(process, expired, call)
    [reason] = answer.reasons
    assert reason.code == "registry_not_in_force"
    assert reason.url == f"/proveedores/mi-cuenta/{expired.ruc}/renovacion/"


def test_every_reason_is_listed_the_blocking_one_first():
    """A large company with an expired registry, in an SME-only process after registration
    closed: three reasons, the window first (the service's refusal), each with its step."""
    process, call, deadline = _called(sme_only=True)
    big = _big()
    big.registry_valid_until = call - timedelta(days=1)
    big.save()
    answer = _agrees(process, big, clock.local(deadline + timedelta(days=1)))
    codes = [r.code for r in answer.reasons]
    assert codes == ["registration_closed", "registry_not_in_force", "sme_only"]
    assert all(r.next_step for r in answer.reasons)
    sme = answer.reasons[2]
    assert "mediana o gran empresa" in sme.message  # the class and the rule that decided it
    assert sme.url == f"/proveedores/mi-cuenta/{big.ruc}/declaracion/"


def test_a_non_sme_in_a_reserved_process_and_an_sme_agree_with_the_service():
    process, call, _deadline = _called(sme_only=True)
    assert [r.code for r in _agrees(process, _big(), call).reasons] == ["sme_only"]
    small = SupplierFactory(size_class="")
    classify_supplier(small, sales_year=2025, annual_sales=Decimal("1000000"), workers=20)
    assert _agrees(process, small, call).eligible


def test_a_registered_participant_is_told_to_bid_and_after_bidding_to_replace(client):
    process, call, _deadline = _called(sme_only=False)
    supplier = SupplierFactory()
    with clock.pinned(call):
        participation.register_participant(user_of(supplier), process, supplier)
        answer = take_part.answer(process, supplier, registered=True)
    assert answer.reasons[0].code == "bids_not_open"  # an LP receives bids later
    with clock.pinned(process.stages.get(stage="ofertas").start):
        answer = take_part.answer(process, supplier, registered=True)
        assert answer.action == "bid"
        assert take_part.answer(process, supplier, registered=True, bid=object()).action == (
            "replace"
        )
    late = clock.local(_deadline + timedelta(days=1))
    with clock.pinned(late):
        answer = take_part.answer(process, supplier, registered=True)
    assert not answer.eligible and answer.reasons[0].code == "late"
    assert answer.reasons[0].url == "/cuentas/suscripciones/"


def test_anonymous_visitors_see_the_conditions_and_a_sign_up_link(client):
    process, call, deadline = _called(sme_only=True)
    with clock.pinned(call):
        html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "¿Puedo participar?" in html
    assert "reservado para micro y pequeñas empresas" in html
    assert deadline.strftime("%d/%m/%Y") in html
    assert 'href="/cuentas/registro/"' in html


def test_a_lead_checks_its_consortium_members_with_the_bid_services_own_reasons(client):
    """The consortium check names, for each member, the reasons the bid service refuses the
    consortium with (same code, same words), and nothing for a member that may take part."""
    tender = called_tender(sme_only=True)
    lead, lead_user = tender.bidder(size_class="micro")
    small = SupplierFactory(size_class="small")
    classify(small, "small", tender.during.year - 1)
    medium = SupplierFactory(size_class="medium")
    classify(medium, "medium", tender.during.year - 1)
    expired = SupplierFactory(registry_valid_until=tender.during.date() - timedelta(days=1))
    classify(expired, "micro", tender.during.year - 1)
    for member in (small, medium, expired):
        tender.consent(member, lead)
    with clock.pinned(tender.during):
        checked = take_part.consortium_answers(tender.process, lead, [small, medium, expired])
        for answer in checked:
            refusal = bids.bid_refusal(
                tender.process,
                lead,
                members=[(lead, Decimal("50"), True), (answer.member, Decimal("50"), False)],
            )
            if answer.eligible:
                assert refusal is None
            else:
                assert (answer.reasons[0].code, answer.reasons[0].message) == (
                    refusal.code,
                    refusal.message,
                )
        client.force_login(lead_user)
        page = client.get(
            f"/procesos/{tender.process.identifier}/",
            {"consorcio": f"{small.ruc}, {medium.ruc} {expired.ruc}"},
        ).content.decode()
    assert [a.eligible for a in checked] == [True, False, False]
    assert [a.reasons[0].code for a in checked[1:]] == ["sme_only", "registry_not_in_force"]
    assert f'data-member="{small.ruc}"' in page and "puede participar" in page
    assert 'data-code="sme_only"' in page and 'data-code="registry_not_in_force"' in page


def test_the_consortium_check_answers_bad_rucs_with_a_form_error(client):
    tender = called_tender(sme_only=False)
    lead, lead_user = tender.bidder()
    client.force_login(lead_user)
    url = f"/procesos/{tender.process.identifier}/"
    with clock.pinned(tender.during):
        cases = {
            "123": "11 dígitos",
            "20999999999": "20999999999",
            lead.ruc: "líder",
            " ".join(SupplierFactory().ruc for _ in range(5)): "como máximo 4",
        }
        for value, words in cases.items():
            response = client.get(url, {"consorcio": value})
            page = response.content.decode()
            assert response.status_code == 200
            assert 'class="consortium-check"' not in page
            assert words in page, value


def test_a_member_that_has_not_confirmed_shows_the_lead_only_its_public_standing(client):
    """Until a member confirms it takes part in this lead's consortium, the check says so
    first (the bid's own refusal) and names only what the member's public record shows: an
    ownership review of its RUC stays private."""
    tender = called_tender(sme_only=True)
    lead, lead_user = tender.bidder(size_class="micro")
    small = SupplierFactory(size_class="small")
    classify(small, "small", tender.during.year - 1)
    reviewed = SupplierFactory(size_class="medium", ownership_provisional=True)
    classify(reviewed, "medium", tender.during.year - 1)
    with clock.pinned(tender.during):
        checked = take_part.consortium_answers(tender.process, lead, [small, reviewed])
        refusal = bids.bid_refusal(
            tender.process,
            lead,
            members=[(lead, Decimal("50"), True), (small, Decimal("50"), False)],
        )
        client.force_login(lead_user)
        page = client.get(
            f"/procesos/{tender.process.identifier}/", {"consorcio": f"{small.ruc} {reviewed.ruc}"}
        ).content.decode()
    assert [[r.code for r in a.reasons] for a in checked] == [
        ["consortium_not_confirmed"],
        ["consortium_not_confirmed", "sme_only"],
    ]
    assert (checked[0].reasons[0].code, checked[0].reasons[0].message) == (
        refusal.code,
        refusal.message,
    )
    assert "titular" not in page  # "...revisando quién es titular de este RUC"
    assert 'data-code="consortium_not_confirmed"' in page
