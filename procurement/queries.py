"""Read-side queries shared by pages, the API and exports."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils.formats import number_format
from django.utils.translation import gettext

from core import clock, formatting
from core.codelists import SizeClass, Stage
from suppliers.models import Supplier

from . import sme
from .models import (
    Entity,
    PlanItem,
    PlanVersion,
    ProcessItem,
    ProcessStage,
    ProcessStatus,
    ProcurementPlan,
    ProcurementProcess,
)
from .state_machine import HOLDS_PLAN_ITEMS


def entities_with_location():
    return Entity.objects.select_related("sector", "ubigeo__province__department")


def entity_plans(entity: Entity):
    """The entity's plans in force, newest year first."""
    return plans_in_force().filter(plan__entity=entity)


def headline_year(today: date | None = None) -> int | None:
    """The fiscal year the home page speaks of: the one with the most plans in force (on a tie,
    the current year, then the latest). One entity publishing next year's plan early does not
    turn the national figure into that one plan's share."""
    current = (today or clock.today()).year
    counts = (
        plans_in_force().order_by().values_list("plan__fiscal_year").annotate(plans=Count("id"))
    )
    ranked = sorted(counts, key=lambda row: (row[1], row[0] == current, row[0]), reverse=True)
    return ranked[0][0] if ranked else None


def portal_headline(today: date | None = None) -> dict:
    """Figures for the home page headline: the national actual SME share of this year's
    contracts (sme.national_share, the /mype/ figure), the planned SME share of the headline
    year, and the registry's SME make-up."""
    suppliers = Supplier.objects.public().aggregate(
        total=Count("id"), sme=Count("id", filter=Q(size_class__in=SizeClass.sme_values()))
    )
    total = suppliers["total"]
    today = today or clock.today()  # one clock for every figure (core.clock)
    year = headline_year(today)
    this_year = today.year
    return {
        "actual": sme.national_share(this_year),
        "actual_year": this_year,
        "entities": Entity.objects.count(),
        "suppliers": total,
        "sme_suppliers": suppliers["sme"],
        "sme_supplier_share": (suppliers["sme"] / total) if total else None,
        "plans": planned_sme_summary(year) if year else None,
    }


def planned_sme_summary(year: int) -> dict:
    """National planned SME share of a fiscal year over the plans in force, how many plans
    meet the minimum, and that minimum (the fiscal year's, as the actual share uses)."""
    totals = (
        plans_in_force()
        .filter(plan__fiscal_year=year)
        .aggregate(
            plans=Count("id"),
            compliant=Count("id", filter=Q(sme_compliant=True)),
            eligible=Sum("sme_eligible_value"),
            reserved=Sum("sme_reserved_value"),
        )
    )
    return {
        "year": year,
        "plans": totals["plans"],
        "compliant": totals["compliant"],
        "share": sme.ratio(totals["reserved"] or sme.ZERO, totals["eligible"] or sme.ZERO),
        "minimum": sme.minimum_for(year),
    }


# --- Annual procurement plans ---------------------------------------------------------------


def published_versions(plan: ProcurementPlan):
    return plan.versions.published().order_by("number")


def plans_in_force(on: date | None = None):
    """One row per published plan: its version in force (on the date, if given)."""
    return (
        PlanVersion.objects.in_force(on)
        .select_related(
            "plan__entity__sector",
            "plan__entity__ubigeo__province__department",
            "plan__fiscal_year",
        )
        .order_by("-plan__fiscal_year", "plan__entity__name")
    )


def plan_items_in_live_processes(plan: ProcurementPlan):
    """Process items holding an item of the plan: an item (known by its number across the
    plan's versions) belongs to at most one process that can still lead to a contract."""
    return ProcessItem.objects.filter(
        plan_item__version__plan=plan, process__status__in=HOLDS_PLAN_ITEMS
    )


def free_plan_items(version: PlanVersion):
    """Items of a plan version that no live process holds, in plan order."""
    held = plan_items_in_live_processes(version.plan).values("plan_item__reference")
    return version.items.exclude(reference__in=held).order_by("reference")


def plan_items(version: PlanVersion):
    return version.items.select_related("catalog_item").order_by("reference")


DIFF_FIELDS = (
    "object_type",
    "catalog_item_id",
    "description",
    "quantity",
    "unit",
    "estimated_value",
    "procedure_type",
    "planned_month",
    "sme_reserved",
)


@dataclass
class ItemChange:
    reference: int
    old: PlanItem
    new: PlanItem
    fields: list[tuple[str, str, object, object]]  # (field, label, old value, new value)


