"""The 40% SME reservation rule (Law 28015 art. 21): the one place that computes the share.

Planned share = value of SME-reserved eligible items / value of all eligible items, where
eligible means goods and services whose catalog code SMEs can supply (works and consultancy
for works, and codes flagged not SME-suppliable, are left out). The minimum comes from the
fiscal year's parameters (40% by default).

Actual share = value of contracts awarded to SMEs / value of all contracts, eligible part only
(share_contracts says how each contract is read; the figures are summed in one query per
group). The same functions feed the compliance pages, the national ranking and their CSVs.

At national scale the pages read those figures summed ahead: refresh_summary writes them per
entity, fiscal year and month (SmeShareMonth, and the lead time per entity and year in
SmeLeadTimeYear) with the live functions below, on each change of a contract or process (its
entity and year, on commit: refresh_on_commit), for everything after the admin changes a
catalog code's SME flag (core.signals.sme_suppliable_changed) and daily; the readers
(national_share, summary_share, summary_shares_by, monthly_actual, ranking,
summary_lead_time) sum those rows. The live functions stay the definition: the tests compare
the two (national_share_live, monthly_actual_live, actual_share of share_contracts).
"""

import logging
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractMonth,
    ExtractYear,
    NullIf,
    Round,
)

from core.codelists import ObjectType, SizeClass, Stage
from core.models import FiscalYear

from .models import (
    Contract,
    ContractAmendment,
    Entity,
    ProcessItem,
    ProcessStage,
    ProcurementProcess,
    SmeLeadTimeYear,
    SmeShareMonth,
)
from .models.contracts import STANDING

logger = logging.getLogger(__name__)

ELIGIBLE_OBJECTS = (ObjectType.GOODS, ObjectType.SERVICES)
ZERO = Decimal("0")
# A published version records its share with this precision (PlanVersion.sme_share).
SHARE_PLACES = Decimal("0.000001")


MONEY = Decimal("0.01")


# The share and the gap to the minimum, defined once each: in Python for the figures shown
# and, beside each, the same rule in SQL for the ranking's orders (tested to agree).


def ratio(reserved_value: Decimal, eligible_value: Decimal) -> Decimal | None:
    """Reserved / eligible value: the SME share of one plan or of many plans summed, or None
    when nothing is eligible."""
    if not eligible_value:
        return None
    return reserved_value / eligible_value


def ratio_sql(value: str, base: str) -> str:
    """ratio() of two SQL expressions. Exact on both databases: SQLite keeps whole soles as
    integers, and integer division would make 50% a 0 (hence 1.0 *)."""
    return f"CASE WHEN {base} > 0 THEN 1.0 * {value} / {base} END"


def shortfall(base: Decimal, value: Decimal, minimum: Decimal) -> Decimal:
    """Soles more that `value` would need to reach `minimum` of `base` (0 when it does), to the
    cent: a plan's shortfall and the actual share's gap."""
    return max(base * minimum - value, ZERO).quantize(MONEY)


def shortfall_sql(base: str, value: str) -> tuple[str, int]:
    """shortfall() in SQL, unrounded (for ordering): the expression and how many times it
    takes the minimum as a parameter."""
    missing = f"({base} * %s - {value})"
    return f"CASE WHEN {missing} > 0 THEN {missing} ELSE 0 END", 2


@dataclass(frozen=True)
class SmeShare:
    total_value: Decimal
    eligible_value: Decimal
    reserved_value: Decimal
    minimum: Decimal

    @property
    def share(self) -> Decimal | None:
        """Reserved / eligible, or None when nothing in the plan is eligible."""
        return ratio(self.reserved_value, self.eligible_value)

    @property
    def compliant(self) -> bool:
        """At or above the minimum; a plan with nothing eligible has nothing to reserve."""
        share = self.share
        return share is None or share >= self.minimum

    @property
    def shortfall(self) -> Decimal:
        """Value that would still have to be reserved to reach the minimum."""
        return shortfall(self.eligible_value, self.reserved_value, self.minimum)


def eligibility(*, object_type: str, catalog_item: str) -> Q:
    """The one test of "eligible for the 40% base": goods or services, under a catalog code
    SMEs can supply. The arguments name the lookups that reach the object type and the
    catalog item from the rows queried (a plan item has both; a contract reaches the object
    type through its process)."""
    return Q(**{f"{object_type}__in": ELIGIBLE_OBJECTS, f"{catalog_item}__sme_suppliable": True})


def eligible_items_condition(prefix: str = "") -> Q:
    return eligibility(object_type=f"{prefix}object_type", catalog_item=f"{prefix}catalog_item")


