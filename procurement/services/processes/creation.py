"""Creating a selection process: from items of the plan in force or outside the plan, its
procedure type checked against the year's thresholds, numbered and identified."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit
from core.codelists import DirectCause, ObjectType, ProcedureType
from core.errors import DomainError
from core.formatting import money
from core.models import FiscalYear, ProcedureThreshold

from ... import search
from ...models import (
    Award,
    Entity,
    PlanItem,
    PlanVersion,
    ProcessItem,
    ProcessStatus,
    ProcurementProcess,
    process_identifier,
)
from ...queries import plan_items_in_live_processes
from ...rules import procedures_for


def check_procedure_type(
    year: int, object_type: str, value: Decimal, procedure_type: str, direct_cause: str = ""
) -> None:
    """The procedure type must fit the fiscal year's value bands for the object (Ley de
    Contrataciones del Estado and the year's budget law), bounds in UIT computed from that
    year's UIT. Direct contracting (CD) needs a legal cause (art. 27), which the other types
    must not carry."""
    if procedure_type == ProcedureType.CD and direct_cause not in DirectCause.values:
        raise DomainError(
            _("Direct contracting needs its legal cause."),
            field="direct_cause",
            code="direct_cause_required",
        )
    if procedure_type != ProcedureType.CD and direct_cause:
        raise DomainError(
            _("Only direct contracting has a legal cause."),
            field="direct_cause",
            code="direct_cause_not_allowed",
        )
    uit = FiscalYear.objects.get(pk=year).uit
    thresholds = list(ProcedureThreshold.objects.filter(fiscal_year_id=year))
    options = procedures_for(thresholds, object_type, value, uit)
    if procedure_type in options:
        return
    allowed = [p for p in options if p != ProcedureType.CD]
    labels = dict(ProcedureType.choices)
    objects = dict(ObjectType.choices)
    context = {
        "object": objects[object_type].lower(),
        "value": money(value),
        "year": year,
        "chosen": labels[procedure_type],
    }
    if not allowed:
        floors = [t.lower(uit) for t in thresholds if t.object_type == object_type]
        raise DomainError(
            _(
                "For %(object)s worth %(value)s in %(year)s no selection procedure applies: below "
                "%(floor)s the purchase is outside the procurement law, or no procedure covers this "
                "object."
            )
            % {**context, "floor": money(min(floors)) if floors else "—"},
            field="procedure_type",
            code="no_procedure_applies",
        )
    bands = []
    for t in thresholds:
        if t.object_type == object_type and t.procedure_type in allowed:
            ceiling = t.upper(uit)
            upper = (
                _("no upper limit")
                if ceiling is None
                else _("below %(max)s") % {"max": money(ceiling)}
            )
            bands.append(f"{labels[t.procedure_type]} ({_('from')} {money(t.lower(uit))}, {upper})")
    raise DomainError(
        _(
            "%(chosen)s does not apply to %(object)s worth %(value)s in %(year)s. Applicable: %(bands)s."
        )
        % {**context, "bands": "; ".join(bands)},
        field="procedure_type",
        code="procedure_type_out_of_band",
    )


def _plan_items_in_force(entity: Entity, year: int, ids: list[int]) -> list[PlanItem]:
    version = (
        PlanVersion.objects.filter(plan__entity=entity, plan__fiscal_year=year).in_force().first()
    )
    if version is None:
        raise DomainError(
            _("The entity has no published plan for %(year)s.") % {"year": year},
            field="plan_items",
            code="no_plan_in_force",
        )
    items = list(version.items.select_related("catalog_item").filter(pk__in=ids))
    if len(items) != len(set(ids)):
        raise DomainError(
            _("Choose items of the plan in force (version %(number)s).")
            % {"number": version.number},
            field="plan_items",
            code="plan_items_not_in_force",
        )
    return items


@transaction.atomic
def create_process(
    actor,
    entity: Entity,
    *,
    year: int,
    procedure_type: str,
    description: str,
    delivery_place: str,
    delivery_ubigeo,
    plan_item_ids: list[int] | None = None,
    outside_plan_reason: str = "",
    items: list[dict[str, Any]] | None = None,
    direct_cause: str = "",
) -> ProcurementProcess:
    """Create a draft process from items of the plan in force or, with a recorded reason,
    outside the plan. Its procedure type must fit the year's thresholds; a process made of
    SME-reserved plan items is SME-only (Law 28015 art. 21)."""
    require_entity_staff(actor, entity)
    Entity.objects.select_for_update().get(pk=entity.pk)  # serialises numbering per entity
    if not FiscalYear.objects.filter(pk=year).exists():
        raise DomainError(
            _("There are no parameters for fiscal year %(year)s.") % {"year": year},
            field="year",
            code="no_fiscal_year",
        )
    rows: list[dict[str, Any]] = []
    sme_only = False
    if plan_item_ids:
        plan_items = _plan_items_in_force(entity, year, plan_item_ids)
        busy = (
            plan_items_in_live_processes(plan_items[0].version.plan)
            .filter(plan_item__reference__in=[i.reference for i in plan_items])
            .values_list("process__identifier", flat=True)
        )
        if busy:
            raise DomainError(
                _("Some items are already in process %(identifier)s.") % {"identifier": busy[0]},
                field="plan_items",
                code="plan_items_in_process",
            )
        objects = {i.object_type for i in plan_items}
        if len(objects) > 1:
            raise DomainError(
                _("All items of a process must have the same object."),
                field="plan_items",
                code="mixed_objects",
            )
        reserved = {i.sme_reserved for i in plan_items}
        if len(reserved) > 1:
            raise DomainError(
                _(
                    "Do not mix SME-reserved items with open items: reserved items make an SME-only process."
                ),
                field="plan_items",
                code="mixed_sme_reservation",
            )
        sme_only = reserved == {True}
        object_type = objects.pop()
        rows = [
            {
                "plan_item": i,
                "catalog_item": i.catalog_item,
                "description": i.description,
                "quantity": i.quantity,
                "unit": i.unit,
                "estimated_value": i.estimated_value,
            }
            for i in plan_items
        ]
    else:
        if not outside_plan_reason.strip():
            raise DomainError(
                _(
                    "Choose items of the annual plan, or give the reason for contracting outside it."
                ),
                field="outside_plan_reason",
                code="outside_plan_reason_required",
            )
        if not items:
            raise DomainError(
                _("A process needs at least one item."), field="items", code="no_items"
            )
        objects = {row["object_type"] for row in items}
        if len(objects) > 1:
            raise DomainError(
                _("All items of a process must have the same object."),
                field="items",
                code="mixed_objects",
            )
        object_type = objects.pop()
        rows = [{k: v for k, v in row.items() if k != "object_type"} for row in items]
    value = sum((row["estimated_value"] for row in rows), Decimal(0))
    check_procedure_type(year, object_type, value, procedure_type, direct_cause)
    last = ProcurementProcess.objects.filter(
        entity=entity, fiscal_year_id=year, procedure_type=procedure_type
    ).aggregate(last=Max("sequence"))["last"]
    sequence = (last or 0) + 1
    process = ProcurementProcess.objects.create(
        entity=entity,
        fiscal_year_id=year,
        procedure_type=procedure_type,
        sequence=sequence,
        call_number=1,
        identifier=process_identifier(
            procedure_type=procedure_type,
            sequence=sequence,
            year=year,
            entity_acronym=entity.acronym,
            call_number=1,
        ),
        object_type=object_type,
        description=description.strip(),
        delivery_place=delivery_place.strip(),
        delivery_ubigeo=delivery_ubigeo,
        estimated_value=value,
        sme_only=sme_only,
        direct_cause=direct_cause,
        outside_plan_reason=outside_plan_reason.strip() if not plan_item_ids else "",
    )
    ProcessItem.objects.bulk_create(
        [ProcessItem(process=process, entity=entity, **row) for row in rows]
    )
    search.refresh([process.pk])
    audit.record(
        actor,
        "process.created",
        process,
        {
            "identifier": process.identifier,
            "value": value,
            "sme_only": sme_only,
            "from_plan": bool(plan_item_ids),
        },
    )
    return process


def items_to_call_again(process: ProcurementProcess) -> list[ProcessItem]:
    """The items a new call of `process` takes: all of them when the process is deserted;
    when it is called by items, those whose lot is deserted (a live deserted award)."""
    if process.status == ProcessStatus.DESERTED:
        return list(process.items.order_by("id"))
    deserted = Award.objects.live().filter(
        process=process, item__isnull=False, status=Award.Status.DESERTED
    )
    return list(process.items.filter(pk__in=deserted.values("item_id")).order_by("id"))


def call_again_refusal(process: ProcurementProcess, items=None) -> DomainError | None:
    """Why `process` cannot be called again now, or None: it (or one of its items) must be
    deserted, it must be the portal's own (not imported) and not called again already. The
    workspace offers the action only when this finds nothing."""
    if process.source:
        return DomainError(_("An imported process is called again at its source."), code="imported")
    if ProcurementProcess.objects.filter(previous_call=process).exists():
        return DomainError(_("This process was already called again."), code="already_called_again")
    if not (items_to_call_again(process) if items is None else items):
        return DomainError(
            _("Only a deserted process, or one with deserted items, can be called again."),
            code="not_deserted",
        )
    return None


@transaction.atomic
def call_again(actor, process: ProcurementProcess) -> ProcurementProcess:
    """A new call of a deserted process (or of its deserted items): a draft under the same
    number with the next call number (e.g. LP-SM-3-2026-MINSA-2), the same procedure type,
    object, place and SME reservation, and copies of the deserted items (linked to the same
    plan items), linked both ways to the old process, which keeps its page, identifier and history.
    The entity then gives it a calendar, committee and criteria and publishes it as any
    draft."""
    require_entity_staff(actor, process.entity)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    items = items_to_call_again(process)
    refusal = call_again_refusal(process, items)
    if refusal is not None:
        raise refusal
    call_number = process.call_number + 1
    new = ProcurementProcess.objects.create(
        entity=process.entity,
        fiscal_year_id=process.fiscal_year_id,
        procedure_type=process.procedure_type,
        sequence=process.sequence,
        call_number=call_number,
        identifier=process_identifier(
            procedure_type=process.procedure_type,
            sequence=process.sequence,
            year=process.fiscal_year_id,
            entity_acronym=process.entity.acronym,
            call_number=call_number,
        ),
        previous_call=process,
        object_type=process.object_type,
        description=process.description,
        delivery_place=process.delivery_place,
        delivery_ubigeo=process.delivery_ubigeo,
        estimated_value=sum((item.estimated_value for item in items), Decimal(0)),
        sme_only=process.sme_only,
        direct_cause=process.direct_cause,
        outside_plan_reason=process.outside_plan_reason,
    )
    ProcessItem.objects.bulk_create(
        [
            ProcessItem(
                process=new,
                entity=new.entity,
                plan_item=item.plan_item,
                catalog_item=item.catalog_item,
                description=item.description,
                quantity=item.quantity,
                unit=item.unit,
                estimated_value=item.estimated_value,
            )
            for item in items
        ]
    )
    search.refresh([new.pk])
    audit.record(
        actor,
        "process.called_again",
        new,
        {
            "identifier": new.identifier,
            "previous_call": process.identifier,
            "items": [item.pk for item in items],
            "value": new.estimated_value,
        },
    )
    return new
