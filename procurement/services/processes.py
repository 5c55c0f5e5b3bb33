"""Everything that changes a selection process."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit
from core.codelists import DirectCause, ObjectType, ProcedureType, Stage
from core.errors import DomainError
from core.formatting import day, money
from core.models import FiscalYear, ProcedureThreshold
from core.workdays import calendar as working_calendar
from notifications import events
from notifications.models import PROCESS_ACTION_KINDS, EventKind

from .. import document_store
from ..calendar_rules import calendar_problems, stages_of
from ..documents import check_document
from ..models import (
    CalendarAmendment,
    Entity,
    PlanItem,
    PlanVersion,
    ProcessDocument,
    ProcessItem,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
    StatusChange,
    process_identifier,
)
from ..queries import plan_items_in_live_processes
from ..rules import procedures_for
from ..state_machine import (
    FINAL_STATUSES,
    TRANSITIONS,
    Transition,
    allowed_actions,
    is_allowed,
    target_status,
)

STAGE_DOCUMENT_KINDS = frozenset(
    {ProcessDocument.Kind.ANSWERS, ProcessDocument.Kind.INTEGRATED_BASES}
)


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
    context = {"object": objects[object_type].lower(), "value": money(value), "year": year,
               "chosen": labels[procedure_type]}  # fmt: skip
    if not allowed:
        floors = [t.lower(uit) for t in thresholds if t.object_type == object_type]
        raise DomainError(
            _("For %(object)s worth %(value)s in %(year)s no selection procedure applies: below "
              "%(floor)s the purchase is outside the procurement law, or no procedure covers this "
              "object.") % {**context, "floor": money(min(floors)) if floors else "—"},
            field="procedure_type",
            code="no_procedure_applies",
        )  # fmt: skip
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
        PlanVersion.objects.filter(
            plan__entity=entity, plan__fiscal_year=year, status=PlanVersion.Status.PUBLISHED
        )
        .order_by("-number")
        .first()
    )
    if version is None:
        raise DomainError(
            _("The entity has no published plan for %(year)s.") % {"year": year}, field="plan_items"
        )
    items = list(version.items.select_related("catalog_item").filter(pk__in=ids))
    if len(items) != len(set(ids)):
        raise DomainError(
            _("Choose items of the plan in force (version %(number)s).")
            % {"number": version.number},
            field="plan_items",
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
            _("There are no parameters for fiscal year %(year)s.") % {"year": year}, field="year"
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
            )
        objects = {i.object_type for i in plan_items}
        if len(objects) > 1:
            raise DomainError(
                _("All items of a process must have the same object."), field="plan_items"
            )
        reserved = {i.sme_reserved for i in plan_items}
        if len(reserved) > 1:
            raise DomainError(
                _(
                    "Do not mix SME-reserved items with open items: reserved items make an SME-only process."
                ),
                field="plan_items",
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
            )
        if not items:
            raise DomainError(_("A process needs at least one item."), field="items")
        objects = {row["object_type"] for row in items}
        if len(objects) > 1:
            raise DomainError(_("All items of a process must have the same object."), field="items")
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


@transaction.atomic
def set_calendar(
    actor,
    process: ProcurementProcess,
    dates: dict[str, tuple[date, date]],
    *,
    reason: str = "",
    today: date | None = None,
) -> ProcurementProcess:
    """Set the stage dates. A calendar that breaks a minimum (holidays counted) is refused.
    After the call a change is an amendment with its reason, and it cannot rewrite the past:
    the call and every stage already over stay as they were, and no changed date falls
    before today (a void process may reschedule from the stage it returns to)."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    today = today or timezone.localdate()
    if process.status in FINAL_STATUSES:
        raise DomainError(_("The calendar of a finished process cannot change."))
    amendment = process.status != ProcessStatus.DRAFT
    if amendment and not reason.strip():
        raise DomainError(
            _("A calendar amendment after the call must state its reason."), field="reason"
        )
    problems = calendar_problems(process.procedure_type, dates, working_calendar())
    if problems:
        raise DomainError(" ".join(problems), field="calendar")
    before = {s.stage: (s.start, s.end) for s in process.stages.all()}
    order = stages_of(process.procedure_type)
    if amendment:
        _check_amendment(process, order, before, dates, today)
    process.stages.all().delete()
    ProcessStage.objects.bulk_create(
        [
            ProcessStage(
                process=process,
                stage=stage,
                position=position,
                start=dates[stage][0],
                end=dates[stage][1],
            )
            for position, stage in enumerate(order, start=1)
        ]
    )
    if amendment:
        changes = {
            s: {"before": before.get(s), "after": dates[s]}
            for s in order
            if before.get(s) != dates[s]
        }
        CalendarAmendment.objects.create(
            process=process,
            at=timezone.now(),
            reason=reason.strip(),
            actor=actor,
            changes=[
                {
                    "stage": stage,
                    "before": [d.isoformat() for d in change["before"]]
                    if change["before"]
                    else None,
                    "after": [d.isoformat() for d in change["after"]],
                }
                for stage, change in changes.items()
            ],
        )
        audit.record(
            actor, "process.calendar_amended", process, {"reason": reason, "changes": changes}
        )
        events.record(
            EventKind.PROCESS_CALENDAR_AMENDED,
            process,
            entity=process.entity,
            payload={"identifier": process.identifier, "reason": reason, "changes": changes},
        )
    return process


