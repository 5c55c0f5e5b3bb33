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
    day = opening.opening_day_stage(tender.process).opens_at
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
