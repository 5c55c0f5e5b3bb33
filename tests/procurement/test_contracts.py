"""Contracts from consented awards: the guarantee rule (retention for SMEs in goods and
services only), the size class kept from the award, amendments above 25% marked, the status
table, the after-sales evaluation, and the process contracted only with its contracts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from core import clock
from notifications.models import Audience, Event, EventKind
from procurement.models import Contract, ProcessStatus, ProcurementProcess
from procurement.services import contracts, processes
from procurement.services.processes.status import record_status_change, transition_refusal
from tests.domain import raises_domain
from tests.factories import EntityFactory, staff_of
from tests.procurement.bidding import classify
from tests.procurement.evaluating import awarded_tender, consent
from tests.procurement.status_history import assert_due_stored

pytestmark = pytest.mark.django_db


def _consented(size_class="micro"):
    tender, award, people = awarded_tender(size_class=size_class)
    award = consent(award)
    return tender, award, people


def _after(award, days=2):
    return clock.pinned(clock.local(award.consented_on) + timedelta(days=days))


def _sign(tender, award, **overrides):
    data = {
        "number": "CONTRATO-001-2026",
        "signed_on": (award.consented_on or award.standstill_ends) + timedelta(days=1),
        "term_days": 60,
        "guarantee": Contract.Guarantee.PERFORMANCE_BOND,
    }
    data.update(overrides)
    return contracts.sign_contract(actor=tender.staff, award=award, **data)


def test_a_contract_copies_the_award_and_the_process_is_contracted():
    tender, award, _people = _consented()
    with _after(award):
        contract = _sign(tender, award)
    assert contract.amount == award.amount
    assert contract.supplier_id == award.supplier_id
    assert contract.size_class == "micro" and contract.winner_sme
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONTRACTED
    assert assert_due_stored()[tender.process.pk] is None  # contracted: it owes nothing more
    signed = Event.objects.filter(kind=EventKind.CONTRACT_SIGNED)
    assert set(signed.values_list("audience", flat=True)) == {
        Audience.PUBLIC,
        Audience.PARTICIPANTS,
    }


def test_the_amount_may_be_stated():
    tender, award, _people = _consented()
    with _after(award):
        contract = _sign(tender, award, amount=Decimal("950.50"))
    assert contract.amount == Decimal("950.50")


def test_no_contract_before_the_award_is_consented():
    tender, award, _people = awarded_tender()
    with clock.pinned(clock.local(award.standstill_ends)), raises_domain("award_not_consented"):
        _sign(tender, award, signed_on=award.standstill_ends)
    assert not Contract.objects.exists()


def test_one_contract_per_award():
    tender, award, _people = _consented()
    with _after(award):
        _sign(tender, award)
        with raises_domain("contract_exists"):
            _sign(tender, award, number="OTRO-1")


def test_retention_is_refused_to_a_non_sme():
    tender, award, _people = _consented(size_class="large")
    with _after(award), raises_domain("retention_not_sme"):
        _sign(tender, award, guarantee=Contract.Guarantee.RETENTION)
    with _after(award):
        assert _sign(tender, award).guarantee == Contract.Guarantee.PERFORMANCE_BOND


def test_retention_is_refused_for_works_even_to_an_sme():
    tender, award, _people = _consented()
    ProcurementProcess.objects.filter(pk=tender.process.pk).update(object_type="works")
    award.process.refresh_from_db()
    with _after(award), raises_domain("retention_not_goods_or_services") as refused:
        _sign(tender, award, guarantee=Contract.Guarantee.RETENTION)
    message = refused.value.message
    assert "10%" in message and "{" not in message and "obras" in message


def test_retention_is_accepted_for_an_sme_in_goods():
    tender, award, _people = _consented()
    with _after(award):
        contract = _sign(tender, award, guarantee=Contract.Guarantee.RETENTION)
    assert contract.guarantee == Contract.Guarantee.RETENTION


def test_the_size_class_at_award_is_kept_after_the_supplier_grows():
    tender, award, people = _consented()
    supplier, _user = people[0]
    with _after(award):
        contract = _sign(tender, award)
    classify(supplier, "medium_or_large", contract.signed_on.year)
    supplier.refresh_from_db()
    assert supplier.size_class == "medium_or_large"
    contract.refresh_from_db()
    assert contract.size_class == "micro" and contract.winner_sme
    assert contract.size_classes == {supplier.ruc: "micro"}


def test_only_the_entitys_staff_signs():
    tender, award, _people = _consented()
    outsider = staff_of(EntityFactory())
    with _after(award), pytest.raises(PermissionDenied):
        contracts.sign_contract(
            actor=outsider,
            award=award,
            number="X-1",
            signed_on=award.consented_on,
            term_days=10,
            guarantee=Contract.Guarantee.PERFORMANCE_BOND,
        )


def test_amendments_over_25_percent_are_marked():
    tender, award, _people = _consented()
    with _after(award):
        contract = _sign(tender, award, amount=Decimal("1000"))
        day = contract.signed_on
        first = contracts.amend_contract(
            actor=tender.staff,
            contract=contract,
            kind="adicional",
            amount=Decimal("200"),
            reason="Mayor cantidad",
            signed_on=day,
        )
        reduction = contracts.amend_contract(
            actor=tender.staff,
            contract=contract,
            kind="reduccion",
            amount=Decimal("100"),
            reason="Menor cantidad",
            signed_on=day,
        )
        second = contracts.amend_contract(
            actor=tender.staff,
            contract=contract,
            kind="adicional",
            amount=Decimal("60"),
            reason="Otra prestación",
            signed_on=day,
        )
    assert (first.percentage, first.cumulative_percentage, first.above_limit) == (
        Decimal("20.00"),
        Decimal("20.00"),
        False,
    )
    assert reduction.cumulative_percentage == Decimal("10.00") and not reduction.above_limit
    assert (second.cumulative_percentage, second.above_limit) == (Decimal("26.00"), True)
    assert contracts.current_amount(contract) == Decimal("1160")


def test_completion_evaluation_and_the_status_table():
    tender, award, people = _consented()
    with _after(award):
        contract = _sign(tender, award)
        with raises_domain("contract_not_ended"):
            contracts.evaluate_supplier(
                actor=tender.staff, contract=contract, on_time=True, quality=4, penalties=0
            )
        contracts.complete_contract(
            actor=tender.staff,
            contract=contract,
            completed_on=contract.signed_on,
            final_amount=Decimal("990"),
        )
        with raises_domain("contract_action_not_allowed"):
            contracts.terminate_contract(
                actor=tender.staff,
                contract=contract,
                party="entidad",
                reason="x",
                terminated_on=contract.signed_on,
            )
        for quality in (6, True, "5"):
            with raises_domain("quality_invalid"):
                contracts.evaluate_supplier(
                    actor=tender.staff,
                    contract=contract,
                    on_time=True,
                    quality=quality,
                    penalties=0,
                )
        contracts.evaluate_supplier(
            actor=tender.staff, contract=contract, on_time=False, quality=4, penalties=50
        )
        with raises_domain("already_evaluated"):
            contracts.evaluate_supplier(
                actor=tender.staff, contract=contract, on_time=True, quality=5, penalties=0
            )
    contract.refresh_from_db()
    assert contract.status == Contract.Status.COMPLETED
    record = contracts.supplier_record(people[0][0])
    assert record["count"] == 1 and record["quality"] == 4
    assert record["on_time_share"] == Decimal("0.00")


def test_termination_needs_party_reason_and_date():
    tender, award, _people = _consented()
    with _after(award):
        contract = _sign(tender, award)
        with raises_domain("party_invalid"):
            contracts.terminate_contract(
                actor=tender.staff,
                contract=contract,
                party="nadie",
                reason="Incumplimiento",
                terminated_on=contract.signed_on,
            )
        with raises_domain("reason_required"):
            contracts.terminate_contract(
                actor=tender.staff,
                contract=contract,
                party="entidad",
                reason=" ",
                terminated_on=contract.signed_on,
            )
        contracts.terminate_contract(
            actor=tender.staff,
            contract=contract,
            party="contratista",
            reason="Falta de pago",
            terminated_on=contract.signed_on,
        )
    contract.refresh_from_db()
    assert (contract.status, contract.terminated_by) == ("resuelto", "contratista")


def test_a_contracted_process_without_its_contract_is_impossible():
    from django.db import transaction

    tender, award, _people = _consented()
    process = ProcurementProcess.objects.get(pk=tender.process.pk)
    assert process.status == ProcessStatus.CONSENTED
    assert transition_refusal(process, "contract").code == "contract_missing"
    with raises_domain("contract_missing"), transaction.atomic():
        record_status_change(actor=tender.staff, process=process, action="contract")
    process.refresh_from_db()
    assert process.status == ProcessStatus.CONSENTED


def test_a_void_contract_takes_the_process_back_to_consented():
    """Issue 10 (found by review): a contract declared void leaves its lot without a
    contract, so the process is no longer "contratado": it goes back to "consentido" through
    the state machine ("void_contract"), with its history, audit entry and event."""
    from core.models import AuditEntry

    tender, award, _people = _consented()
    with _after(award):
        contract = _sign(tender, award)
        with raises_domain("reason_required"):
            contracts.annul_contract(actor=tender.staff, contract=contract, reason=" ")
        process = ProcurementProcess.objects.get(pk=tender.process.pk)
        assert process.status == ProcessStatus.CONTRACTED  # a refused nullity changes nothing
        with pytest.raises(PermissionDenied):
            contracts.annul_contract(
                actor=staff_of(EntityFactory()), contract=contract, reason="Vicio"
            )
        contracts.annul_contract(actor=tender.staff, contract=contract, reason="Firma falsa")
    contract.refresh_from_db()
    assert (contract.status, contract.end_reason) == (Contract.Status.VOID, "Firma falsa")
    process.refresh_from_db()
    assert process.status == ProcessStatus.CONSENTED
    # Consented again: it owes its contract again, counted from the nullity's day at least.
    assert assert_due_stored()[process.pk] == process.stage_due_on is not None
    change = process.history.last()
    assert (change.action, change.from_status, change.to_status) == (
        "void_contract",
        ProcessStatus.CONTRACTED,
        ProcessStatus.CONSENTED,
    )
    assert change.actor == tender.staff and "Firma falsa" in change.reason
    assert AuditEntry.objects.filter(
        action="process.void_contract", object_id=str(process.pk)
    ).exists()
    voided = Event.objects.get(kind=EventKind.PROCESS_CONTRACT_VOIDED, process=process)
    assert voided.payload["to"] == ProcessStatus.CONSENTED
    # Contracted again only with a contract that stands: the void one does not count.
    assert transition_refusal(process, "contract").code == "contract_missing"
    # What is offered from here: declaring the process void, to call it again.
    assert "annul" in {o.transition.action for o in processes.offered_actions(process)}