def _check_restart(process, stages, today) -> None:
    """A void process restarts only once its calendar has been rescheduled (an amendment)
    so that the stage it returns to, and all after it, start today or later."""
    order = stages_of(process.procedure_type)
    if process.void_return_stage not in order:
        raise DomainError(
            _("This void process does not say which stage it returns to."), code="no_return_stage"
        )
    returned = order.index(process.void_return_stage)
    for stage in order[returned:]:
        if stage in stages and stages[stage].start < today:
            raise DomainError(
                _(
                    "Reschedule the calendar first: from %(stage)s on, every stage must start today or later."
                )
                % {"stage": str(Stage(process.void_return_stage).label).lower()},
                field="calendar",
                code="reschedule_first",
            )


def _check_amendment(process, order, before, dates, today) -> None:
    labels = dict(Stage.choices)
    reopen_from = (
        order.index(process.void_return_stage)
        if process.status == ProcessStatus.VOID and process.void_return_stage in order
        else None
    )
    for position, stage in enumerate(order):
        old, new = before.get(stage), dates[stage]
        if old == new:
            continue
        reopened = reopen_from is not None and position >= reopen_from
        frozen = (stage == Stage.CALL or (old is not None and old[1] < today)) and not reopened
        if frozen:
            raise DomainError(
                _("%(stage)s has already taken place: its dates cannot change.")
                % {"stage": labels[stage]},
                field="calendar",
            )
        start_moved = old is None or new[0] != old[0]
        if (start_moved and new[0] < today) or new[1] < today:
            raise DomainError(
                _("%(stage)s cannot be moved to a date before today.") % {"stage": labels[stage]},
                field="calendar",
            )


def current_stage_index(order: list[str], stages: dict, today: date) -> int:
    """Position in `order` of the stage under way today: the last one that has started (the
    call when none has)."""
    started = [
        i for i, stage in enumerate(order) if stage in stages and stages[stage].start <= today
    ]
    return started[-1] if started else 0


def return_stages(process: ProcurementProcess, today: date | None = None) -> list[str]:
    """The stages a process declared void may return to: the stage under way or an earlier
    one (a nullity undoes what was done, it cannot skip ahead)."""
    today = today or timezone.localdate()
    order = stages_of(process.procedure_type)
    stages = {s.stage: s for s in process.stages.all()}
    return order[: current_stage_index(order, stages, today) + 1]


