"""Builders for the evaluation and award tests: a called tender with bids, opened by its
committee, and the moments of its later stages."""

from datetime import timedelta
from decimal import Decimal

from core import clock
from procurement.models import CommitteeMember, Entity
from procurement.services import opening
from tests.procurement.bidding import Tender, called_tender


def committee(tender: Tender):
    first = tender.staff
    second = CommitteeMember.objects.exclude(user=first).get(process=tender.process).user
    return first, second


def opening_moment(tender: Tender):
    stage = opening.opening_day_stage(tender.process)  # none in direct contracting
    day = stage.opens_at if stage else tender.deadline
    return max(tender.deadline, day) + timedelta(seconds=1)


def stage_start(tender: Tender, stage: str):
    """A moment on the first day of `stage` (noon)."""
    return clock.local(tender.process.stages.get(stage=stage).start)


def open_tender(tender: Tender):
    first, second = committee(tender)
    with clock.pinned(opening_moment(tender)):
        opening.start_opening(actor=first, process=tender.process)
        return opening.confirm_opening(actor=second, process=tender.process)


def tender_in(department_district: str, *, items: int = 1, by_items: bool = False) -> Tender:
    """A called LP of an entity seated in `department_district` (a UBIGEO), with `items`
    items (quantity 100 each), awarded by items when asked."""
    tender = called_tender(items=items)
    Entity.objects.filter(pk=tender.process.entity_id).update(ubigeo_id=department_district)
    if by_items:
        type(tender.process).objects.filter(pk=tender.process.pk).update(award_by_items=True)
    tender.process.refresh_from_db()
    return tender


def unit_prices(tender: Tender, *totals: str) -> dict:
    """Unit prices giving each item the line total given (quantity 100)."""
    items = list(tender.process.items.order_by("id"))
    return {item.pk: Decimal(total) / 100 for item, total in zip(items, totals, strict=True)}


def called_direct() -> Tender:
    """A called Contratación Directa (emergency) with one item, its calendar's bid stage
    ahead of today, and one invited supplier registered."""
    from core.models import District
    from core.workdays import WorkingCalendar
    from procurement.models import Participant
    from procurement.services import processes
    from tests.factories import (
        SupplierFactory,
        designate_committee_of_two,
        last_working_day_until_today,
        published_plan,
        user_of,
    )

    version, staff = published_plan(
        items=[{"description": "Oxígeno medicinal", "estimated_value": Decimal("60000")}]
    )
    process = processes.create_process(
        staff,
        version.plan.entity,
        year=version.plan.fiscal_year_id,
        procedure_type="CD",
        description="Oxígeno por emergencia",
        delivery_place="Sede",
        delivery_ubigeo=District(code="150101"),
        plan_item_ids=[item.pk for item in version.items.all()],
        direct_cause="emergency",
    )
    add = WorkingCalendar().add_working_days
    call = last_working_day_until_today()
    bids_end = add(call, 3)
    award = add(bids_end, 1)
    processes.set_calendar(
        staff,
        process,
        {
            "convocatoria": (call, call),
            "ofertas": (add(call, 1), bids_end),
            "buena_pro": (award, award),
            "contrato": (add(award, 1), add(award, 5)),
        },
    )
    designate_committee_of_two(staff, process)
    with clock.pinned(call):
        process = processes.publish_call(actor=staff, process=process)
    tender = Tender(process, staff, process.stages.get(stage="ofertas"))
    supplier = SupplierFactory()
    Participant.objects.create(
        process=process,
        supplier=supplier,
        registered_at=tender.during,
        registered_by=user_of(supplier),
    )
    return tender


def awarded_tender(*, size_class: str = "micro", bidders: int = 1, line_total: str = "1000"):
    """A called LP of a Cusco entity with `bidders` bidders of `size_class` (technical
    60, 50, ... ) each bidding `line_total` for its item (quantity 100), opened, its table
    published and its lot awarded to the first; returns (tender, award, [(supplier, user)])."""
    from procurement.services import awards, evaluation

    tender = tender_in("080101")
    people = []
    for _n in range(bidders):
        supplier, user = tender.bidder(size_class=size_class, domicile_id="080101")
        tender.submit(user, supplier, prices=unit_prices(tender, line_total))
        people.append((supplier, user))
    open_tender(tender)
    first, _second = committee(tender)
    criterion = tender.process.criteria.get(kind="technical")
    scores = {s.pk: str(60 - 10 * n) for n, (s, _u) in enumerate(people)}
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
        for entry in draft.entries.select_related("opened_bid"):
            evaluation.record_entry(
                actor=first,
                entry=entry,
                admissible=True,
                scores={criterion.pk: scores[entry.opened_bid.lead_supplier_id]},
            )
        evaluation.publish_evaluation(actor=first, process=tender.process)
    published = evaluation.published_evaluation(tender.process)
    with clock.pinned(stage_start(tender, "buena_pro")):
        award = awards.qualify(
            actor=first,
            process=tender.process,
            entry=awards.next_to_qualify(published, None),
            passed=True,
        )
    return tender, award, people


def consent(award):
    """Run the consent task the day after the award's standstill; the award, refreshed."""
    from procurement.services import awards

    with clock.pinned(clock.local(award.standstill_ends) + timedelta(days=1)):
        awards.consent_due_awards()
    award.refresh_from_db()
    return award


def evaluated_by_items(totals: dict, *, refuse=lambda key, lot: None):
    """A called LP by items (two lots, Cusco) where each bidder of `totals` ("x": line totals
    of lot 1 and lot 2) is a local micro enterprise, opened, judged and its table published:
    every entry scores 50 technical points unless `refuse(key, lot)` (lot 1 or 2) gives the
    reason it is not admissible. Returns the tender, the suppliers by key, the two lots and
    the published evaluation."""
    from procurement.services import evaluation

    tender = tender_in("080101", items=2, by_items=True)
    criterion = tender.process.criteria.get(kind="technical")
    suppliers = {}
    for key, line_totals in totals.items():
        supplier, user = tender.bidder(size_class="micro", domicile_id="080101")
        tender.submit(user, supplier, prices=unit_prices(tender, *line_totals))
        suppliers[key] = supplier
    open_tender(tender)
    first, _second = committee(tender)
    lots = tuple(tender.process.items.order_by("id"))
    key_of = {supplier: key for key, supplier in suppliers.items()}
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
        for entry in draft.entries.select_related("opened_bid__lead_supplier"):
            reason = refuse(key_of[entry.opened_bid.lead_supplier], lots.index(entry.item) + 1)
            if reason:
                evaluation.record_entry(actor=first, entry=entry, admissible=False, reason=reason)
            else:
                evaluation.record_entry(
                    actor=first, entry=entry, admissible=True, scores={criterion.pk: "50"}
                )
        published = evaluation.publish_evaluation(actor=first, process=tender.process)
    return tender, suppliers, lots, published
