"""Purchase statistics (/estadisticas/): counts of published processes and their amounts by
product (catalog segment, family, class or commodity), entity, department, sector,
government level, period of the call (month, quarter, year), procedure type, object and
winning supplier, over the processes any public search finds (ProcessFilter, the search's
one FilterSet: its parameters narrow the statistics as they narrow the search). Every row
carries the search parameters (the ones given plus its group's) whose result is the row's
processes, so each figure links to the search that produces it: the row's count is the number
of processes that search finds.

Each table is one grouped query (plus one for the names of catalog codes or departments),
however many rows; the categorical tables keep the LIMIT rows with most processes (each
grouping reads one row more, to tell a table that was cut from one of exactly LIMIT rows)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Substr, TruncMonth, TruncQuarter, TruncYear
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core import clock, formatting
from core import kept as keeping
from core.catalog import code_prefix, prefix_code
from core.codelists import GovernmentLevel, ObjectType, ProcedureType, Stage
from core.models import CatalogItem, Department

from .calendar_rules import stages_under_way
from .models import Award, ProcessItem, ProcurementProcess
from .queries import call_stages

LIMIT = 50  # rows of a categorical table (the ones with most processes)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    count: int
    total: Decimal | None  # None when only counted (statistics._counted)
    params: dict = field(default_factory=dict)  # ProcessFilter parameters of the row's search

    @property
    def search_url(self) -> str:
        return f"{reverse('procurement:process_list')}?{urlencode(self.params)}"


@dataclass(frozen=True)
class Scope:
    """The processes counted (a valid ProcessFilter's result) and the search parameters that
    found them (canonical). A grouping that is also a filter (the catalog code, the winning
    supplier, the call's dates) counts within the filter, so that its rows' searches, which
    carry one value per parameter, find what the rows count."""

    processes: QuerySet
    params: dict
    catalog: str = ""  # the catalog filter's code prefix ("4321"), "" when none
    supplier: str = ""  # the winning supplier filter's RUC
    call_from: date | None = None
    call_to: date | None = None


def published() -> QuerySet:
    """The processes the statistics count before any filter: the published ones (what the
    search lists)."""
    return ProcurementProcess.objects.published().order_by()


# The parameters of the search that do not choose processes (and so no statistic).
NOT_FILTERS = ("sort", "cursor", "format")


def scope(process_filter) -> Scope:
    """The Scope of a valid ProcessFilter over published(): its parameters in their canonical
    form (ProcessFilter.canonical_params, what the table is kept under and its rows link
    with), the empty ones and the sort left out."""
    data = process_filter.form.cleaned_data
    return Scope(
        processes=process_filter.qs.order_by(),
        params=process_filter.canonical_params(leave_out=NOT_FILTERS),
        catalog=code_prefix(data.get("catalog") or ""),
        supplier=data.get("supplier") or "",
        call_from=data.get("call_from"),
        call_to=data.get("call_to"),
    )


@dataclass(frozen=True)
class Dimension:
    name: str  # the `by` parameter
    label: str
    total_label: str  # what the amount column sums
    rows: Callable[[Scope], list[Row]]
    ranked: bool = True  # ordered by count and cut at LIMIT (periods: in time order, all)
    group: str = ""  # the heading it is listed under in the `by` choices, if any


def totals(processes: QuerySet) -> dict:
    return processes.aggregate(count=Count("id"), total=Sum("estimated_value"))


def _counted(rows, count, amount: str, with_total: bool):
    """`rows` with their count and, unless the page needs no amounts (the auditors' overview
    counts only, and a sum makes the database read every row), the sum of `amount`."""
    return rows.annotate(count=count, **({"total": Sum(amount)} if with_total else {}))


def _ranked(rows):
    """The groups with most processes: LIMIT and one more when there are more (Counted.cut)."""
    return rows.order_by("-count", "key")[: LIMIT + 1]


def _catalog(digits: int):
    """Processes with an item under each code of a catalog level (its first `digits` digits:
    2 a segment, 4 a family, 6 a class, 8 a commodity): a process with items under two codes
    counts under both. The amount is the estimated value of those items. Under a catalog
    filter only the items under the filter's code count, and a level no finer than the filter
    is one row, the filter's code (its prefix may have any number of digits: 432 is not
    43200000, whose prefix is 4320). A row's code is written as its search reads it
    (catalog.prefix_code)."""

    def rows(scope: Scope) -> list[Row]:
        width = max(digits, len(scope.catalog))
        items = ProcessItem.objects.filter(process__in=scope.processes.values("pk"))
        if scope.catalog:
            items = items.filter(catalog_item__code__startswith=scope.catalog)
        grouped = list(
            _ranked(
                items.order_by()
                .values(key=Substr("catalog_item_id", 1, width))
                .annotate(count=Count("process_id", distinct=True), total=Sum("estimated_value"))
            )
        )
        codes = [prefix_code(row["key"]) for row in grouped]
        names = {item.code: item.name for item in CatalogItem.objects.filter(code__in=codes)}
        return [
            Row(
                key=code,
                label=names.get(code, ""),
                count=row["count"],
                total=row["total"],
                params=scope.params | {"catalog": code},
            )
            for code, row in zip(codes, grouped, strict=True)
        ]

    return rows


def entity_rows(processes, params, *, with_total=True):
    grouped = _ranked(
        _counted(
            processes.values(key=F("entity__ruc"), name=F("entity__name")),
            Count("id"),
            "estimated_value",
            with_total,
        )
    )
    return [
        Row(
            row["key"], row["name"], row["count"], row.get("total"), params | {"entity": row["key"]}
        )
        for row in grouped
    ]


def department_rows(processes, params, *, with_total=True):
    grouped = list(
        _ranked(
            _counted(
                processes.values(key=Substr("entity__ubigeo_id", 1, 2)),
                Count("id"),
                "estimated_value",
                with_total,
            )
        )
    )
    names = dict(Department.objects.filter(code__in=[r["key"] for r in grouped]).values_list())
    return [
        Row(
            row["key"],
            names.get(row["key"], ""),
            row["count"],
            row.get("total"),
            params | {"department": row["key"]},
        )
        for row in grouped
    ]


def choice_rows(name: str, choices, field: str | None = None):
    """Processes by a codelist column (`field`, the search parameter `name` by default),
    labelled by its choices."""
    labels = dict(choices)

    def rows(processes, params, *, with_total=True):
        grouped = _ranked(
            _counted(
                processes.values(key=F(field or name)), Count("id"), "estimated_value", with_total
            )
        )
        return [
            Row(
                row["key"],
                str(labels.get(row["key"], row["key"])),
                row["count"],
                row.get("total"),
                params | {name: row["key"]},
            )
            for row in grouped
        ]

    return rows


def sector_rows(processes, params, *, with_total=True):
    """Processes by their entity's sector, named in the page's language."""
    english = (get_language() or "es").startswith("en")
    grouped = _ranked(
        _counted(
            processes.values(
                key=F("entity__sector_id"),
                name_es=F("entity__sector__name_es"),
                name_en=F("entity__sector__name_en"),
            ),
            Count("id"),
            "estimated_value",
            with_total,
        )
    )
    return [
        Row(
            row["key"],
            (row["name_en"] if english and row["name_en"] else row["name_es"]) or row["name_en"],
            row["count"],
            row.get("total"),
            params | {"sector": row["key"]},
        )
        for row in grouped
    ]


def current_stage_rows(today: date):
    """Running processes by the stage under way on `today` (calendar_rules.stages_under_way,
    the search's `stage` filter)."""
    labels = dict(Stage.choices)

    def rows(processes, params, *, with_total=True):
        grouped = _ranked(
            _counted(
                stages_under_way(today)
                .filter(process__in=processes.values("pk"))
                .order_by()
                .values(key=F("stage")),
                Count("process_id", distinct=True),
                "process__estimated_value",
                with_total,
            )
        )
        return [
            Row(
                row["key"],
                str(labels.get(row["key"], row["key"])),
                row["count"],
                row.get("total"),
                params | {"stage": row["key"]},
            )
            for row in grouped
        ]

    return rows


def _suppliers(scope: Scope) -> list[Row]:
    """Processes with a lot granted to each supplier, and the amounts awarded to it (under a
    supplier filter, to that supplier only)."""
    awards = Award.objects.granted().filter(process__in=scope.processes.values("pk"))
    if scope.supplier:
        awards = awards.filter(supplier__ruc=scope.supplier)
    grouped = _ranked(
        awards.order_by()
        .values(key=F("supplier__ruc"), name=F("supplier__legal_name"))
        .annotate(count=Count("process_id", distinct=True), total=Sum("amount"))
    )
    return [
        Row(
            row["key"],
            row["name"],
            row["count"],
            row["total"],
            scope.params | {"supplier": row["key"]},
        )
        for row in grouped
    ]


def _month_end(start: date) -> date:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


PERIODS = {
    "month": (TruncMonth, lambda start: start.strftime("%Y-%m"), _month_end),
    "quarter": (
        TruncQuarter,
        formatting.quarter,
        lambda start: _month_end(start.replace(month=start.month + 2)),
    ),
    "year": (
        TruncYear,
        lambda start: str(start.year),
        lambda start: start.replace(month=12, day=31),
    ),
}


def _period(name: str):
    """Processes by the day of their call (the start of the call stage, queries.call_stages,
    the date the search's call_from/call_to filter on), within the call dates of the filter: a row's search is its
    period cut to them, so a month the range starts inside counts from the range's start."""
    trunc, label_of, end_of = PERIODS[name]

    def rows(scope: Scope) -> list[Row]:
        calls = call_stages().filter(process__in=scope.processes.values("pk"))
        if scope.call_from:
            calls = calls.filter(start__gte=scope.call_from)
        if scope.call_to:
            calls = calls.filter(start__lte=scope.call_to)
        grouped = (
            calls.order_by()
            .values(key=trunc("start"))
            .annotate(
                count=Count("process_id", distinct=True), total=Sum("process__estimated_value")
            )
            .order_by("key")
        )
        result = []
        for row in grouped:
            start = row["key"]
            if hasattr(start, "date"):
                start = start.date()
            first = max(start, scope.call_from) if scope.call_from else start
            last = min(end_of(start), scope.call_to) if scope.call_to else end_of(start)
            search = scope.params | {"call_from": first.isoformat(), "call_to": last.isoformat()}
            label = label_of(start)
            result.append(Row(label, label, row["count"], row["total"], search))
        return result

    return rows


def _of_processes(rows_of):
    """A grouping of the processes themselves (entity_rows and the like) as a Dimension's."""
    return lambda scope: rows_of(scope.processes, scope.params)


PRODUCT = _("Product (catalog)")
PERIOD = _("Period of the call")
ESTIMATED = _("Estimated value")
ITEMS_VALUE = _("Value of its items")

DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("segment", _("Catalog segment"), ITEMS_VALUE, _catalog(2), group=PRODUCT),
        Dimension("family", _("Catalog family"), ITEMS_VALUE, _catalog(4), group=PRODUCT),
        Dimension("class", _("Catalog class"), ITEMS_VALUE, _catalog(6), group=PRODUCT),
        Dimension("commodity", _("Catalog commodity"), ITEMS_VALUE, _catalog(8), group=PRODUCT),
        Dimension("month", _("Month of the call"), ESTIMATED, _period("month"), False, PERIOD),
        Dimension(
            "quarter", _("Quarter of the call"), ESTIMATED, _period("quarter"), False, PERIOD
        ),
        Dimension("year", _("Year of the call"), ESTIMATED, _period("year"), False, PERIOD),
        Dimension("entity", _("Entity"), ESTIMATED, _of_processes(entity_rows)),
        Dimension("department", _("Department"), ESTIMATED, _of_processes(department_rows)),
        Dimension("sector", _("Sector"), ESTIMATED, _of_processes(sector_rows)),
        Dimension(
            "level",
            _("Government level"),
            ESTIMATED,
            _of_processes(choice_rows("level", GovernmentLevel.choices, "entity__level")),
        ),
        Dimension(
            "procedure_type",
            _("Procedure type"),
            ESTIMATED,
            _of_processes(choice_rows("procedure_type", ProcedureType.choices)),
        ),
        Dimension(
            "object_type",
            _("Object"),
            ESTIMATED,
            _of_processes(choice_rows("object_type", ObjectType.choices)),
        ),
        Dimension("supplier", _("Winning supplier"), _("Amount awarded"), _suppliers),
    )
}