def transition_refusal(
    process: ProcurementProcess,
    action: str,
    *,
    today: date | None = None,
    return_stage: str | None = None,
) -> DomainError | None:
    """Why `action` cannot be done on the process now (status, calendar, stage it returns to),
    or None. The one check behind both the service and the buttons a page offers; the reason
    an action may need is asked separately. `return_stage=None` skips the choice itself."""
    today = today or timezone.localdate()
    rule = TRANSITIONS.get(action)
    labels = dict(ProcessStatus.choices)
    if rule is None or not is_allowed(rule, process):
        possible = ", ".join(str(t.label) for t in allowed_actions(process)) or _("none")
        return DomainError(
            _(
                "'%(action)s' is not possible while the process is %(status)s. Possible now: %(possible)s."
            )
            % {
                "action": rule.label if rule else action,
                "status": str(labels[process.status]).lower(),
                "possible": possible,
            },
            code="action_not_allowed",
        )
    stages = {s.stage: s for s in process.stages.all()}
    if rule.not_before and rule.not_before[0] in stages:
        stage, edge = rule.not_before
        moment = stages[stage].start if edge == "start" else stages[stage].end
        if (edge == "start" and today < moment) or (edge == "end" and today <= moment):
            return DomainError(
                _("Not before the calendar allows it: %(stage)s %(edge)s on %(date)s.")
                % {
                    "stage": str(Stage(stage).label).lower(),
                    "edge": _("starts") if edge == "start" else _("ends"),
                    "date": day(moment),
                },
                code="too_early",
            )
    if action == "publish":
        if not process.items.exists():
            return DomainError(_("A process needs at least one item."), code="no_items")
        problems = calendar_problems(
            process.procedure_type,
            {s: (r.start, r.end) for s, r in stages.items()},
            working_calendar(),
        )
        if problems:
            return DomainError(" ".join(problems), field="calendar", code="calendar_invalid")
        if stages[Stage.CALL].start < today:
            return DomainError(
                _("The call cannot start before the day it is published."),
                field="calendar",
                code="call_in_the_past",
            )
    if action == "restart":
        try:
            _check_restart(process, stages, today)
        except DomainError as error:
            return error
    if action == "annul":
        allowed = return_stages(process, today)
        if return_stage is not None and return_stage not in allowed:
            return DomainError(
                _("Say which stage the process returns to: the stage under way or an earlier one."),
                field="return_stage",
                code="return_stage_invalid",
            )
    return None


@dataclass(frozen=True)
class OfferedAction:
    transition: Transition
    refusal: DomainError | None  # why the button is disabled, or None


def offered_actions(process: ProcurementProcess, today: date | None = None) -> list[OfferedAction]:
    """The status changes a staff page shows for the process, each with the reason the service
    would refuse it now (asked of transition_refusal, the function the service uses)."""
    today = today or timezone.localdate()
    return [
        OfferedAction(t, transition_refusal(process, t.action, today=today))
        for t in allowed_actions(process)
    ]


@transaction.atomic
def transition(
    actor,
    process: ProcurementProcess,
    action: str,
    *,
    reason: str = "",
    return_stage: str = "",
    today: date | None = None,
) -> ProcurementProcess:
    """Move a process along the state machine (procurement.state_machine.TRANSITIONS): the
    actor must be staff of the entity, the action allowed from the current status and not
    before its calendar date (transition_refusal); cancelling needs a reason and is possible
    only before the award; declaring void records the stage the process returns to, the one
    under way or an earlier one."""
    require_entity_staff(actor, process)
    process = (
        ProcurementProcess.objects.select_for_update().select_related("entity").get(pk=process.pk)
    )
    today = today or timezone.localdate()
    rule = TRANSITIONS.get(action)
    if rule is None or not is_allowed(rule, process):
        raise transition_refusal(process, action, today=today)
    if rule.needs_reason and not reason.strip():
        raise DomainError(_("This action needs a reason."), field="reason", code="reason_required")
    refusal = transition_refusal(
        process, action, today=today, return_stage=return_stage if action == "annul" else None
    )
    if refusal is not None:
        raise refusal
    if action == "annul":
        process.void_return_stage = return_stage
    previous = process.status
    process.status = target_status(rule, process)
    process.suspended_from = previous if action == "suspend" else ""
    if action == "publish":
        process.published_at = timezone.now()
    if action == "restart":
        order = stages_of(process.procedure_type)
        returned = order.index(process.void_return_stage)
        # What happened from the return stage on is undone: it will happen again.
        if Stage.QUESTIONS in order[returned:] or Stage.ANSWERS in order[returned:]:
            process.answers_published_at = None
        if Stage.INTEGRATION in order[returned:]:
            process.integrated_bases_published_at = None
        process.void_return_stage = ""
    process.save()
    change = StatusChange.objects.create(
        process=process,
        action=action,
        from_status=previous,
        to_status=process.status,
        reason=reason.strip(),
        return_stage=return_stage if action == "annul" else "",
        actor=actor,
        at=timezone.now(),
    )
    payload = {"identifier": process.identifier, "action": action, "from": previous, "to": process.status,
               "reason": change.reason, "return_stage": change.return_stage}  # fmt: skip
    audit.record(actor, f"process.{action}", process, payload)
    events.record(PROCESS_ACTION_KINDS[action], process, entity=process.entity, payload=payload)
    return process


