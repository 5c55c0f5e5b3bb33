"""Everything that changes an annual procurement plan (PAC)."""

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit, formatting
from core.errors import DomainError
from core.models import FiscalYear
from core.workdays import calendar
from notifications import events
from notifications.models import EventKind

from ..models import Entity, PlanItem, PlanVersion, ProcurementPlan
from ..rules import MAX_PLAN_TOTAL, date_window, plan_published_late
from ..sme import record_snapshot, version_share

ITEM_FIELDS = (
    "object_type",
    "catalog_item",
    "description",
    "quantity",
    "unit",
    "estimated_value",
    "procedure_type",
    "planned_month",
    "sme_reserved",
)


def _require_draft(version: PlanVersion) -> None:
    if not version.is_draft:
        raise DomainError(_("A published version cannot change; start a modification instead."))


def _locked(version: PlanVersion) -> PlanVersion:
    """Re-read the version under a row lock, so concurrent edits and publications queue."""
    return (
        PlanVersion.objects.select_for_update()
        .select_related("plan__fiscal_year")
        .get(pk=version.pk)
    )


def _next_reference(plan: ProcurementPlan) -> int:
    last = PlanItem.objects.filter(version__plan=plan).aggregate(last=Max("reference"))["last"]
    return (last or 0) + 1


@transaction.atomic
def create_plan(actor, entity: Entity, year: int) -> PlanVersion:
    """Open the entity's plan for a fiscal year as a draft version 0 (one plan per entity
    and year)."""
    require_entity_staff(actor, entity)
    fiscal_year = FiscalYear.objects.filter(pk=year).first()
    if fiscal_year is None:
        raise DomainError(
            _("There are no parameters for fiscal year %(year)s.") % {"year": year}, field="year"
        )
    plan, created = ProcurementPlan.objects.get_or_create(entity=entity, fiscal_year=fiscal_year)
    if not created:
        raise DomainError(
            _("%(entity)s already has a plan for %(year)s.")
            % {"entity": entity.acronym, "year": year},
            field="year",
        )
    version = PlanVersion.objects.create(plan=plan, entity=entity, number=0)
    audit.record(actor, "plan.created", plan, {"entity": entity.ruc, "year": year})
    return version


@transaction.atomic
def add_item(actor, version: PlanVersion, data: dict[str, Any]) -> PlanItem:
    require_entity_staff(actor, version)
    version = _locked(version)
    _require_draft(version)
    values = {field: data[field] for field in ITEM_FIELDS}
    return PlanItem.objects.create(
        version=version,
        entity_id=version.entity_id,
        reference=_next_reference(version.plan),
        **values,
    )


@transaction.atomic
def update_item(actor, item: PlanItem, data: dict[str, Any]) -> PlanItem:
    require_entity_staff(actor, item)
    _require_draft(_locked(item.version))
    for field in ITEM_FIELDS:
        setattr(item, field, data[field])
    item.save()
    return item


@transaction.atomic
def delete_item(actor, item: PlanItem) -> None:
    require_entity_staff(actor, item)
    _require_draft(_locked(item.version))
    item.delete()


@transaction.atomic
def import_items(actor, version: PlanVersion, rows: list[dict[str, Any]], *, replace: bool) -> int:
    """Load validated rows into a draft in one go: all of them or, on any failure, none."""
    require_entity_staff(actor, version)
    version = _locked(version)
    _require_draft(version)
    if replace:
        version.items.all().delete()
    first = _next_reference(version.plan)
    PlanItem.objects.bulk_create(
        [
            PlanItem(
                version=version,
                entity_id=version.entity_id,
                reference=first + offset,
                **{field: row[field] for field in ITEM_FIELDS},
            )
            for offset, row in enumerate(rows)
        ],
        batch_size=2000,
    )
    audit.record(actor, "plan.items_imported", version, {"rows": len(rows), "replace": replace})
    return len(rows)