def _sums() -> dict:
    eligible = eligible_items_condition()
    return {
        "total": Coalesce(Sum("estimated_value"), ZERO),
        "eligible": Coalesce(Sum("estimated_value", filter=eligible), ZERO),
        "reserved": Coalesce(Sum("estimated_value", filter=eligible & Q(sme_reserved=True)), ZERO),
    }


def planned_share(items: QuerySet, minimum: Decimal) -> SmeShare:
    """The planned SME share of a set of plan items (one aggregate query)."""
    totals = items.aggregate(**_sums())
    return SmeShare(totals["total"], totals["eligible"], totals["reserved"], minimum)


def planned_shares_by_version(items: QuerySet, minimums: dict[int, Decimal]) -> dict[int, SmeShare]:
    """planned_share for many versions at once (one grouped query), keyed by version id;
    `minimums` maps each version id to its fiscal year's minimum."""
    rows = items.order_by().values("version_id").annotate(**_sums())
    return {
        row["version_id"]: SmeShare(
            row["total"], row["eligible"], row["reserved"], minimums[row["version_id"]]
        )
        for row in rows
    }


def version_share(version) -> SmeShare:
    """The planned share of a plan version under its fiscal year's minimum: live for a draft,
    the figures recorded at publication for a published version (its items never change, and
    a later edit of the catalog's flags must not rewrite what was published)."""
    if version.status == "published":
        minimum = version.sme_min_share
        if minimum is None:
            minimum = version.plan.fiscal_year.sme_reserved_min_share
        return SmeShare(
            version.total_value, version.sme_eligible_value, version.sme_reserved_value, minimum
        )
    minimum = version.plan.fiscal_year.sme_reserved_min_share
    return planned_share(version.items.all(), minimum)


# PlanVersion fields holding the figures recorded at publication, in the order snapshot() gives.
SNAPSHOT_FIELDS = (
    "total_value",
    "sme_eligible_value",
    "sme_reserved_value",
    "sme_share",
    "sme_compliant",
    "sme_min_share",
)


def snapshot(share: SmeShare) -> dict:
    """The figures a version records when it is published, keyed by PlanVersion field: what
    version_share reads back afterwards, and what lists, exports and national totals sum."""
    return {
        "total_value": share.total_value,
        "sme_eligible_value": share.eligible_value,
        "sme_reserved_value": share.reserved_value,
        "sme_share": share.share.quantize(SHARE_PLACES) if share.share is not None else None,
        "sme_compliant": share.compliant,
        "sme_min_share": share.minimum,
    }


def record_snapshot(version, share: SmeShare) -> None:
    """Set a version's publication snapshot (the caller saves it)."""
    for field, value in snapshot(share).items():
        setattr(version, field, value)


# --- The actual share: contracts signed ------------------------------------------------------
#
# Actual share = value of contracts awarded to SMEs / value of all contracts, eligible part
# only, per fiscal year of the signing date (Peru's fiscal year is the calendar year):
# - value: the contract's current amount (signed amount + additional works - reductions);
#   a contract of one item counts whole when that item is eligible, a contract of the whole
#   process is split across the process's items by their estimated values and only the
#   eligible items' part counts;
# - SME: the winner's size at the award as the contract recorded it (never today's): a single
#   micro or small enterprise, or a consortium whose members all were (Award.winner_sme);
# - a contract declared void drops out;
# - a contract whose winner's size is unknown (no class recorded for a member, imported data)
#   is left out of both sides and counted apart, so the gap shows.

SIZE_SME, SIZE_NOT_SME, SIZE_UNKNOWN = "sme", "not_sme", "unknown"
NOT_SME_CLASSES = tuple(c for c in SizeClass.values if c not in SizeClass.sme_values())
DECIMAL = DecimalField(max_digits=30, decimal_places=10)


def _classes_text():
    return Cast("size_classes", TextField())


def _has_member_of(classes) -> Q:
    """Some consortium member (or the single winner) had one of `classes` at the award: a
    quoted class code inside the {ruc: class} record (RUCs are digits, so only a value can
    match; '"medium"' does not match '"medium_or_large"')."""
    condition = Q()
    for size_class in classes:
        condition |= Q(classes_text__contains=f'"{size_class}"')
    return condition


def _amendments(kind: str):
    totals = (
        ContractAmendment.objects.filter(contract=OuterRef("pk"), kind=kind)
        .order_by()
        .values("contract")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(totals, output_field=DECIMAL), Value(ZERO), output_field=DECIMAL)


def _items_value(eligible_only: bool):
    items = ProcessItem.objects.filter(process=OuterRef("process"))
    if eligible_only:
        items = items.filter(
            eligibility(object_type="process__object_type", catalog_item="catalog_item")
        )
    totals = (
        items.order_by().values("process").annotate(total=Sum("estimated_value")).values("total")
    )
    return Subquery(totals, output_field=DECIMAL)


