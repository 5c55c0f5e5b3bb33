"""Everything that changes an annual procurement plan (PAC)."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit, clock, formatting
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
        raise DomainError(
            _("A published version cannot change; start a modification instead."),
            code="version_published",
        )


def _audit_value(field: str, value: Any) -> Any:
    """An item field as the audit trail stores it: the catalog item by its code."""
    if field == "catalog_item":
        return getattr(value, "pk", value)
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))  # as the column stores it: 100 -> 100.00
    return value


def _item_record(item: PlanItem) -> dict[str, Any]:
    """What an audit entry says about one item: its number and every field's value."""
    return {"item": item.reference} | {
        field: _audit_value(field, getattr(item, field)) for field in ITEM_FIELDS
    }


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
            _("There are no parameters for fiscal year %(year)s.") % {"year": year},
            field="year",
            code="no_fiscal_year",
        )
    plan, created = ProcurementPlan.objects.get_or_create(entity=entity, fiscal_year=fiscal_year)
    if not created:
        raise DomainError(
            _("%(entity)s already has a plan for %(year)s.")
            % {"entity": entity.acronym, "year": year},
            field="year",
            code="plan_exists",
        )
    version = PlanVersion.objects.create(plan=plan, entity=entity, number=0)
    audit.record(
        actor,
        "plan.created",
        plan,
        {"entity": entity.ruc, "year": year, "draft": version.pk, "version": version.number},
    )
    return version


@transaction.atomic
def add_item(actor, version: PlanVersion, data: dict[str, Any]) -> PlanItem:
    """Add an item to a draft version (a published version never changes); audited on the
    version with every value of the new item."""
    require_entity_staff(actor, version)
    version = _locked(version)
    _require_draft(version)
    values = {field: data[field] for field in ITEM_FIELDS}
    item = PlanItem.objects.create(
        version=version,
        entity_id=version.entity_id,
        reference=_next_reference(version.plan),
        **values,
    )
    audit.record(actor, "plan.item_added", version, _item_record(item))
    return item


@transaction.atomic
def update_item(actor, item: PlanItem, data: dict[str, Any]) -> PlanItem:
    """Change an item of a draft version; audited on the version with the before and after
    values of the fields that changed (saving an unchanged item writes nothing)."""
    require_entity_staff(actor, item)
    version = _locked(item.version)
    _require_draft(version)
    stored = PlanItem.objects.select_for_update().get(pk=item.pk)
    changes = {}
    for field in ITEM_FIELDS:
        before = _audit_value(field, getattr(stored, field))
        after = _audit_value(field, data[field])
        if before != after:
            changes[field] = {"before": before, "after": after}
        setattr(item, field, data[field])
    if changes:
        item.save()
        audit.record(
            actor, "plan.item_changed", version, {"item": item.reference, "changes": changes}
        )
    return item


@transaction.atomic
def delete_item(actor, item: PlanItem) -> None:
    """Delete an item of a draft version; audited on the version with what was deleted."""
    require_entity_staff(actor, item)
    version = _locked(item.version)
    _require_draft(version)
    stored = PlanItem.objects.select_for_update().get(pk=item.pk)
    audit.record(actor, "plan.item_deleted", version, _item_record(stored))
    stored.delete()


@transaction.atomic
def import_items(
    actor,
    version: PlanVersion,
    rows: list[dict[str, Any]],
    *,
    replace: bool,
    file_sha256: str,
) -> int:
    """Load validated rows into a draft in one go: all of them or, on any failure, none.
    One audit entry sums up the load: rows, their total value, the items it replaced and the
    SHA-256 of the file they came from."""
    require_entity_staff(actor, version)
    version = _locked(version)
    _require_draft(version)
    replaced = version.items.all().delete()[0] if replace else 0
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
    audit.record(
        actor,
        "plan.items_imported",
        version,
        {
            "rows": len(rows),
            "total_value": sum((row["estimated_value"] for row in rows), Decimal(0)),
            "file_sha256": file_sha256,
            "replace": replace,
            "replaced_items": replaced,
        },
    )
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
    today = clock.today()
    if not version.items.exists():
        raise DomainError(_("A plan needs at least one item to be published."), code="no_items")
    if approval_date > today:
        raise DomainError(
            _("The approval date cannot be in the future."),
            field="approval_date",
            code="approval_in_future",
        )
    earliest, _latest = date_window(version.plan.fiscal_year_id)
    if approval_date < earliest:
        raise DomainError(
            _("A plan for %(year)s is approved from %(earliest)s on.")
            % {
                "year": version.plan.fiscal_year_id,
                "earliest": date_format(earliest, "SHORT_DATE_FORMAT"),
            },
            field="approval_date",
            code="approval_out_of_window",
        )
    if version.is_modification and not reason.strip():
        raise DomainError(
            _("A modification must state its reason."), field="reason", code="reason_required"
        )
    previous = version.plan.versions.in_force().first()
    if previous and approval_date < previous.approval_date:
        raise DomainError(
            _("A modification cannot be approved before the version it modifies (%(date)s).")
            % {"date": formatting.day(previous.approval_date)},
            field="approval_date",
            code="approval_before_previous",
        )
    share = version_share(version)
    if share.total_value > MAX_PLAN_TOTAL:
        raise DomainError(
            _("The plan's total is larger than the portal can record: check the item values."),
            code="total_too_large",
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
            code="sme_share_below_minimum",
        )
    version.status = PlanVersion.Status.PUBLISHED
    version.approval_date = approval_date
    version.approval_document = approval_document.strip()
    version.reason = reason.strip()
    version.sme_justification = sme_justification.strip() if not share.compliant else ""
    version.published_at = clock.now()
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
        raise DomainError(
            _("This plan already has a draft; publish or discard it first."), code="draft_exists"
        )
    current = plan.versions.in_force().first()
    if current is None:
        raise DomainError(_("Publish the plan before modifying it."), code="plan_not_published")
    draft = PlanVersion.objects.create(
        plan=plan, entity_id=plan.entity_id, number=current.number + 1
    )
    items = list(current.items.all())
    for item in items:
        item.pk = None
        item.version = draft
    PlanItem.objects.bulk_create(items, batch_size=2000)
    audit.record(
        actor,
        "plan.modification_started",
        draft,
        {"version": draft.number, "from_version": current.number, "items_copied": len(items)},
    )
    return draft


@transaction.atomic
def discard_draft(actor, version: PlanVersion) -> None:
    """Drop an unpublished draft (a never-published plan goes with its draft)."""
    require_entity_staff(actor, version)
    version = _locked(version)
    _require_draft(version)
    plan = version.plan
    items = version.items.aggregate(count=Count("pk"), total=Sum("estimated_value"))
    audit.record(
        actor,
        "plan.draft_discarded",
        version,
        {
            "version": version.number,
            "items": items["count"],
            "total_value": items["total"] or Decimal(0),
            "plan_deleted": not plan.versions.exclude(pk=version.pk).exists(),
        },
    )
    version.delete()
    if not plan.versions.exists():
        plan.delete()