@dataclass
class VersionDiff:
    old: PlanVersion
    new: PlanVersion
    added: list[PlanItem]
    removed: list[PlanItem]
    changed: list[ItemChange]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _shown(item: PlanItem, name: str) -> str:
    """A field's value as people read it (labels, not codes)."""
    value = getattr(item, name)
    if name in ("object_type", "procedure_type"):
        return getattr(item, f"get_{name}_display")()
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if name == "estimated_value":
        return formatting.amount(value)
    if name == "quantity":
        return number_format(value.normalize(), force_grouping=True)
    return str(value)


def version_diff(old: PlanVersion, new: PlanVersion) -> VersionDiff:
    """What changed from `old` to `new`, matching items by their stable reference number."""
    before = {item.reference: item for item in plan_items(old)}
    after = {item.reference: item for item in plan_items(new)}
    changed = []
    for reference in sorted(before.keys() & after.keys()):
        a, b = before[reference], after[reference]
        fields = [
            (
                name,
                PlanItem._meta.get_field(name.removesuffix("_id")).verbose_name,
                _shown(a, name),
                _shown(b, name),
            )
            for name in DIFF_FIELDS
            if getattr(a, name) != getattr(b, name)
        ]
        if fields:
            changed.append(ItemChange(reference, a, b, fields))
    return VersionDiff(
        old=old,
        new=new,
        added=[after[r] for r in sorted(after.keys() - before.keys())],
        removed=[before[r] for r in sorted(before.keys() - after.keys())],
        changed=changed,
    )


# --- Selection processes -----------------------------------------------------------------------


def public_processes():
    """Published processes as lists, exports and the home page show them (drafts whose bases
    were published in advance are not listed: see ProcurementProcess.objects.public())."""
    return (
        ProcurementProcess.objects.published()
        .select_related("entity")
        .defer(
            "search_vector", "search_text", "catalog_codes"
        )  # searched in the database, never shown
        .annotate(call_date=call_date())
        .order_by("-published_at", "-id")
    )


# The columns the process table (procurement/includes/process_table.html: process_rows) shows
# of each row, and the sort keys its pages are cut at (core.keyset): a list that reads only
# these builds its rows in a third less time (the search page: a process has 30 columns, with
# its entity's). call_date is public_processes()'s annotation.
PROCESS_TABLE_FIELDS = (
    "identifier",
    "sme_only",
    "entity__acronym",
    "description",
    "estimated_value",
    "status",
    "published_at",
)


def call_stages():
    """The call stages of processes, one at most per process (process_stage_unique): the
    `start` of a process's call stage is the date of its call, as lists, exports, the
    calendar and the statistics all show it (not the moment the record was published).
    A query that counts many processes by their call date reads these rows (a join, as
    statistics does); one that shows a process's reads call_date()."""
    # No ordering: the default one would join the process.
    return ProcessStage.objects.filter(stage=Stage.CALL).order_by()


def call_date():
    """The date of a process's call (the start of its call stage, call_stages), as an
    expression on processes."""
    return Subquery(call_stages().filter(process=OuterRef("pk")).values("start")[:1])


def closing_change(process: ProcurementProcess):
    """The status change that ended a process early (cancelled, deserted) or declared it void:
    its date and reason are shown beside the calendar. None for other statuses."""
    if process.status not in (ProcessStatus.CANCELLED, ProcessStatus.DESERTED, ProcessStatus.VOID):
        return None
    return process.history.filter(to_status=process.status).order_by("-at", "-id").first()


@dataclass
class AmendedStage:
    label: str
    before: tuple[date, date] | None
    after: tuple[date, date]


@dataclass
class AmendmentView:
    at: object  # datetime
    reason: str
    stages: list[AmendedStage]


def calendar_amendments(process: ProcurementProcess) -> list[AmendmentView]:
    """The public record of every calendar amendment of a process: when, why and which stage
    dates changed from what to what."""
    labels = dict(Stage.choices)

    def pair(value):
        return tuple(date.fromisoformat(d) for d in value) if value else None

    return [
        AmendmentView(
            at=amendment.at,
            reason=amendment.reason,
            stages=[
                AmendedStage(
                    labels.get(c["stage"], c["stage"]), pair(c["before"]), pair(c["after"])
                )
                for c in amendment.changes
            ],
        )
        for amendment in process.amendments.order_by("at", "id")
    ]


def latest_processes(limit: int = 10):
    return public_processes()[:limit]