def share_contracts(contracts: QuerySet | None = None) -> QuerySet:
    """The contracts the actual share counts (void ones out), each annotated with what the
    share reads: `current_amount`, `eligible_part` (its eligible value), `size_group` (sme,
    not_sme or unknown, at the award), `micro_only`, `fiscal_year` and `month` of signing."""
    contracts = Contract.objects.all() if contracts is None else contracts
    current = ExpressionWrapper(
        F("amount")
        + _amendments(ContractAmendment.Kind.ADDITIONAL)
        - _amendments(ContractAmendment.Kind.REDUCTION),
        output_field=DECIMAL,
    )
    item_eligible = eligibility(
        object_type="process__object_type", catalog_item="item__catalog_item"
    )
    whole_split = Coalesce(
        Round(  # soles to the cent, so the CSV's rows add up to the page's figures
            F("current_amount") * _items_value(True) / NullIf(_items_value(False), Value(ZERO)),
            2,
            output_field=DECIMAL,
        ),
        Value(ZERO),
        output_field=DECIMAL,
    )
    eligible_value = Case(
        When(~Q(process__object_type__in=ELIGIBLE_OBJECTS), then=Value(ZERO)),
        When(
            item__isnull=False,
            then=Case(
                When(item_eligible, then=F("current_amount")),
                default=Value(ZERO),
                output_field=DECIMAL,
            ),
        ),
        default=whole_split,
        output_field=DECIMAL,
    )
    return (
        contracts.filter(STANDING)
        .annotate(classes_text=_classes_text())
        .annotate(
            current_amount=current,
            size_group=Case(
                When(winner_sme=True, then=Value(SIZE_SME)),
                When(_has_member_of(NOT_SME_CLASSES), then=Value(SIZE_NOT_SME)),
                default=Value(SIZE_UNKNOWN),
                output_field=CharField(),
            ),
            micro_only=Case(
                When(Q(winner_sme=True) & ~_has_member_of([SizeClass.SMALL]), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            fiscal_year=ExtractYear("signed_on"),
            month=ExtractMonth("signed_on"),
        )
        .annotate(eligible_part=eligible_value)
    )


class ContractsBehind:
    """The contracts behind a share: the rows of `contracts` (a share_contracts() queryset)
    with an eligible part, in signing order, as .filter(eligible_part__gt=0) gives them, read
    a slice at a time for Django's Paginator. A slice computes the eligible part of the
    contracts up to its end only (filtering on it in SQL would compute every contract of the
    year first); `count` is given (the summary's contracts of known and unknown size)."""

    def __init__(self, contracts: QuerySet, count: int):
        self.contracts, self._count = contracts, count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> list:
        start, stop = index.start or 0, index.stop
        ordered = ("signed_on", "pk")
        in_order = self.contracts.order_by(*ordered).values_list("pk", flat=True)
        found, first = [], 0
        step = max((stop or self._count) - start, 1) * 2
        # The ids up to twice the slice's end (one query, enough unless most contracts have no
        # eligible part), never the whole year's; more only when they run short.
        block = max((stop or self._count) * 2, step)
        while stop is None or len(found) < stop:
            ids = list(in_order[first : first + block])
            for i in range(0, len(ids), step):
                if stop is not None and len(found) >= stop:
                    break
                chunk = self.contracts.filter(pk__in=ids[i : i + step], eligible_part__gt=0)
                found += chunk.order_by(*ordered)
            if len(ids) < block:
                break
            first += block
        return found[start:stop]


@dataclass(frozen=True)
class ActualShare:
    """The actual SME share of a set of contracts, with the figures behind it."""

    eligible_value: Decimal  # eligible value of contracts whose winner's size is known
    sme_value: Decimal
    micro_value: Decimal
    unknown_value: Decimal  # eligible value of contracts whose winner's size is unknown
    contracts: int  # eligible contracts whose winner's size is known
    unknown_contracts: int
    sme_wins_reserved: int  # contracts won by SMEs in SME-only processes
    sme_wins_open: int  # ... and in processes open to all
    minimum: Decimal

    @property
    def small_value(self) -> Decimal:
        return self.sme_value - self.micro_value

    @property
    def share(self) -> Decimal | None:
        """SME value / eligible value, or None when there is no eligible contract ("sin
        contratos", never 0%)."""
        return ratio(self.sme_value, self.eligible_value)

    @property
    def compliant(self) -> bool | None:
        share = self.share
        return None if share is None else share >= self.minimum

    @property
    def gap(self) -> Decimal:
        """Soles more that would have had to go to SMEs to reach the minimum (0 when met)."""
        return shortfall(self.eligible_value, self.sme_value, self.minimum)


# The figures of a group of contracts, summed over share_contracts() rows in a derived table
# (each contract's value is computed once, however many figures read it). Column names of the
# inner query: part (eligible value), size (size_group), micro (micro_only), reserved (the
# process was SME-only).
_FIGURES_SQL = {
    "eligible_value": "SUM(CASE WHEN c.part > 0 AND c.size <> 'unknown' THEN c.part ELSE 0 END)",
    "sme_value": "SUM(CASE WHEN c.part > 0 AND c.size = 'sme' THEN c.part ELSE 0 END)",
    "micro_value": "SUM(CASE WHEN c.part > 0 AND c.size = 'sme' AND c.micro THEN c.part ELSE 0 END)",
    "unknown_value": "SUM(CASE WHEN c.part > 0 AND c.size = 'unknown' THEN c.part ELSE 0 END)",
    "contracts": "SUM(CASE WHEN c.part > 0 AND c.size <> 'unknown' THEN 1 ELSE 0 END)",
    "unknown_contracts": "SUM(CASE WHEN c.part > 0 AND c.size = 'unknown' THEN 1 ELSE 0 END)",
    "sme_wins_reserved": "SUM(CASE WHEN c.part > 0 AND c.size = 'sme' AND c.reserved THEN 1 ELSE 0 END)",
    "sme_wins_open": "SUM(CASE WHEN c.part > 0 AND c.size = 'sme' AND NOT c.reserved THEN 1 ELSE 0 END)",
}
_COUNTS = {"contracts", "unknown_contracts", "sme_wins_reserved", "sme_wins_open"}


def _figures_query(contracts: QuerySet, fields: tuple[str, ...]) -> tuple[str, list, list[str]]:
    """SELECT <group columns g0..>, <figures> FROM (contracts) c GROUP BY <group columns>."""
    groups = [f"g{i}" for i in range(len(fields))]
    inner = contracts.order_by().values(
        **{g: F(field) for g, field in zip(groups, fields, strict=True)},
        part=F("eligible_part"),
        size=F("size_group"),
        micro=F("micro_only"),
        reserved=F("process__sme_only"),
    )
    sql, params = inner.query.sql_with_params()
    if connections[contracts.db].vendor == "postgresql":
        # A fence: PostgreSQL would otherwise pull the derived table up into the outer query
        # and evaluate `part` (its amendment and item subqueries) once per figure reading it,
        # eight times a contract (80 s for the home page's headline at 200,000 processes).
        sql += " OFFSET 0"
    columns = [f"c.{g}" for g in groups] + [f"{e} AS {n}" for n, e in _FIGURES_SQL.items()]
    # Only constants and the ORM's own compiled SQL are joined here; values stay in `params`.
    query = f"SELECT {', '.join(columns)} FROM ({sql}) c"  # noqa: S608
    if groups:
        query += " GROUP BY " + ", ".join(f"c.{g}" for g in groups)
    return query, list(params), groups


DEFAULT_MINIMUM = Decimal("0.400")


def minimum_for(year: int) -> Decimal:
    """The fiscal year's minimum SME share (40% when the year has no parameters yet)."""
    value = FiscalYear.objects.filter(year=year).values_list("sme_reserved_min_share", flat=True)
    return next(iter(value), DEFAULT_MINIMUM)


def _minimum(year: int, minimum: Decimal | None) -> Decimal:
    """`minimum` when a caller read it already (a page reads it once), else minimum_for."""
    return minimum_for(year) if minimum is None else minimum


def _number(value, name: str):
    if name in _COUNTS:
        return int(value or 0)
    return ZERO if value is None else Decimal(str(value))


def _share_of(values: dict, minimum: Decimal) -> ActualShare:
    return ActualShare(**{n: _number(values[n], n) for n in _FIGURES_SQL}, minimum=minimum)


def _fetch(contracts: QuerySet, query: str, params: list) -> list[tuple]:
    with connections[contracts.db].cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def actual_share(contracts: QuerySet, minimum: Decimal) -> ActualShare:
    """The actual share of `contracts` (a share_contracts() queryset): one aggregate query."""
    query, params, _groups = _figures_query(contracts, ())
    row = _fetch(contracts, query, params)[0]
    return _share_of(dict(zip(_FIGURES_SQL, row, strict=True)), minimum)


def _figures_by(contracts: QuerySet, *fields: str) -> list[tuple[dict, dict]]:
    """The figures of _FIGURES_SQL of `contracts` grouped by `fields`, as numbers: one
    grouped query, ({field: value}, {figure: value}) per group, in the fields' order."""
    query, params, groups = _figures_query(contracts, fields)
    query += " ORDER BY " + ", ".join(f"c.{g}" for g in groups)
    result = []
    for row in _fetch(contracts, query, params):
        keys, figures = row[: len(fields)], row[len(fields) :]
        values = {n: _number(v, n) for n, v in zip(_FIGURES_SQL, figures, strict=True)}
        result.append((dict(zip(fields, keys, strict=True)), values))
    return result


def actual_shares_by(
    contracts: QuerySet, *fields: str, minimum: Decimal
) -> list[tuple[dict, ActualShare]]:
    """actual_share grouped by `fields` (e.g. "month", "entity__sector"): one grouped query,
    giving ({field: value}, ActualShare) per group that has contracts, in the fields' order."""
    return [(key, _share_of(values, minimum)) for key, values in _figures_by(contracts, *fields)]


def national_share_live(year: int) -> ActualShare:
    """The national actual share of the contracts signed in `year`, computed live (what the
    summary must equal; national_share reads the summary)."""
    contracts = share_contracts(Contract.objects.filter(signed_on__year=year))
    return actual_share(contracts, minimum_for(year))


def monthly_actual_live(entity, year: int) -> dict[int, ActualShare]:
    """The entity's actual share of the contracts signed in each month of the year, live."""
    contracts = share_contracts(Contract.objects.filter(entity=entity, signed_on__year=year))
    minimum = minimum_for(year)
    return {
        key["month"]: share for key, share in actual_shares_by(contracts, "month", minimum=minimum)
    }


def monthly_planned(entity, year: int) -> dict[int, Decimal | None]:
    """The planned share of the entity's plan version in force at the end of each month
    (PlanVersion.objects.in_force, the one definition), as recorded at its publication: one
    query, the plan of the year with one in-force lookup per month."""
    from .models import PlanVersion, ProcurementPlan

    def in_force_on(month: int):
        end = date(year, month, monthrange(year, month)[1])
        version = PlanVersion.objects.in_force(end).filter(plan=OuterRef("pk")).order_by()
        return Subquery(version.values("sme_share")[:1])

    plan = (
        ProcurementPlan.objects.filter(entity=entity, fiscal_year=year)
        .annotate(**{f"m{month}": in_force_on(month) for month in range(1, 13)})
        .values(*(f"m{month}" for month in range(1, 13)))
        .order_by()
        .first()
    )
    return {month: plan[f"m{month}"] if plan else None for month in range(1, 13)}


def planned_shares_in_force(year: int, entity_ids) -> dict[int, Decimal | None]:
    """The planned share of each entity's plan in force for the year: one query."""
    from .models import PlanVersion

    rows = (
        PlanVersion.objects.in_force()
        .filter(plan__fiscal_year=year, plan__entity__in=entity_ids)
        .values_list("plan__entity_id", "sme_share")
    )
    return dict(rows)


# The orders of the ranking: lowest share first (default), highest share first, largest gap
# to the minimum in soles first, largest eligible value first, by name.
RANKING_SORTS = ("share", "-share", "gap", "value", "name")


@dataclass(frozen=True)
class RankedEntity:
    entity_id: int
    ruc: str
    name: str
    share: ActualShare


class Ranking:
    """Every entity of `entities`, lowest actual share in the year first; entities without a
    known-size eligible contract that year come last in every order, shown as "sin
    contratos" (never 0%). Read a page at a time: count() and slicing each run one query (the
    entities LEFT JOIN their figures summed from the summary), so Django's Paginator pages
    it."""

    def __init__(self, year: int, entities: QuerySet, minimum: Decimal, sort: str = ""):
        self.sort = sort if sort in RANKING_SORTS else ""
        # Each entity's figures summed from the summary (SmeShareMonth; refresh_summary).
        summed = (
            SmeShareMonth.objects.filter(fiscal_year=year)
            .order_by()
            .values(g0=F("entity_id"))
            .annotate(**_summed())
        )
        self.summed, self.minimum = summed, minimum
        figures, figure_params = summed.query.sql_with_params()
        rows = entities.order_by().values("id", "ruc", "name")
        rows_sql, rows_params = rows.query.sql_with_params()
        columns = ", ".join(f"r.{name}" for name in _FIGURES_SQL)
        # Only the ORM's compiled SQL and constants are joined here; values stay in params.
        self.query = (
            f"SELECT e.id AS g0, e.ruc AS g1, e.name AS g2, {columns} "  # noqa: S608
            f"FROM ({rows_sql}) e LEFT JOIN ({figures}) r ON r.g0 = e.id"
        )
        self.params = list(rows_params) + list(figure_params)
        self.count_query = f"SELECT COUNT(*) FROM ({rows_sql}) e"  # noqa: S608
        self.count_params = list(rows_params)

    def count(self) -> int:
        return _fetch(self.summed, self.count_query, self.count_params)[0][0]

    def __len__(self) -> int:
        return self.count()

    def _page(self, offset: int, limit: int | None) -> list[RankedEntity]:
        # Entities without a known-size contract (no share) come last in every order.
        order = ["CASE WHEN r.eligible_value > 0 THEN 0 ELSE 1 END"]
        share = ratio_sql("r.sme_value", "r.eligible_value")
        order_params = []
        if self.sort == "-share":
            order.append(f"{share} DESC")
        elif self.sort == "gap":
            gap, times = shortfall_sql("r.eligible_value", "r.sme_value")
            order.append(f"{gap} DESC")
            order_params = [self.minimum] * times
        elif self.sort == "value":
            order.append("r.eligible_value DESC")
        elif self.sort != "name":
            order.append(share)
        query = (
            f"SELECT * FROM ({self.query}) r ORDER BY "  # noqa: S608 (see _figures_query)
            + ", ".join(order + ["r.g2", "r.g0"])
        )
        params = list(self.params) + order_params
        if limit is not None:
            query += " LIMIT %s OFFSET %s"
            params += [limit, offset]
        result = []
        for row in _fetch(self.summed, query, params):
            values = dict(zip(_FIGURES_SQL, row[3:], strict=True))
            result.append(RankedEntity(row[0], row[1], row[2], _share_of(values, self.minimum)))
        return result

    def __iter__(self):
        return iter(self._page(0, None))

    def __getitem__(self, index):
        if isinstance(index, slice):
            start = index.start or 0
            limit = None if index.stop is None else max(index.stop - start, 0)
            return self._page(start, limit)
        return self._page(index, 1)[0]


def ranking(
    year: int, entities: QuerySet, sort: str = "", minimum: Decimal | None = None
) -> Ranking:
    """Entities of `entities` by actual share in the year (see Ranking), in the order `sort`
    names (RANKING_SORTS; lowest share first by default). `minimum`: the year's, when the
    caller has read it already (minimum_for)."""
    return Ranking(year, entities, _minimum(year, minimum), sort)


@dataclass(frozen=True)
class LeadTime:
    """Processes called and days from the call to the bid deadline, averaged."""

    processes: int
    reserved: int  # SME-only processes
    sme_only_days: Decimal | None
    open_days: Decimal | None
    # What the averages are made of: days summed and processes timed (with both dates),
    # SME-only and open; the CSV gives them so that averages over entities can be redone.
    sme_only_total_days: int = 0
    sme_only_timed: int = 0
    open_total_days: int = 0
    open_timed: int = 0


class _DaysBetween(Func):
    """Whole days from one date to another (PostgreSQL: date - date; SQLite: julianday)."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):
        later, earlier = (compiler.compile(e) for e in self.source_expressions)
        return f"({later[0]} - {earlier[0]})", [*later[1], *earlier[1]]

    def as_sqlite(self, compiler, connection, **extra):
        later, earlier = (compiler.compile(e) for e in self.source_expressions)
        return f"CAST(julianday({later[0]}) - julianday({earlier[0]}) AS INTEGER)", [
            *later[1],
            *earlier[1],
        ]


def _stage(stage: str, bound: str):
    # A process has one row per stage: unordered (the model's ordering joins the process).
    return Subquery(
        ProcessStage.objects.filter(process=OuterRef("pk"), stage=stage)
        .order_by()
        .values(bound)[:1]
    )


def lead_time(processes: QuerySet) -> LeadTime:
    """The SME lead time of the called processes of `processes`, computed live: the figures
    refresh_summary writes (_lead_time_rows, the one definition) added up as
    summary_lead_time adds up the summary's."""
    rows = list(_lead_time_rows(processes))
    return _lead_time_of({n: sum(row[n] for row in rows) for n in _LEAD_TIME_FIGURES})


@dataclass(frozen=True)
class MonthFigures:
    month: int
    planned: Decimal | None  # the plan version in force at the month's end
    signed: ActualShare | None  # contracts signed in the month (None: none)
    to_date: ActualShare  # contracts signed from January to the month's end
    year: int


def monthly_series(entity, year: int, minimum: Decimal | None = None) -> list[MonthFigures]:
    """Planned vs actual share month by month for the entity's compliance page and its chart:
    the twelve months' grouped figures (one query) summed up to each month."""
    minimum = _minimum(year, minimum)
    signed = monthly_actual(entity, year, minimum)
    planned = monthly_planned(entity, year)
    series, running = [], ActualShare(ZERO, ZERO, ZERO, ZERO, 0, 0, 0, 0, minimum)
    for month in range(1, 13):
        share = signed.get(month)
        if share is not None:
            running = ActualShare(
                *(
                    getattr(running, name) + getattr(share, name)
                    for name in ActualShare.__dataclass_fields__
                    if name != "minimum"
                ),
                minimum=minimum,
            )
        series.append(MonthFigures(month, planned[month], share, running, year))
    return series


# --- The figures summed ahead ----------------------------------------------------------------


def _summary_rows(year: int, entities: QuerySet | None, model=SmeShareMonth) -> QuerySet:
    """The summary rows (`model`: SmeShareMonth or SmeLeadTimeYear) of `entities` (every
    entity when None) for `year`."""
    rows = model.objects.filter(fiscal_year=year)
    if entities is not None:
        rows = rows.filter(entity__in=entities.order_by().values("pk"))
    return rows.order_by()


def _summed() -> dict:
    return {name: Sum(name) for name in _FIGURES_SQL}


def summary_share(
    year: int, entities: QuerySet | None = None, minimum: Decimal | None = None
) -> ActualShare:
    """The actual share of the contracts `entities` (every entity when None) signed in
    `year`, summed from the summary: the same figures actual_share gives live."""
    rows = _summary_rows(year, entities).aggregate(**_summed())
    return _share_of(rows, _minimum(year, minimum))


def summary_shares_by(
    year: int, entities: QuerySet | None, *fields: str, minimum: Decimal | None = None
) -> list[tuple[dict, ActualShare]]:
    """summary_share grouped by `fields`, lookups from the summary row (e.g. "month",
    "entity__sector"), as actual_shares_by gives them live: in the fields' order."""
    minimum = _minimum(year, minimum)
    rows = _summary_rows(year, entities).values(*fields).annotate(**_summed()).order_by(*fields)
    return [({f: row[f] for f in fields}, _share_of(row, minimum)) for row in rows]


def national_share(year: int) -> ActualShare:
    """The national actual share of the contracts signed in `year`: the home page's headline.
    /mype/ sums its national figure over the entities its filters keep (summary_share of the
    same rows), so with no filter the two are the same number (tested)."""
    return summary_share(year)


def entity_share(entity, year: int) -> ActualShare:
    return summary_share(year, Entity.objects.filter(pk=entity.pk))


def monthly_actual(entity, year: int, minimum: Decimal | None = None) -> dict[int, ActualShare]:
    """The entity's actual share of the contracts signed in each month of the year."""
    shares = summary_shares_by(year, Entity.objects.filter(pk=entity.pk), "month", minimum=minimum)
    return {key["month"]: share for key, share in shares}


def _lead_time_rows(processes: QuerySet) -> QuerySet:
    """lead_time's figures of `processes` per entity and fiscal year, as totals and counts."""
    days = _DaysBetween(_stage(Stage.BIDS, "end"), _stage(Stage.CALL, "start"))
    sme_only, open_ = Q(sme_only=True), Q(sme_only=False)
    return (
        processes.published()
        .annotate(lead_days=days)
        .order_by()
        .values("entity_id", "fiscal_year_id")
        .annotate(
            processes=Count("pk"),
            reserved=Count("pk", filter=sme_only),
            sme_only_days=Coalesce(Sum("lead_days", filter=sme_only), 0),
            sme_only_timed=Count("lead_days", filter=sme_only),
            open_days=Coalesce(Sum("lead_days", filter=open_), 0),
            open_timed=Count("lead_days", filter=open_),
        )
    )


_LEAD_TIME_FIGURES = (
    "processes",
    "reserved",
    "sme_only_days",
    "sme_only_timed",
    "open_days",
    "open_timed",
)


def average_days(days, timed) -> Decimal | None:
    """Days summed over the processes timed, averaged to a tenth of a day (None: none timed)."""
    return None if not timed else (Decimal(days) / Decimal(timed)).quantize(Decimal("0.1"))


def _lead_time_of(row: dict) -> LeadTime:
    return LeadTime(
        row["processes"],
        row["reserved"],
        average_days(row["sme_only_days"], row["sme_only_timed"]),
        average_days(row["open_days"], row["open_timed"]),
        *(row[n] for n in _LEAD_TIME_FIGURES[2:]),
    )


def summary_lead_time(year: int, entities: QuerySet | None = None) -> LeadTime:
    """lead_time of the processes of `entities` (every entity when None) of fiscal year
    `year`, from the summary."""
    rows = _summary_rows(year, entities, SmeLeadTimeYear)
    return _lead_time_of(rows.aggregate(**{n: Coalesce(Sum(n), 0) for n in _LEAD_TIME_FIGURES}))


def summary_lead_times(year: int, entity_ids) -> dict[int, LeadTime]:
    """summary_lead_time of each entity of `entity_ids` (one grouped query): the ranking
    CSV's columns; an entity without processes called in the year has none."""
    rows = (
        _summary_rows(year, None, SmeLeadTimeYear)
        .filter(entity_id__in=entity_ids)
        .values("entity_id")
        .annotate(**{n: Coalesce(Sum(n), 0) for n in _LEAD_TIME_FIGURES})
    )
    return {row["entity_id"]: _lead_time_of(row) for row in rows}


def refresh_summary(*, entity_id: int | None = None, year: int | None = None) -> int:
    """Rewrite the summed figures of one entity's year (or of every entity, or every year,
    left None) from the live computation: the actual-share figures of its contracts by
    signing month (share_contracts and actual_shares_by, the rules above) and the lead time
    of its processes of the fiscal year. Returns the rows written. Refreshes that could
    overwrite each other run one after the other (_refresh_lock), each reading what was
    committed before it."""
    contracts, processes = Contract.objects.all(), ProcurementProcess.objects.all()
    months, lead_times = SmeShareMonth.objects.all(), SmeLeadTimeYear.objects.all()
    if entity_id is not None:
        contracts = contracts.filter(entity_id=entity_id)
        processes = processes.filter(entity_id=entity_id)
        months = months.filter(entity_id=entity_id)
        lead_times = lead_times.filter(entity_id=entity_id)
    if year is not None:
        contracts = contracts.filter(signed_on__year=year)
        processes = processes.filter(fiscal_year_id=year)
        months, lead_times = months.filter(fiscal_year=year), lead_times.filter(fiscal_year=year)
    try:
        with transaction.atomic():
            _refresh_lock(entity_id)
            figures = _figures_by(share_contracts(contracts), "entity_id", "fiscal_year", "month")
            month_rows = [
                SmeShareMonth(
                    entity_id=key["entity_id"],
                    fiscal_year=key["fiscal_year"],
                    month=key["month"],
                    **values,
                )
                for key, values in figures
            ]
            lead_rows = [
                SmeLeadTimeYear(
                    entity_id=row.pop("entity_id"), fiscal_year=row.pop("fiscal_year_id"), **row
                )
                for row in _lead_time_rows(processes)
            ]
            months.delete()
            lead_times.delete()
            SmeShareMonth.objects.bulk_create(month_rows, batch_size=2000)
            SmeLeadTimeYear.objects.bulk_create(lead_rows, batch_size=2000)
    except IntegrityError:
        logger.warning(
            "SME summary of entity %s, year %s not refreshed (collision).", entity_id, year
        )
        return 0
    return len(month_rows) + len(lead_rows)


# The advisory lock every refresh takes on PostgreSQL: an entity's refresh shares it, a full
# refresh takes it alone, so a full refresh never deletes the rows an entity's refresh wrote
# after the full one had read its figures.
_REFRESH_LOCK = 0x534D45  # "SME"


def _refresh_lock(entity_id: int | None) -> None:
    """Wait for the refreshes this one could overwrite (or be overwritten by): one entity's
    refreshes run one at a time (its row locked) beside other entities'; a full refresh runs
    alone. Taken before anything is read, so each refresh reads what the one before it
    committed."""
    if connection.vendor == "postgresql":
        shared = "_shared" if entity_id is not None else ""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock{shared}(%s)", [_REFRESH_LOCK])
    if entity_id is not None:
        list(Entity.objects.select_for_update().filter(pk=entity_id).values("pk"))


def refresh_on_commit(*, entity_id: int, years) -> None:
    """After the current transaction commits, refresh_summary for each of the entity's
    `years`: the services call it on each change that moves the figures (a contract signed,
    amended, ended or annulled, for its signing year; an award, a process called or its
    calendar amended, for the process's fiscal year). Each entity-year is refreshed once per
    commit however many changes of the transaction name it (signing a contract also changes
    its process's status). A refresh that fails leaves the change committed; the daily
    refresh rewrites the rows."""
    pending = _pending_refreshes()
    pending.update((entity_id, year) for year in years if year is not None)
    transaction.on_commit(lambda: _refresh(pending), robust=True)


def _pending_refreshes() -> set[tuple[int, int]]:
    """The entity-years to refresh when the current transaction commits. Django gives each
    transaction (and each savepoint rollback) a new list of commit callbacks: a new list
    starts a new set."""
    db = connections[DEFAULT_DB_ALIAS]
    hooks, pending = db.__dict__.get("_sme_pending", (None, None))
    if hooks is not db.run_on_commit:
        pending = set()
        db.__dict__["_sme_pending"] = (db.run_on_commit, pending)
    return pending


def _refresh(pending: set[tuple[int, int]]) -> None:
    """The first callback of a commit refreshes every entity-year named; the others find
    none left."""
    while pending:
        entity_id, year = min(pending)  # one order for every worker: entities locked in turn
        pending.discard((entity_id, year))
        refresh_summary(entity_id=entity_id, year=year)


def process_years(process) -> set[int]:
    """The years of the summary a change of the process moves: its fiscal year and its
    contracts' signing years."""
    signed = Contract.objects.filter(process=process).values_list("signed_on__year", flat=True)
    return {year for year in (process.fiscal_year_id, *signed.distinct()) if year is not None}


def refresh_process_on_commit(process) -> None:
    """refresh_on_commit for a process's fiscal year and its contracts' signing years."""
    refresh_on_commit(entity_id=process.entity_id, years=process_years(process))
