"""Price history of a catalog commodity (/precios/<code>/): the unit prices awarded for it,
read from the opened bid lines of each winning bid (OpenedBidLine of the Award's opened bid:
the line of the awarded item when the process is awarded by items, every line when it is
awarded as a whole), dated by the award, grouped by unit of measure (a price per "unidad" is
never mixed with one per "caja x 100"), with the median and range per quarter.

A popular commodity has thousands of awarded lines, so the page's cost is bounded: the
figures (count, median, lowest, highest) are computed by the database in one grouped query
(`summaries`, also behind the process page's "past prices"), and only the latest
POINTS_SHOWN lines of each unit are read to be drawn; the whole list is a CSV. The page keeps
its figures KEPT_SECONDS per commodity and filters (`kept_history`)."""

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from itertools import groupby

from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    DecimalField,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import RowNumber, TruncQuarter
from django.utils import timezone

from core import clock, formatting
from core import kept as keeping
from core.codelists import Unit
from core.snapshots import read_snapshot

from .models import Contract, OpenedBidLine
from .models.awards import GRANTED_STATUSES

# The awarded lines drawn (and listed) per unit of measure: the latest ones.
POINTS_SHOWN = 100
# The page's figures are kept this long (a new award shows within ten minutes), per commodity
# and filters: a busy commodity's history is counted once, not on every request.
KEPT_SECONDS = keeping.KEPT_SECONDS


@dataclass(frozen=True)
class PricePoint:
    unit: str
    unit_price: Decimal
    quantity: Decimal
    day: date  # of the award
    process: str  # identifier
    contract_id: int | None
    supplier: str


@dataclass(frozen=True)
class Summary:
    """The awarded unit prices of a group: how many, their median, lowest and highest."""

    count: int
    median: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class QuarterSummary:
    start: date  # the quarter's first day
    count: int
    median: Decimal
    low: Decimal
    high: Decimal

    @property
    def quarter(self) -> str:
        return formatting.quarter(self.start)


@dataclass(frozen=True)
class UnitHistory:
    unit: str  # a code of core.codelists.Unit
    count: int  # every awarded line of the unit (with the filters)
    points: list[PricePoint]  # the latest POINTS_SHOWN of them, oldest first
    quarters: list[QuarterSummary]

    @property
    def label(self) -> str:
        return Unit(self.unit).label

    @property
    def capped(self) -> bool:
        return len(self.points) < self.count


class Median(Aggregate):
    """The exact median on PostgreSQL: the mean of the two middle values (one value when the
    count is odd), as numeric. percentile_cont(0.5) gives the same figure but as double
    precision, which is not exact for large amounts; percentile_disc keeps the column's
    numeric type, taken from both ends."""

    function = "percentile_disc"
    name = "Median"
    output_field = DecimalField()

    def as_sql(self, compiler, connection, **extra_context):
        value, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"((percentile_disc(0.5) WITHIN GROUP (ORDER BY {value}) "
            f"+ percentile_disc(0.5) WITHIN GROUP (ORDER BY {value} DESC)) / 2)"
        )
        return sql, (*params, *params)


CENTS = Decimal("0.01")


def _median(value: Decimal) -> Decimal:
    """A median as written on both databases: the prices' two decimals, or three when it
    falls between two cents (a mean of two middle prices)."""
    thousandths = value.quantize(Decimal("0.001"))
    cents = thousandths.quantize(CENTS)
    return cents if cents == thousandths else thousandths


def summaries(lines: QuerySet, by: Sequence[str]) -> dict[tuple, Summary]:
    """The Summary of the unit prices of `lines` (from `_winning_lines`) per group of the
    values `by` (field names or annotations of `lines`): one grouped query. PostgreSQL
    computes the figures; another database (SQLite, the embedded default) returns the groups'
    prices in order and the median is taken here, with the same result."""
    lines = lines.order_by()
    if connections[lines.db].vendor == "postgresql":
        rows = lines.values(*by).annotate(
            n=Count("id"),
            median=Median("unit_price"),
            low=Min("unit_price"),
            high=Max("unit_price"),
        )
        return {
            tuple(row[key] for key in by): Summary(
                row["n"], _median(row["median"]), row["low"], row["high"]
            )
            for row in rows
        }
    result = {}
    ordered = lines.values_list(*by, "unit_price").order_by(*by, "unit_price")
    for key, group in groupby(ordered.iterator(chunk_size=2000), key=lambda row: row[:-1]):
        found = [row[-1] for row in group]
        result[key] = Summary(len(found), _median(statistics.median(found)), found[0], found[-1])
    return result


def _winning_lines(codes):
    """The opened bid lines of the catalog `codes` that won their lot (an award that
    stands: its item's, or the whole process's), each with its award's moment
    (`awarded_at`); items of an unlisted unit (Unit.OTHER) are never compared. A join, not a
    subquery per line: the award constraints keep at most one live award per lot."""
    return (
        OpenedBidLine.objects.filter(item__catalog_item_id__in=codes)
        .exclude(item__unit=Unit.OTHER)
        .filter(
            Q(opened_bid__awards__item__isnull=True) | Q(opened_bid__awards__item=F("item")),
            opened_bid__awards__status__in=GRANTED_STATUSES,
        )
        .annotate(awarded_at=F("opened_bid__awards__decided_at"))
        .order_by()
    )