@transaction.atomic
def publish_version(
    actor,
    version: PlanVersion,
    *,
    approval_date: date,
    approval_document: str = "",
    reason: str = "",
    sme_justification: str = "",
) -> PlanVersion:
    """Publish a draft. A modification needs its reason; a version whose planned SME share
    is below the year's minimum (40%, Law 28015 art. 21) needs a recorded justification;
    publication more than 15 working days after approval is flagged late."""
    require_entity_staff(actor, version)
    version = _locked(version)
    _require_draft(version)
    today = timezone.localdate()
    if not version.items.exists():
        raise DomainError(_("A plan needs at least one item to be published."))
    if approval_date > today:
        raise DomainError(_("The approval date cannot be in the future."), field="approval_date")
    earliest, _latest = date_window(version.plan.fiscal_year_id)
    if approval_date < earliest:
        raise DomainError(
            _("A plan for %(year)s is approved from %(earliest)s on.")
            % {
                "year": version.plan.fiscal_year_id,
                "earliest": date_format(earliest, "SHORT_DATE_FORMAT"),
            },
            field="approval_date",
        )
    if version.is_modification and not reason.strip():
        raise DomainError(_("A modification must state its reason."), field="reason")
    previous = version.plan.versions.in_force().first()
    if previous and approval_date < previous.approval_date:
        raise DomainError(
            _("A modification cannot be approved before the version it modifies (%(date)s).")
            % {"date": formatting.day(previous.approval_date)},
            field="approval_date",
        )
    share = version_share(version)
    if share.total_value > MAX_PLAN_TOTAL:
        raise DomainError(
            _("The plan's total is larger than the portal can record: check the item values.")
        )
    if not share.compliant and not sme_justification.strip():
        raise DomainError(
            _(
                "The planned SME share is %(share)s, below the minimum of %(minimum)s: "
                "reserve %(shortfall)s more for SMEs or record a justification."
            )
            % {
                "share": formatting.percent(share.share),
                "minimum": formatting.percent(share.minimum, 0),
                "shortfall": formatting.money(share.shortfall),
            },
            field="sme_justification",
        )
    version.status = PlanVersion.Status.PUBLISHED
    version.approval_date = approval_date
    version.approval_document = approval_document.strip()
    version.reason = reason.strip()
    version.sme_justification = sme_justification.strip() if not share.compliant else ""
    version.published_at = timezone.now()
    version.published_by = actor
    version.published_late = plan_published_late(approval_date, today, calendar())
    record_snapshot(version, share)
    version.save()
    summary = {
        "entity": version.plan.entity.ruc,
        "year": version.plan.fiscal_year_id,
        "version": version.number,
        "items": version.items.count(),
        "total_value": version.total_value,
        "sme_share": version.sme_share,
        "sme_compliant": version.sme_compliant,
        "published_late": version.published_late,
    }
    audit.record(actor, "plan.published", version, summary)
    kind = EventKind.PLAN_MODIFIED if version.is_modification else EventKind.PLAN_PUBLISHED
    events.record(kind, version, entity=version.plan.entity, payload=summary)
    return version


@transaction.atomic
def start_modification(actor, plan: ProcurementPlan) -> PlanVersion:
    """Open the next numbered version as a draft holding a copy of the version in force."""
    require_entity_staff(actor, plan)
    ProcurementPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.versions.filter(status=PlanVersion.Status.DRAFT).exists():
        raise DomainError(_("This plan already has a draft; publish or discard it first."))
    current = plan.versions.in_force().first()
    if current is None:
        raise DomainError(_("Publish the plan before modifying it."))
    draft = PlanVersion.objects.create(
        plan=plan, entity_id=plan.entity_id, number=current.number + 1
    )
    items = list(current.items.all())
    for item in items:
        item.pk = None
        item.version = draft
    PlanItem.objects.bulk_create(items, batch_size=2000)
    audit.record(actor, "plan.modification_started", draft, {"from_version": current.number})
    return draft


@transaction.atomic
def discard_draft(actor, version: PlanVersion) -> None:
    """Drop an unpublished draft (a never-published plan goes with its draft)."""
    require_entity_staff(actor, version)
    version = _locked(version)
    _require_draft(version)
    plan = version.plan
    audit.record(actor, "plan.draft_discarded", version, {"version": version.number})
    version.delete()
    if not plan.versions.exists():
        plan.delete()
