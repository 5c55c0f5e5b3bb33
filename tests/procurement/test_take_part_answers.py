"""Review findings on "Can I take part?": the SME refusal gives the figures that decided it
(sales in soles and UIT, workers where the rule counts them, the rule's limit), a consortium
member's refusal names the member, the conditions say a closed window is closed, and a
process past its call still answers (plainly: no longer)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core import clock, formatting
from core.models import FiscalYear, round_uit
from procurement import take_part
from procurement.models import ProcessStatus, ProcurementProcess
from procurement.services import bids
from suppliers.services import classify_supplier, sme_standing_on
from tests.factories import SupplierFactory, user_of
from tests.procurement.bidding import called_tender, classify
from tests.procurement.test_take_part import _big, _called

pytestmark = pytest.mark.django_db


def _page(client, process, moment, user=None):
    if user is not None:
        client.force_login(user)
    with clock.pinned(moment):
        return client.get(f"/procesos/{process.identifier}/").content.decode()


def test_the_sme_refusal_gives_the_sales_in_soles_and_uit_and_the_rules_limits(client):
    process, call, _deadline = _called(sme_only=True)
    big = _big()  # S/ 9 000 000 of 2025, 80 workers
    with clock.pinned(call):
        [reason] = take_part.answer(process, big, registered=False).reasons
        standing = sme_standing_on(big)
    rule, uit = standing.rule, FiscalYear.objects.get(year=2025).uit
    assert reason.code == "sme_only"
    message = reason.message
    assert f"Ventas declaradas de 2025: {formatting.money(Decimal('9000000'))}" in message
    in_uit = formatting.amount(round_uit(Decimal("9000000") / uit))  # 1 682,24 at S/ 5 350
    assert f"es decir {in_uit} UIT (la UIT de 2025 fue de {formatting.money(uit)})" in message
    limit = formatting.amount(rule.small_max_sales_uit)
    assert f"{rule.name}, una pequeña empresa vende como máximo {limit} UIT al año" in message
    if rule.small_max_workers is not None:  # a rule that counts workers says both
        assert "Trabajadores: 80." in message
        assert f"como máximo {rule.small_max_workers} trabajadores" in message
    # the page shows that very text (one function behind the page and the service)
    html = _page(client, process, call, user_of(big))
    assert "Ventas declaradas de 2025" in html


def test_the_sme_refusal_says_when_workers_were_not_declared_under_a_rule_counting_them():
    process, call, _deadline = _called(sme_only=True)
    supplier = SupplierFactory(size_class="")
    classify_supplier(supplier, sales_year=2025, annual_sales=Decimal("9000000"), workers=None)
    with clock.pinned(call):
        standing = sme_standing_on(supplier)
        [reason] = take_part.answer(process, supplier, registered=False).reasons
    if standing.rule.small_max_workers is None:
        assert "Trabajadores" not in reason.message
    else:
        assert "Trabajadores: no declarados." in reason.message


def test_a_consortium_members_sme_refusal_names_the_member_not_your_company():
    tender = called_tender(sme_only=True)
    lead, _lead_user = tender.bidder(size_class="micro")
    medium = SupplierFactory(size_class="medium")
    classify(medium, "medium", tender.during.year - 1)
    tender.consent(medium, lead)
    with clock.pinned(tender.during):
        [answer] = take_part.consortium_answers(tender.process, lead, [medium])
        refusal = bids.bid_refusal(
            tender.process,
            lead,
            members=[(lead, Decimal("50"), True), (medium, Decimal("50"), False)],
        )
    [reason] = answer.reasons
    assert (reason.code, reason.message) == (refusal.code, refusal.message)
    assert f"la empresa {medium.ruc} ({medium.legal_name})" in reason.message
    assert "su empresa" not in reason.message.lower()
    assert "Ventas declaradas" in reason.message


def test_anonymous_visitors_are_told_registration_closed_not_until_a_past_day(client):
    process, call, deadline = _called(sme_only=True)
    after = clock.local(deadline + timedelta(days=1))
    html = _page(client, process, after)
    assert "Regístrese como participante hasta" not in html
    assert "Presente la oferta hasta" not in html
    assert "El registro de participantes cerró el" in html
    assert "el plazo está cerrado" in html
    assert deadline.strftime("%d/%m/%Y") in html  # when it closed
    before = _page(client, process, call)
    assert "Regístrese como participante hasta" in before
    assert "cerró el" not in before


@pytest.mark.parametrize(
    "status, words",
    [
        (ProcessStatus.DESERTED, "ya no recibe participantes ni ofertas (estado: desierto)"),
        (ProcessStatus.SUSPENDED, "está suspendido: no recibe participantes ni ofertas"),
    ],
)
def test_a_supplier_gets_a_plain_answer_once_the_process_left_the_call(client, status, words):
    process, call, _deadline = _called(sme_only=False)
    ProcurementProcess.objects.filter(pk=process.pk).update(status=status)
    supplier = SupplierFactory()
    html = _page(client, process, call, user_of(supplier))
    assert "¿Puedo participar?" in html
    assert words in html
