"""Crafted rows for the red-flag rules: called processes with a calendar, completed openings
with their valid bids, awards, contracts and amendments, written directly (the rules read
rows; the services that write them have their own tests)."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

from core import clock
from procurement.models import (
    Award,
    Bid,
    BidOpening,
    Contract,
    ContractAmendment,
    OpenedBid,
    OpenedBidMember,
    ProcessItem,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
)
from tests.factories import EntityFactory, SupplierFactory, UserFactory

_numbers = itertools.count(1)
CALL = date(2026, 3, 2)  # a Monday, a working day


def called(
    entity=None,
    *,
    procedure_type: str = "LP",
    value: str = "500000",
    object_type: str = "goods",
    year: int = 2026,
    call: date = CALL,
    bids_end: date | None = None,
    catalog: str = "44121701",
    status: str = ProcessStatus.CALLED,
) -> ProcurementProcess:
    """A called process of `entity` with one item and a calendar: the call on `call`, the
    bid stage ending `bids_end` (60 days later by default)."""
    entity = entity or EntityFactory()
    number = next(_numbers)
    process = ProcurementProcess.objects.create(
        entity=entity,
        fiscal_year_id=year,
        identifier=f"{procedure_type}-SM-{number}-{year}-{entity.acronym}-1",
        procedure_type=procedure_type,
        sequence=number,
        object_type=object_type,
        description=f"Compra de prueba {number}",
        delivery_place="Sede",
        delivery_ubigeo_id="150101",
        estimated_value=Decimal(value),
        direct_cause="emergency" if procedure_type == "CD" else "",
        status=status,
        published_at=clock.local(call),
    )
    ProcessItem.objects.create(
        process=process,
        entity=entity,
        catalog_item_id=catalog,
        description="Bienes",
        quantity=1,
        unit="NIU",
        estimated_value=Decimal(value),
    )
    ProcessStage.objects.create(
        process=process, stage="convocatoria", position=1, start=call, end=call
    )
    end = bids_end or call + timedelta(days=60)
    ProcessStage.objects.create(process=process, stage="ofertas", position=2, start=call, end=end)
    return process


def opened(process, totals, suppliers=None) -> list[OpenedBid]:
    """A completed opening of `process` with one valid bid per total (each by a new supplier
    unless `suppliers` are given)."""
    user = UserFactory()
    moment = clock.local(CALL + timedelta(days=61))
    opening = BidOpening.objects.create(
        process=process,
        status=BidOpening.Status.COMPLETED,
        started_by=user,
        started_at=moment,
        confirm_by=moment + timedelta(minutes=30),
        confirmed_by=user,
        confirmed_at=moment,
    )
    suppliers = list(suppliers or [SupplierFactory() for _total in totals])
    bids = []
    for position, (total, supplier) in enumerate(zip(totals, suppliers, strict=True), start=1):
        bid = Bid.objects.create(process=process, bidder_tag=f"tag-{process.pk}-{position}")
        row = OpenedBid.objects.create(
            opening=opening,
            bid=bid,
            position=position,
            receipt_hash=f"{position:064d}",
            version=1,
            received_at=moment - timedelta(days=1),
            status=OpenedBid.Status.VALID,
            lead_supplier=supplier,
            lead_ruc=supplier.ruc,
            lead_name=supplier.legal_name,
            total=Decimal(total),
        )
        OpenedBidMember.objects.create(
            opened_bid=row,
            supplier=supplier,
            ruc=supplier.ruc,
            legal_name=supplier.legal_name,
            share=100,
            is_lead=True,
        )
        bids.append(row)
    return bids


def awarded(process, *, supplier=None, amount=None, days_after_call: int = 60) -> Award:
    """A granted award of the whole process (to its first opened bid when there is one)."""
    bid = OpenedBid.objects.filter(opening__process=process).order_by("position").first()
    supplier = supplier or (bid.lead_supplier if bid else SupplierFactory())
    award = Award.objects.create(
        process=process,
        status=Award.Status.AWARDED,
        opened_bid=bid if bid and bid.lead_supplier_id == supplier.pk else None,
        source_ref="" if bid and bid.lead_supplier_id == supplier.pk else f"test-{process.pk}",
        supplier=supplier,
        amount=Decimal(amount or process.estimated_value),
        decided_at=process.published_at + timedelta(days=days_after_call),
    )
    ProcurementProcess.objects.filter(pk=process.pk).update(status=ProcessStatus.AWARDED)
    return award


def contracted(award: Award, *, amendments=()) -> Contract:
    """The award's contract, with amendments given as (kind, cumulative percentage)."""
    user = UserFactory()
    contract = Contract.objects.create(
        award=award,
        process=award.process,
        entity=award.process.entity,
        supplier=award.supplier,
        number=f"C-{award.pk}",
        signed_on=CALL + timedelta(days=70),
        amount=award.amount,
        term_days=90,
        winner_sme=False,
        guarantee=Contract.Guarantee.PERFORMANCE_BOND,
        created_at=clock.local(CALL + timedelta(days=70)),
        created_by=user,
    )
    for kind, cumulative in amendments:
        cumulative = Decimal(cumulative)
        ContractAmendment.objects.create(
            contract=contract,
            kind=kind,
            amount=(contract.amount * cumulative / 100).quantize(Decimal("0.01")),
            percentage=cumulative,
            cumulative_percentage=cumulative,
            above_limit=cumulative > 25,
            reason="Mayores metrados",
            signed_on=CALL + timedelta(days=80),
            created_at=clock.local(CALL + timedelta(days=80)),
            created_by=user,
        )
    return contract
