"""Price history of a catalog commodity (/precios/<code>/): the unit prices awarded for it,
read from the opened bid lines of each winning bid (OpenedBidLine of the Award's opened bid:
the line of the awarded item when the process is awarded by items, every line when it is
awarded as a whole), dated by the award, grouped by unit of measure (a price per "unidad" is
never mixed with one per "caja x 100"), with the median and range per quarter."""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from core import clock
from core.codelists import Unit

from .models import Award, Contract, OpenedBidLine
from .models.awards import GRANTED_STATUSES


@dataclass(frozen=True)
class PricePoint:
    unit: str
    unit_price: Decimal
    quantity: Decimal
    day: date  # of the award
    process: str  # identifier
    contract_id: int | None
    supplier: str

    @property
    def quarter(self) -> str:
        return f"{self.day.year}-T{(self.day.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class QuarterSummary:
    quarter: str
    count: int
    median: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class UnitHistory:
    unit: str  # a code of core.codelists.Unit
    points: list[PricePoint]
    quarters: list[QuarterSummary]

    @property
    def label(self) -> str:
        return Unit(self.unit).label


def _same_lot(awards):
    """The awards of a line's lot: its item's, or the whole process's."""
    return awards.filter(opened_bid=OuterRef("opened_bid")).filter(
        Q(item__isnull=True) | Q(item=OuterRef("item"))
    )


def _winning_lines(codes):
    """The opened bid lines of the catalog `codes` that won their lot (an award that
    stands), each with its award's moment (`awarded_at`); items of an unlisted unit
    (Unit.OTHER) are never compared."""
    granted = _same_lot(Award.objects.granted())
    return (
        OpenedBidLine.objects.filter(item__catalog_item_id__in=codes)
        .exclude(item__unit=Unit.OTHER)
        .annotate(awarded_at=Subquery(granted.order_by("decided_at").values("decided_at")[:1]))
        .filter(awarded_at__isnull=False)
    )


def awarded_lines(
    code: str, *, year=None, department=None, entity=None, awarded_from=None, awarded_to=None
):
    """The opened bid lines of a commodity that won their lot (an award that stands), with
    the award's moment and its standing contract (one declared void is no contract: the
    award's new one, if signed), oldest first: one query. The award's days (`awarded_from`,
    `awarded_to`, both included) are Lima's."""
    contracts = (
        Contract.objects.standing()
        .filter(award__status__in=GRANTED_STATUSES, award__opened_bid=OuterRef("opened_bid"))
        .filter(Q(award__item__isnull=True) | Q(award__item=OuterRef("item")))
    )
    lines = _winning_lines([code]).annotate(contract_id=Subquery(contracts.values("pk")[:1]))
    if department is not None:
        lines = lines.filter(item__process__entity__ubigeo__code__startswith=department.code)
    if entity:
        lines = lines.filter(
            Q(item__process__entity__ruc=entity) | Q(item__process__entity__acronym__iexact=entity)
        )
    lines = lines.values(
        "unit_price",
        "quantity",
        "item__unit",
        "item__process__identifier",
        "opened_bid__lead_name",
        "awarded_at",
        "contract_id",
    ).order_by("awarded_at", "id")
    if year:
        lines = lines.filter(awarded_at__year=year)
    if awarded_from:
        lines = lines.filter(awarded_at__gte=clock.local(awarded_from, time(0)))
    if awarded_to:
        lines = lines.filter(awarded_at__lt=clock.local(awarded_to + timedelta(days=1), time(0)))
    return lines


def history(code: str, **filters) -> list[UnitHistory]:
    """The commodity's awarded prices per unit of measure (the unit with most prices first)."""
    points: dict[str, list[PricePoint]] = {}
    for line in awarded_lines(code, **filters):
        unit = line["item__unit"]
        points.setdefault(unit, []).append(
            PricePoint(
                unit=unit,
                unit_price=line["unit_price"],
                quantity=line["quantity"],
                day=timezone.localdate(line["awarded_at"]),
                process=line["item__process__identifier"],
                contract_id=line["contract_id"],
                supplier=line["opened_bid__lead_name"],
            )
        )
    return [
        UnitHistory(unit, unit_points, quarter_summaries(unit_points))
        for unit, unit_points in sorted(points.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]


def quarter_summaries(points: Iterable[PricePoint]) -> list[QuarterSummary]:
    """Median, lowest and highest unit price of each quarter, in time order."""
    by_quarter: dict[str, list[Decimal]] = {}
    for point in points:
        by_quarter.setdefault(point.quarter, []).append(point.unit_price)
    return [
        QuarterSummary(
            quarter, len(prices), statistics.median(sorted(prices)), min(prices), max(prices)
        )
        for quarter, prices in sorted(by_quarter.items())
    ]


# "Past prices for these items" on a process page: the awards of the last 12 months.
RECENT_DAYS = 365


@dataclass(frozen=True)
class RecentPrice:
    median: Decimal
    count: int
    lowest: Decimal
    highest: Decimal


def recent_prices(items, today: date, *, exclude_process=None) -> dict[int, RecentPrice]:
    """For each item (by id): the median, range and number of the unit prices awarded in
    the RECENT_DAYS up to `today` for its catalog code and the same unit of measure (as the
    price history groups them), in other processes. Items without such prices are left
    out. One query."""
    items = list(items)
    if not items:
        return {}
    since = clock.local(today - timedelta(days=RECENT_DAYS), time(0))
    until = clock.local(today + timedelta(days=1), time(0))
    lines = _winning_lines({i.catalog_item_id for i in items}).filter(
        awarded_at__gte=since, awarded_at__lt=until
    )
    if exclude_process is not None:
        lines = lines.exclude(item__process=exclude_process)
    by_key: dict[tuple[str, str], list[Decimal]] = {}
    for code, unit, price in lines.values_list("item__catalog_item_id", "item__unit", "unit_price"):
        by_key.setdefault((code, unit), []).append(price)
    result = {}
    for item in items:
        found = sorted(by_key.get((item.catalog_item_id, item.unit), []))
        if found:
            result[item.pk] = RecentPrice(statistics.median(found), len(found), found[0], found[-1])
    return result
