"""The award (buena pro) from the published table: qualification with its fallback, the
winner's SME class kept, item-by-item desierto, the process status through the state
machine, and the standstill's consent task run twice and late."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from core import clock
from core.models import AuditEntry
from core.workdays import WorkingCalendar
from notifications.models import Event, EventKind
from procurement.models import Award, ProcessStatus, Qualification
from procurement.rules import STANDSTILL_WORKING_DAYS, standstill_end
from procurement.services import awards, evaluation
from procurement.tasks import consent_awards
from suppliers.models import Supplier
from tests.domain import raises_domain
from tests.factories import EntityFactory, staff_of
from tests.procurement.bidding import classify
from tests.procurement.evaluating import (
    committee,
    evaluated_by_items,
    open_tender,
    stage_start,
    tender_in,
    unit_prices,
)

pytestmark = pytest.mark.django_db

CUSCO = "080101"


def _evaluated(*, items=1, by_items=False, prices=None, inadmissible=()):
    """A tender with three bidders (x, y, z: technical 60, 50, 40), opened and its table
    published; `inadmissible` names bidders judged not admissible (in every lot)."""
    tender = tender_in(CUSCO, items=items, by_items=by_items)
    prices = prices or {"x": ("1000",) * items, "y": ("1000",) * items, "z": ("1000",) * items}
    suppliers = {}
    for key in "xyz":
        supplier, user = tender.bidder(size_class="micro", domicile_id=CUSCO)
        tender.submit(user, supplier, prices=unit_prices(tender, *prices[key]))
        suppliers[key] = supplier
    open_tender(tender)
    first, _second = committee(tender)
    technical = {suppliers["x"]: "60", suppliers["y"]: "50", suppliers["z"]: "40"}
    criterion = tender.process.criteria.get(kind="technical")
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
        for entry in draft.entries.select_related("opened_bid"):
            supplier = entry.opened_bid.lead_supplier
            if supplier in [suppliers[k] for k in inadmissible]:
                evaluation.record_entry(
                    actor=first, entry=entry, admissible=False, reason="Sin firma"
                )
            else:
                evaluation.record_entry(
                    actor=first,
                    entry=entry,
                    admissible=True,
                    scores={criterion.pk: technical[supplier]},
                )
        evaluation.publish_evaluation(actor=first, process=tender.process)
    tender.process.refresh_from_db()
    return tender, suppliers


def _next(tender, item=None):
    return awards.next_to_qualify(evaluation.published_evaluation(tender.process), item)


def test_the_best_ranked_that_qualifies_wins_and_a_failure_falls_to_the_next():
    tender, s = _evaluated()
    first, second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")), raises_domain("too_early"):
        awards.qualify(actor=first, process=tender.process, entry=_next(tender), passed=True)
    award_moment = stage_start(tender, "buena_pro")
    with clock.pinned(award_moment):
        best = _next(tender)
        assert best.opened_bid.lead_supplier == s["x"] and best.rank == 1
        with raises_domain("reason_required", field="reason"):
            awards.qualify(actor=first, process=tender.process, entry=best, passed=False)
        third = awards.next_to_qualify(evaluation.published_evaluation(tender.process), None)
        assert (
            awards.qualify(
                actor=first,
                process=tender.process,
                entry=best,
                passed=False,
                reason="Sin RNP vigente",
            )
            is None
        )
        # the same form sent again names a bid already checked: refused, nothing else changes
        with raises_domain("not_next"):
            awards.qualify(
                actor=first, process=tender.process, entry=third, passed=False, reason="x"
            )
        runner_up = _next(tender)
        assert runner_up.opened_bid.lead_supplier == s["y"]
        award = awards.qualify(actor=second, process=tender.process, entry=runner_up, passed=True)
    assert Qualification.objects.get(entry=best).reason == "Sin RNP vigente"
    assert AuditEntry.objects.filter(action="process.qualification_recorded").count() == 2
    assert AuditEntry.objects.get(action="process.lot_awarded").object_id == str(
        Award.objects.get().pk
    )
    page = Client().get(f"/procesos/{tender.process.identifier}/evaluacion/").content.decode()
    assert 'data-qualification="failed"' in page and "Sin RNP vigente" in page
    assert 'data-qualification="passed"' in page
    assert f"{s['y'].ruc}: Microempresa" in page  # the winner's class kept at the award
    assert award.status == Award.Status.AWARDED and award.supplier == s["y"]
    assert award.amount == Decimal("1000.00") and award.opened_bid == runner_up.opened_bid
    assert award.standstill_days == STANDSTILL_WORKING_DAYS["LP"] == 8
    award_day = award_moment.date()
    assert award.standstill_ends == WorkingCalendar().add_working_days(award_day, 8)
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.AWARDED
    change = tender.process.history.get(action="award")
    assert change.from_status == ProcessStatus.CALLED and change.actor == second
    event = Event.objects.get(kind=EventKind.PROCESS_AWARDED)
    assert event.audience == "public" and event.payload["identifier"] == tender.process.identifier
    with clock.pinned(award_moment), raises_domain("lot_decided"):
        awards.qualify(actor=first, process=tender.process, entry=_next(tender), passed=True)


def test_when_every_admissible_bid_fails_the_lot_is_deserted():
    tender, _s = _evaluated(inadmissible="z")
    first, _second = committee(tender)
    with clock.pinned(stage_start(tender, "buena_pro")):
        awards.qualify(
            actor=first, process=tender.process, entry=_next(tender), passed=False, reason="a"
        )
        last = awards.qualify(
            actor=first, process=tender.process, entry=_next(tender), passed=False, reason="b"
        )
    assert last.status == Award.Status.DESERTED and last.reason and last.amount is None
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.DESERTED
    assert Event.objects.get(kind=EventKind.PROCESS_DESERTED).audience == "public"


def test_the_winners_sme_class_is_kept_after_it_grows():
    tender, s = _evaluated()
    first, _second = committee(tender)
    with clock.pinned(stage_start(tender, "buena_pro")):
        award = awards.qualify(
            actor=first, process=tender.process, entry=_next(tender), passed=True
        )
    assert award.winner_sme and award.winner_size_classes == {s["x"].ruc: "micro"}
    classify(Supplier.objects.get(pk=s["x"].pk), "medium_or_large", tender.during.year)
    award.refresh_from_db()
    assert award.winner_sme and award.winner_size_classes == {s["x"].ruc: "micro"}


def test_item_by_item_one_awarded_one_deserted_and_the_process_follows():
    # item 1: everyone priced it; item 2: nobody is admissible
    tender, suppliers, (item_one, item_two), published = evaluated_by_items(
        {"x": ("1000", "500"), "z": ("900", "400")},
        refuse=lambda key, lot: {"x": "Vencida", "z": "Sin ficha"}[key] if lot == 2 else None,
    )
    assert published.entries.count() == 4  # two bids x two lots
    first, _second = committee(tender)
    deserted = Award.objects.get(process=tender.process, item=item_two)
    assert deserted.status == Award.Status.DESERTED
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CALLED  # item one is still to be awarded
    one = {e.opened_bid.lead_supplier: e for e in published.entries.filter(item=item_one)}
    # same technical score, both local micro enterprises (+10%); z is cheaper:
    # z 50 + 30 = 80.00 -> 88.00; x 50 + 30*900/1000 = 77.00 -> 84.70
    assert one[suppliers["z"]].rank == 1 and one[suppliers["z"]].total == Decimal("88.00")
    assert one[suppliers["x"]].total == Decimal("84.70")
    with clock.pinned(stage_start(tender, "buena_pro")):
        assert awards.qualification_refusal(tender.process, item_two).code == "lot_decided"
        award = awards.qualify(
            actor=first, process=tender.process, entry=_next(tender, item_one), passed=True
        )
    assert award.item == item_one and award.amount == Decimal("900.00")
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.AWARDED
    assert Event.objects.filter(kind=EventKind.PROCESS_DESERTED, payload__item=item_two.pk).exists()


def test_only_the_committee_awards():
    tender, _s = _evaluated()
    with clock.pinned(stage_start(tender, "buena_pro")):
        for outsider in [staff_of(tender.process.entity), staff_of(EntityFactory())]:
            with pytest.raises(PermissionDenied):
                awards.qualify(
                    actor=outsider, process=tender.process, entry=_next(tender), passed=True
                )
    assert not Award.objects.exists()


# --- standstill and consent ----------------------------------------------------------------


def test_standstill_is_data_by_procedure_type():
    cal = WorkingCalendar()
    monday = clock.today() - timedelta(days=clock.today().weekday())
    assert standstill_end("LP", monday, cal) == cal.add_working_days(monday, 8)
    assert standstill_end("AS", monday, cal) == cal.add_working_days(monday, 5)
    assert standstill_end("CD", monday, cal) is None


def _awarded():
    tender, _s = _evaluated()
    first, _second = committee(tender)
    with clock.pinned(stage_start(tender, "buena_pro")):
        award = awards.qualify(
            actor=first, process=tender.process, entry=_next(tender), passed=True
        )
    return tender, award


def test_the_consent_task_waits_for_the_standstill_and_is_idempotent():
    tender, award = _awarded()
    last_day = clock.local(award.standstill_ends)
    with clock.pinned(last_day):
        assert consent_awards() == 0
    award.refresh_from_db()
    assert award.status == Award.Status.AWARDED
    with clock.pinned(last_day + timedelta(days=1)):
        assert consent_awards() == 1
        assert consent_awards() == 0  # twice: nothing more
    award.refresh_from_db()
    tender.process.refresh_from_db()
    assert award.status == Award.Status.CONSENTED
    assert award.consented_on == award.standstill_ends + timedelta(days=1)
    assert tender.process.status == ProcessStatus.CONSENTED
    assert tender.process.history.filter(action="consent").count() == 1
    assert Event.objects.filter(kind=EventKind.PROCESS_CONSENTED).count() == 1


def test_the_consent_task_run_late_consents_as_of_the_standstills_end():
    tender, award = _awarded()
    with clock.pinned(clock.local(award.standstill_ends) + timedelta(days=40)):
        assert consent_awards() == 1
    award.refresh_from_db()
    tender.process.refresh_from_db()
    assert award.consented_on == award.standstill_ends + timedelta(days=1)
    assert tender.process.status == ProcessStatus.CONSENTED


def test_no_consent_while_an_appeal_suspends_the_process():
    from procurement.services import processes

    tender, award = _awarded()
    with clock.pinned(clock.local(award.standstill_ends)):
        processes.suspend_for_appeal(
            actor=tender.staff, process=tender.process, reason="Recurso de apelación"
        )
    with clock.pinned(clock.local(award.standstill_ends) + timedelta(days=3)):
        assert consent_awards() == 0
    award.refresh_from_db()
    assert award.status == Award.Status.AWARDED


def test_a_process_without_bids_is_deserted_by_the_committee_not_before_the_deadline():
    from django.test import Client

    from tests.procurement.evaluating import opening_moment

    tender = tender_in(CUSCO, items=2, by_items=True)
    first, _second = committee(tender)
    with clock.pinned(tender.during), raises_domain("before_deadline"):
        awards.desert_without_bids(actor=first, process=tender.process)
    with clock.pinned(opening_moment(tender)):
        with pytest.raises(PermissionDenied):
            awards.desert_without_bids(
                actor=staff_of(tender.process.entity), process=tender.process
            )
        client = Client()
        client.force_login(first)
        url = f"/gestion/procesos/{tender.process.pk}/evaluacion/"
        assert "desert_no_bids" in client.get(url).content.decode()
        assert client.post(url, {"action": "desert_no_bids"}).status_code == 302
        assert client.post(url, {"action": "desert_no_bids"}).status_code == 400
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.DESERTED
    assert Award.objects.filter(process=tender.process, status="desierto").count() == 2
    change = tender.process.history.get(action="desert")
    assert change.reason and change.actor == first


def test_with_a_bid_in_force_the_process_is_not_deserted_for_want_of_bids():
    tender = tender_in(CUSCO)
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    first, _second = committee(tender)
    from tests.procurement.evaluating import opening_moment

    with clock.pinned(opening_moment(tender)), raises_domain("has_bids"):
        awards.desert_without_bids(actor=first, process=tender.process)


def test_the_consent_task_is_scheduled_by_beat():
    from django.conf import settings

    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["consent-awards"]
    assert entry["task"] == "procurement.tasks.consent_awards" == consent_awards.name
    assert entry["task"] in app.tasks


def test_direct_contracting_awards_the_invited_offer_consented_at_once():
    from procurement.models import Evaluation
    from tests.factories import user_of
    from tests.procurement.evaluating import called_direct, opening_moment

    tender = called_direct()
    supplier = tender.process.participants.get().supplier
    tender.submit(user_of(supplier), supplier, prices=unit_prices(tender, "45000"))
    first, _second = committee(tender)
    with clock.pinned(opening_moment(tender)), raises_domain("not_opened"):
        awards.award_direct(actor=first, process=tender.process)
    open_tender(tender)
    with clock.pinned(opening_moment(tender)):
        with raises_domain("no_evaluation"):
            evaluation.start_evaluation(actor=first, process=tender.process)
        with pytest.raises(PermissionDenied):
            awards.award_direct(actor=staff_of(tender.process.entity), process=tender.process)
    client = Client()
    client.force_login(first)
    url = f"/gestion/procesos/{tender.process.pk}/evaluacion/"
    with clock.pinned(stage_start(tender, "buena_pro")):
        assert 'value="award_direct"' in client.get(url).content.decode()
        assert client.post(url, {"action": "award_direct"}).status_code == 302
        assert client.post(url, {"action": "award_direct"}).status_code == 400
        with raises_domain("not_called"):
            awards.award_direct(actor=first, process=tender.process)
    award = Award.objects.get(process=tender.process)
    assert award.status == Award.Status.CONSENTED and award.standstill_ends is None
    assert award.amount == Decimal("45000.00") and award.supplier == supplier
    assert award.consented_on == stage_start(tender, "buena_pro").date()
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONSENTED
    assert [c.action for c in tender.process.history.order_by("at", "id")][-2:] == [
        "award",
        "consent",
    ]
    assert not Evaluation.objects.exists()