def _filtered(
    code: str, *, year=None, department=None, entity=None, awarded_from=None, awarded_to=None
):
    """The winning lines of a commodity with the page's filters. The award's days
    (`awarded_from`, `awarded_to`, both included) are Lima's."""
    lines = _winning_lines([code])
    if department is not None:
        lines = lines.filter(item__process__entity__ubigeo__code__startswith=department.code)
    if entity:
        lines = lines.filter(
            Q(item__process__entity__ruc=entity) | Q(item__process__entity__acronym__iexact=entity)
        )
    if year:
        lines = lines.filter(awarded_at__year=year)
    if awarded_from:
        lines = lines.filter(awarded_at__gte=clock.local(awarded_from, time(0)))
    if awarded_to:
        lines = lines.filter(awarded_at__lt=clock.local(awarded_to + timedelta(days=1), time(0)))
    return lines


POINT_FIELDS = (
    "unit_price",
    "quantity",
    "item__unit",
    "item__process__identifier",
    "opened_bid__lead_name",
    "awarded_at",
    "contract_id",
)


def _with_contract(lines):
    """Each line with its standing contract (one declared void is no contract: the award's
    new one, if signed)."""
    contracts = (
        Contract.objects.standing()
        .filter(award__status__in=GRANTED_STATUSES, award__opened_bid=OuterRef("opened_bid"))
        .filter(Q(award__item__isnull=True) | Q(award__item=OuterRef("item")))
    )
    return lines.annotate(contract_id=Subquery(contracts.values("pk")[:1]))


def awarded_lines(code: str, **filters):
    """Every awarded line of a commodity (with the page's filters) with the award's moment
    and its contract, oldest first: one query, read as a stream by the CSV."""
    lines = _with_contract(_filtered(code, **filters))
    return lines.values(*POINT_FIELDS).order_by("awarded_at", "id")


def all_points(code: str, **filters) -> Iterator[PricePoint]:
    """Every awarded line of `awarded_lines` as a PricePoint, read 2,000 at a time through a
    server-side cursor inside a read-only snapshot (outside a transaction, PostgreSQL's cursor
    is declared WITH HOLD and the whole result is materialised first; on SQLite a deferred
    one, so a long download holds no write lock): the CSV's rows, as exports.ExportSpec reads."""
    lines = awarded_lines(code, **filters)
    with read_snapshot(lines.db):
        for line in lines.iterator(chunk_size=2000):
            yield point(line)


def point(line) -> PricePoint:
    """A line of `awarded_lines` as a PricePoint."""
    return PricePoint(
        unit=line["item__unit"],
        unit_price=line["unit_price"],
        quantity=line["quantity"],
        day=timezone.localdate(line["awarded_at"]),
        process=line["item__process__identifier"],
        contract_id=line["contract_id"],
        supplier=line["opened_bid__lead_name"],
    )


def history(code: str, *, shown: int | None = None, **filters) -> list[UnitHistory]:
    """The commodity's awarded prices per unit of measure (the unit with most prices first):
    the figures of each quarter (of Lima) over every line, and the latest `shown`
    (POINTS_SHOWN) lines of each unit. Three queries, whatever the number of lines."""
    shown = shown or POINTS_SHOWN
    lines = _filtered(code, **filters)
    by_quarter = summaries(
        lines.annotate(
            quarter=TruncQuarter(
                "awarded_at", output_field=DateField(), tzinfo=timezone.get_current_timezone()
            )
        ),
        ("item__unit", "quarter"),
    )
    if not by_quarter:
        return []
    # The latest lines of each unit first (by id), then their contracts: a contract
    # subquery over every line would cost what the cap saves.
    latest = (
        lines.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("item__unit")],
                order_by=[F("awarded_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=shown)
        .values_list("id", flat=True)
    )
    drawn = (
        _with_contract(_winning_lines([code]).filter(id__in=list(latest)))
        .values(*POINT_FIELDS)
        .order_by("awarded_at", "id")
    )
    points: dict[str, list[PricePoint]] = {}
    for line in drawn:
        points.setdefault(line["item__unit"], []).append(point(line))
    quarters: dict[str, list[QuarterSummary]] = {}
    for (unit, quarter), figures in sorted(by_quarter.items()):
        quarters.setdefault(unit, []).append(
            QuarterSummary(quarter, figures.count, figures.median, figures.low, figures.high)
        )
    counts = {unit: sum(q.count for q in unit_quarters) for unit, unit_quarters in quarters.items()}
    return [
        UnitHistory(unit, counts[unit], points.get(unit, []), quarters[unit])
        for unit in sorted(counts, key=lambda unit: (-counts[unit], unit))
    ]


def kept_history(code: str, **filters) -> list[UnitHistory]:
    """`history` as kept for KEPT_SECONDS (counted now when it is not)."""
    shown = POINTS_SHOWN
    params = ((name, str(getattr(value, "pk", value))) for name, value in filters.items() if value)
    return keeping.kept(
        keeping.key("prices", code, str(shown), params=params),
        lambda: history(code, shown=shown, **filters),
    )


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
    out. One query (`summaries`, as the price history's)."""
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
    found = summaries(lines, ("item__catalog_item_id", "item__unit"))
    result = {}
    for item in items:
        if figures := found.get((item.catalog_item_id, item.unit)):
            result[item.pk] = RecentPrice(figures.median, figures.count, figures.low, figures.high)
    return result
