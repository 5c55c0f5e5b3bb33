"""A process called by items: each awarded lot gets its own contract, with its own winner and
amount; the process is contracted only when every granted lot has its contract, and a
deserted lot needs none (issue 10, "Contracts"; the rule is the "contract" transition's
guard, procurement.state_machine)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from core import clock
from procurement.models import Award, Contract, ProcessStatus
from procurement.services import awards, contracts, processes
from tests.domain import raises_domain
from tests.procurement.evaluating import (
    committee,
    consent,
    evaluated_by_items,
    stage_start,
)

pytestmark = pytest.mark.django_db


def _two_lots(*, desert_second=False):
    """Two lots: x is cheaper on the first, z on the second (same technical score); with
    `desert_second`, nobody is admissible on the second. Both awards consented."""
    tender, suppliers, (item_one, item_two), table = evaluated_by_items(
        {"x": ("800", "600"), "z": ("900", "400")},
        refuse=lambda key, lot: "Sin ficha técnica" if desert_second and lot == 2 else None,
    )
    first, _second = committee(tender)
    granted = []
    with clock.pinned(stage_start(tender, "buena_pro")):
        for item in (item_one, item_two):
            if awards.qualification_refusal(tender.process, item) is None:
                entry = awards.next_to_qualify(table, item)
                granted.append(
                    awards.qualify(actor=first, process=tender.process, entry=entry, passed=True)
                )
    granted = [consent(award) for award in granted]
    tender.process.refresh_from_db()
    return tender, suppliers, granted, (item_one, item_two)


def _sign(tender, award, number):
    with clock.pinned(clock.local(award.consented_on) + timedelta(days=2)):
        return contracts.sign_contract(
            actor=tender.staff,
            award=award,
            number=number,
            signed_on=award.consented_on,
            term_days=30,
            guarantee="fiel_cumplimiento",
        )


def test_each_lot_has_its_contract_and_the_process_is_contracted_with_the_last():
    tender, suppliers, granted, (item_one, item_two) = _two_lots()
    one, two = granted
    assert (one.item, one.supplier, one.amount) == (item_one, suppliers["x"], Decimal("800.00"))
    assert (two.item, two.supplier, two.amount) == (item_two, suppliers["z"], Decimal("400.00"))
    assert tender.process.status == ProcessStatus.CONSENTED
    assert {a.pk for a in contracts.awards_to_contract(tender.process)} == {one.pk, two.pk}

    first = _sign(tender, one, "C-1-2026")
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONSENTED  # the second lot has none yet
    assert (first.supplier, first.amount, first.item) == (suppliers["x"], one.amount, item_one)
    assert [a.pk for a in contracts.awards_to_contract(tender.process)] == [two.pk]
    with raises_domain("contract_exists"):
        _sign(tender, one, "C-1b-2026")

    second = _sign(tender, two, "C-2-2026")
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONTRACTED
    assert (second.supplier, second.amount, second.item) == (suppliers["z"], two.amount, item_two)
    assert contracts.awards_to_contract(tender.process) == []
    # The process page lists both contracts with their winners.
    page = Client().get(f"/procesos/{tender.process.identifier}/").content.decode()
    assert f"/contratos/{first.pk}/" in page and f"/contratos/{second.pk}/" in page
    assert suppliers["x"].legal_name in page and suppliers["z"].legal_name in page


def test_a_deserted_lot_needs_no_contract():
    tender, suppliers, granted, (item_one, item_two) = _two_lots(desert_second=True)
    [one] = granted
    deserted = Award.objects.get(process=tender.process, item=item_two)
    assert deserted.status == Award.Status.DESERTED
    with clock.pinned(clock.local(one.consented_on) + timedelta(days=2)):
        assert contracts.signing_refusal(deserted).code == "award_not_consented"
    _sign(tender, one, "C-1-2026")
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONTRACTED
    assert Contract.objects.filter(process=tender.process).count() == 1


def test_a_void_contract_of_one_lot_undoes_only_that_lot():
    """The first lot's contract declared void: the process is consented again and awaits
    that lot's contract, the second lot's contract stands untouched; before every lot was
    signed, a void contract leaves the process consented and keeps it from being contracted."""
    tender, _suppliers, granted, _lots = _two_lots()
    one, two = granted
    first = _sign(tender, one, "C-1-2026")
    second = _sign(tender, two, "C-2-2026")
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONTRACTED
    with clock.pinned(clock.local(one.consented_on) + timedelta(days=3)):
        contracts.annul_contract(actor=tender.staff, contract=first, reason="Vicio en la firma")
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONSENTED
    assert tender.process.history.last().action == "void_contract"
    second.refresh_from_db()
    assert second.status == Contract.Status.ACTIVE  # the other lot is not touched
    assert Award.objects.get(pk=two.pk).status == Award.Status.CONSENTED
    assert Award.objects.get(pk=one.pk).status == Award.Status.CONSENTED


def test_a_void_contract_before_the_last_lot_is_signed_keeps_the_process_consented():
    tender, _suppliers, granted, _lots = _two_lots()
    one, two = granted
    first = _sign(tender, one, "C-1-2026")
    with clock.pinned(clock.local(one.consented_on) + timedelta(days=3)):
        contracts.annul_contract(actor=tender.staff, contract=first, reason="Vicio en la firma")
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONSENTED
    assert not tender.process.history.filter(action="void_contract").exists()
    _sign(tender, two, "C-2-2026")  # every lot signed, but the first one's contract is void
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONSENTED
    assert not tender.process.history.filter(action="contract").exists()


def test_the_process_is_not_declared_void_while_a_lots_contract_stands():
    """Voiding the first lot's contract sends the process back to consented, where the
    process may be declared void, but not while the second lot's contract is in force: that
    one is declared void first, then the process."""
    tender, _suppliers, granted, _lots = _two_lots()
    one, two = granted
    first = _sign(tender, one, "C-1-2026")
    second = _sign(tender, two, "C-2-2026")

    def declare_the_process_void():
        processes.annul(
            actor=tender.staff,
            process=tender.process,
            reason="Vicio en la convocatoria",
            return_stage="convocatoria",
        )

    with clock.pinned(clock.local(one.consented_on) + timedelta(days=3)):
        contracts.annul_contract(actor=tender.staff, contract=first, reason="Vicio en la firma")
        with raises_domain("contract_in_force"):
            declare_the_process_void()
        tender.process.refresh_from_db()
        assert tender.process.status == ProcessStatus.CONSENTED
        contracts.annul_contract(actor=tender.staff, contract=second, reason="Vicio en la firma")
        declare_the_process_void()
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.VOID