@transaction.atomic
def publish_document(
    actor,
    process: ProcurementProcess,
    *,
    kind: str,
    title: str,
    upload,
    replaces=None,
    reason: str = "",
    announce: bool = True,
    checked_by_stage_service: bool = False,
) -> ProcessDocument:
    """Publish a document of the process, checked by content (PDF, DOCX, XLSX, ZIP) and
    hashed with SHA-256. It never changes afterwards: a correction is a new document that
    replaces the old one, with its reason, and is announced as an amendment."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    if process.status in FINAL_STATUSES:
        raise DomainError(_("A finished process takes no new documents."), code="process_finished")
    if kind not in ProcessDocument.Kind.values:
        raise DomainError(_("Choose the kind of document."), field="kind", code="document_kind")
    if replaces is not None:
        kind = replaces.kind  # an amendment is the same kind of document as what it replaces
    if kind in STAGE_DOCUMENT_KINDS and not checked_by_stage_service and replaces is None:
        # Answers and integrated bases have their own rules (procurement.services.participation).
        raise DomainError(
            _("Publish the answers and the integrated bases with their own actions."),
            field="kind",
            code="stage_document_has_own_action",
        )
    if not title.strip():
        raise DomainError(_("The document needs a title."), field="title", code="title_required")
    if replaces is not None:
        if replaces.process_id != process.pk:
            raise DomainError(
                _("A document can only replace another of the same process."),
                field="replaces",
                code="replaces_other_process",
            )
        if ProcessDocument.objects.filter(replaces=replaces).exists():
            raise DomainError(
                _("That document has already been replaced."),
                field="replaces",
                code="already_replaced",
            )
        if not reason.strip():
            raise DomainError(
                _("An amendment must state its reason."), field="reason", code="reason_required"
            )
    checked = check_document(upload)
    document = ProcessDocument(
        process=process,
        entity_id=process.entity_id,
        kind=kind,
        title=title.strip(),
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        replaces=replaces,
        amendment_reason=reason.strip() if replaces else "",
        published_at=timezone.now(),
        published_by=actor,
    )
    # Written under its hash only now that every check passed; should this transaction
    # roll back, the file is an unreferenced orphan that document_store.prune_orphans removes.
    document.file.name = document_store.store(
        upload, sha256=checked.sha256, extension=checked.extension
    )
    document.save()
    payload = {"identifier": process.identifier, "title": document.title, "kind": kind, "sha256": checked.sha256,
               "replaces": replaces.pk if replaces else None}  # fmt: skip
    audit.record(actor, "process.document_published", document, payload)
    if announce and (replaces is not None or process.status != ProcessStatus.DRAFT):
        events.record(
            EventKind.PROCESS_DOCUMENT_PUBLISHED,
            document,
            entity=process.entity,
            payload={**payload, "reason": reason},
        )
    return document
