"""Purchase statistics (/estadisticas/): counts of published processes and their amounts by
catalog segment and family, entity, department, period of the call, procedure type, object
and winning supplier. Every row carries the search parameters (ProcessFilter's public names)
whose result is the row's processes, so each figure links to the search that produces it:
the row's count is the number of processes that search finds.

Each table is one grouped query (plus one for the names of catalog codes or departments),
however many rows; the categorical tables keep the LIMIT rows with most processes."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Substr, TruncMonth, TruncQuarter, TruncYear
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.codelists import ObjectType, ProcedureType, Stage
from core.models import CatalogItem, Department

from .calendar_rules import stages_under_way
from .models import Award, ProcessItem, ProcessStage, ProcurementProcess

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
class Dimension:
    name: str  # the `by` parameter
    label: str
    total_label: str  # what the amount column sums
    rows: Callable[[QuerySet, dict], list[Row]]
    ranked: bool = True  # ordered by count and cut at LIMIT (periods: in time order, all)


def published(year: int | None) -> QuerySet:
    """The processes the statistics count: the published ones (what the search lists), of one
    fiscal year when given."""
    processes = ProcurementProcess.objects.published().order_by()
    return processes.filter(fiscal_year_id=year) if year else processes


def base_params(year: int | None) -> dict:
    return {"year": year} if year else {}


def totals(processes: QuerySet) -> dict:
    return processes.aggregate(count=Count("id"), total=Sum("estimated_value"))


def _counted(rows, count, amount: str, with_total: bool):
    """`rows` with their count and, unless the page needs no amounts (the auditors' overview
    counts only, and a sum makes the database read every row), the sum of `amount`."""
    return rows.annotate(count=count, **({"total": Sum(amount)} if with_total else {}))


def _ranked(rows):
    return rows.order_by("-count", "key")[:LIMIT]


def _catalog(digits: int, suffix: str):
    """Processes with an item under each segment (2 digits) or family (4): a process with
    items in two segments counts in both. The amount is the estimated value of those items."""

    def rows(processes, params):
        grouped = _ranked(
            ProcessItem.objects.filter(process__in=processes.values("pk"))
            .order_by()
            .values(key=Substr("catalog_item_id", 1, digits))
            .annotate(count=Count("process_id", distinct=True), total=Sum("estimated_value"))
        )
        grouped = list(grouped)
        codes = [row["key"] + suffix for row in grouped]
        names = {item.code: item.name for item in CatalogItem.objects.filter(code__in=codes)}
        return [
            Row(
                key=row["key"] + suffix,
                label=names.get(row["key"] + suffix, ""),
                count=row["count"],
                total=row["total"],
                params=params | {"catalog": row["key"] + suffix},
            )
            for row in grouped
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


def _suppliers(processes, params):
    """Processes with a lot granted to each supplier, and the amounts awarded to it."""
    grouped = _ranked(
        Award.objects.granted()
        .filter(process__in=processes.values("pk"))
        .order_by()
        .values(key=F("supplier__ruc"), name=F("supplier__legal_name"))
        .annotate(count=Count("process_id", distinct=True), total=Sum("amount"))
    )
    return [
        Row(row["key"], row["name"], row["count"], row["total"], params | {"supplier": row["key"]})
        for row in grouped
    ]


def _month_end(start: date) -> date:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


PERIODS = {
    "month": (TruncMonth, "%Y-%m", lambda start: _month_end(start)),
    "quarter": (TruncQuarter, None, lambda start: _month_end(start.replace(month=start.month + 2))),
    "year": (TruncYear, "%Y", lambda start: start.replace(month=12, day=31)),
}


def _period(name: str):
    """Processes by the day of their call (the start of the call stage, the date the search's
    call_from/call_to filter on)."""
    trunc, label_format, end_of = PERIODS[name]

    def rows(processes, params):
        grouped = (
            ProcessStage.objects.filter(stage=Stage.CALL, process__in=processes.values("pk"))
            .order_by()
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
            label = (
                start.strftime(label_format)
                if label_format
                else f"{start.year}-T{(start.month - 1) // 3 + 1}"
            )
            end = end_of(start)
            search = params | {"call_from": start.isoformat(), "call_to": end.isoformat()}
            result.append(Row(label, label, row["count"], row["total"], search))
        return result

    return rows


DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("segment", _("Catalog segment"), _("Value of its items"), _catalog(2, "000000")),
        Dimension("family", _("Catalog family"), _("Value of its items"), _catalog(4, "0000")),
        Dimension("entity", _("Entity"), _("Estimated value"), entity_rows),
        Dimension("department", _("Department"), _("Estimated value"), department_rows),
        Dimension("month", _("Month of the call"), _("Estimated value"), _period("month"), False),
        Dimension(
            "quarter", _("Quarter of the call"), _("Estimated value"), _period("quarter"), False
        ),
        Dimension("year", _("Year of the call"), _("Estimated value"), _period("year"), False),
        Dimension(
            "procedure_type",
            _("Procedure type"),
            _("Estimated value"),
            choice_rows("procedure_type", ProcedureType.choices),
        ),
        Dimension(
            "object_type",
            _("Object"),
            _("Estimated value"),
            choice_rows("object_type", ObjectType.choices),
        ),
        Dimension("supplier", _("Winning supplier"), _("Amount awarded"), _suppliers),
    )
}


def table(dimension: Dimension, year: int | None) -> list[Row]:
    return dimension.rows(published(year), base_params(year))