def by_choices() -> list:
    """The `by` choices, the catalog levels and the periods under their headings."""
    choices, groups = [], {}
    for d in DIMENSIONS.values():
        if not d.group:
            choices.append((d.name, d.label))
        elif d.group not in groups:
            groups[d.group] = [(d.name, d.label)]
            choices.append((d.group, groups[d.group]))
        else:
            groups[d.group].append((d.name, d.label))
    return choices


# --- kept tables ------------------------------------------------------------------------------
# Counting a grouping reads every process the filters find (0.15-0.65 s at 100,000 processes,
# see the README), so a table and its totals are kept KEPT_SECONDS per grouping,
# filters, day (the `stage` filter's today) and language (the labels); the unfiltered table
# of every grouping is counted again by Celery beat before it expires (warm), so the pages
# most visitors open never wait. A figure is at most KEPT_SECONDS old; the search each one
# links to is always current.
KEPT_SECONDS = keeping.KEPT_SECONDS


@dataclass(frozen=True)
class Counted:
    rows: list[Row]
    totals: dict
    counted_at: datetime
    cut: bool = False  # a ranked table with more groups than the LIMIT rows it keeps


def _kept_key(dimension: Dimension, scope: Scope) -> str:
    return keeping.key(
        "statistics",
        dimension.name,
        clock.today().isoformat(),
        get_language(),
        params=scope.params.items(),
    )


def counted(
    dimension: Dimension, scope: Scope, *, recount: bool = False, known_totals: dict | None = None
) -> Counted:
    """The rows of `dimension` over `scope` and its totals, as kept (counted now when not
    kept, or when `recount`; the totals are `known_totals` when the caller just counted
    them)."""
    key = _kept_key(dimension, scope)
    kept = None if recount else cache.get(key)
    if kept is None:
        rows = dimension.rows(scope)
        kept = Counted(
            rows[:LIMIT] if dimension.ranked else rows,
            known_totals or totals(scope.processes),
            clock.now(),
            cut=dimension.ranked and len(rows) > LIMIT,
        )
        cache.set(key, kept, KEPT_SECONDS)
    return kept


def warm() -> int:
    """Count every grouping of all published processes again in every language (Celery beat,
    more often than KEPT_SECONDS). Returns how many tables were counted."""
    everything = Scope(processes=published(), params={})
    known_totals = totals(everything.processes)  # the same for every table
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for dimension in DIMENSIONS.values():
                counted(dimension, everything, recount=True, known_totals=known_totals)
    return len(settings.LANGUAGES) * len(DIMENSIONS)
