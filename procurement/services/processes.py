"""Everything that changes a selection process."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
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
        raise DomainError(
            _("The calendar of a finished process cannot change."), code="process_finished"
        )
    amendment = process.status != ProcessStatus.DRAFT
    if amendment and not reason.strip():
        raise DomainError(
            _("A calendar amendment after the call must state its reason."),
            field="reason",
            code="reason_required",
        )
    problems = calendar_problems(process.procedure_type, dates, working_calendar())
    if problems:
        raise DomainError(" ".join(problems), field="calendar", code="calendar_invalid")
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
                code="stage_already_held",
            )
        start_moved = old is None or new[0] != old[0]
        if (start_moved and new[0] < today) or new[1] < today:
            raise DomainError(
                _("%(stage)s cannot be moved to a date before today.") % {"stage": labels[stage]},
                field="calendar",
                code="date_in_the_past",
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


def _publish_refusal(process, stages, today, return_stage) -> DomainError | None:
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
    return None


def _restart_refusal(process, stages, today, return_stage) -> DomainError | None:
    try:
        _check_restart(process, stages, today)
    except DomainError as error:
        return error
    return None


def _annul_refusal(process, stages, today, return_stage) -> DomainError | None:
    if return_stage is not None and return_stage not in return_stages(process, today):
        return DomainError(
            _("Say which stage the process returns to: the stage under way or an earlier one."),
            field="return_stage",
            code="return_stage_invalid",
        )
    return None


# What an action needs besides its source status and calendar edge (state_machine).
_ACTION_CONDITIONS = {
    "publish": _publish_refusal,
    "restart": _restart_refusal,
    "annul": _annul_refusal,
}


def transition_refusal(
    process: ProcurementProcess,
    action: str,
    *,
    today: date | None = None,
    return_stage: str | None = None,
) -> DomainError | None:
    """Why `action` cannot be done on the process now (status, calendar, the action's own
    conditions), or None. The one check behind both each action's service and the buttons a
    page offers; the reason an action may need is asked separately. `return_stage=None`
    skips the choice itself."""
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
    condition = _ACTION_CONDITIONS.get(action)
    return condition(process, stages, today, return_stage) if condition else None


@dataclass(frozen=True)
class OfferedAction:
    transition: Transition
    refusal: DomainError | None  # why the button is disabled, or None


def offered_actions(process: ProcurementProcess, today: date | None = None) -> list[OfferedAction]:
    """The status changes a staff page shows for the process (only the manual ones of the
    state machine), each with the reason the service would refuse it now (asked of
    transition_refusal, the function the services use)."""
    today = today or timezone.localdate()
    return [
        OfferedAction(t, transition_refusal(process, t.action, today=today))
        for t in allowed_actions(process)
    ]


def _locked_for(
    action: str,
    *,
    actor,
    process: ProcurementProcess,
    today: date,
    reason: str = "",
    return_stage: str | None = None,
) -> ProcurementProcess:
    """The process, locked, once the actor (staff of its entity), its status, the calendar
    and the action's own conditions allow `action`, and the reason it needs is given."""
    require_entity_staff(actor, process)
    process = (
        ProcurementProcess.objects.select_for_update().select_related("entity").get(pk=process.pk)
    )
    refusal = transition_refusal(process, action, today=today, return_stage=return_stage)
    if refusal is not None:
        raise refusal
    if TRANSITIONS[action].needs_reason and not reason.strip():
        raise DomainError(_("This action needs a reason."), field="reason", code="reason_required")
    return process


def record_status_change(
    *,
    actor,
    process: ProcurementProcess,
    action: str,
    reason: str = "",
    return_stage: str = "",
    **fields: Any,
) -> ProcurementProcess:
    """The one writer of a status change, for every action's service: moves the process
    (locked and checked by the caller) where TRANSITIONS says, sets `fields`, and records the
    StatusChange of its public history, the audit entry and the event of the action's kind."""
    if not connection.in_atomic_block:
        raise RuntimeError("record_status_change must run inside the transaction of the change")
    previous = process.status
    process.status = target_status(TRANSITIONS[action], process)
    process.suspended_from = ""
    for name, value in fields.items():
        setattr(process, name, value)
    process.save()
    change = StatusChange.objects.create(
        process=process,
        action=action,
        from_status=previous,
        to_status=process.status,
        reason=reason.strip(),
        return_stage=return_stage,
        actor=actor,
        at=timezone.now(),
    )
    payload = {
        "identifier": process.identifier,
        "action": action,
        "from": previous,
        "to": process.status,
        "reason": change.reason,
        "return_stage": change.return_stage,
    }
    audit.record(actor, f"process.{action}", process, payload)
    events.record(PROCESS_ACTION_KINDS[action], process, entity=process.entity, payload=payload)
    return process


@transaction.atomic
def publish_call(
    *, actor, process: ProcurementProcess, today: date | None = None
) -> ProcurementProcess:
    """Publish the call (convocatoria) of a draft: it needs items and a calendar that has
    every stage of its procedure type and meets every legal minimum, holidays counted, with
    the call starting no earlier than the day of publication."""
    today = today or timezone.localdate()
    process = _locked_for("publish", actor=actor, process=process, today=today)
    return record_status_change(
        actor=actor, process=process, action="publish", published_at=timezone.now()
    )


@transaction.atomic
def suspend_for_appeal(
    *, actor, process: ProcurementProcess, reason: str, today: date | None = None
) -> ProcurementProcess:
    """An appeal (recurso de apelación, Ley 30225 art. 41) suspends a called or awarded
    process until it is resolved; the process remembers where it stood, to go back there."""
    today = today or timezone.localdate()
    process = _locked_for("suspend", actor=actor, process=process, today=today, reason=reason)
    return record_status_change(
        actor=actor,
        process=process,
        action="suspend",
        reason=reason,
        suspended_from=process.status,
    )


@transaction.atomic
def resume(
    *, actor, process: ProcurementProcess, reason: str, today: date | None = None
) -> ProcurementProcess:
    """Once the appeal is resolved (the resolution is the reason), a suspended process goes
    back to the status it was suspended from."""
    today = today or timezone.localdate()
    process = _locked_for("resume", actor=actor, process=process, today=today, reason=reason)
    return record_status_change(actor=actor, process=process, action="resume", reason=reason)


@transaction.atomic
def cancel(
    *, actor, process: ProcurementProcess, reason: str, today: date | None = None
) -> ProcurementProcess:
    """The entity cancels a called process, with its reason (force majeure, the need is gone,
    a budget cut: Ley 30225 art. 30), only before the award, also while an appeal against
    an act before the award suspends it. A draft is not cancelled: it is not published."""
    today = today or timezone.localdate()
    process = _locked_for("cancel", actor=actor, process=process, today=today, reason=reason)
    return record_status_change(actor=actor, process=process, action="cancel", reason=reason)


@transaction.atomic
def annul(
    *,
    actor,
    process: ProcurementProcess,
    reason: str,
    return_stage: str,
    today: date | None = None,
) -> ProcurementProcess:
    """Declare the process void (nulidad, Ley 30225 art. 44), with its reason and the stage
    it returns to: the stage under way or an earlier one, since a nullity undoes what was
    done from there and cannot skip ahead."""
    today = today or timezone.localdate()
    process = _locked_for(
        "annul",
        actor=actor,
        process=process,
        today=today,
        reason=reason,
        return_stage=return_stage or "",
    )
    return record_status_change(
        actor=actor,
        process=process,
        action="annul",
        reason=reason,
        return_stage=return_stage,
        void_return_stage=return_stage,
    )


@transaction.atomic
def restart(*, actor, process: ProcurementProcess, today: date | None = None) -> ProcurementProcess:
    """A void process is called again from the stage it returns to (Ley 30225 art. 44), once
    its calendar has been rescheduled so that stage and every later one start today or
    later. What happened from that stage on is undone, to happen again: the answers to
    questions and the integrated bases reopen when their stages are repeated."""
    today = today or timezone.localdate()
    process = _locked_for("restart", actor=actor, process=process, today=today)
    order = stages_of(process.procedure_type)
    repeated = order[order.index(process.void_return_stage) :]
    reopened = {}
    if Stage.QUESTIONS in repeated or Stage.ANSWERS in repeated:
        reopened["answers_published_at"] = None
    if Stage.INTEGRATION in repeated:
        reopened["integrated_bases_published_at"] = None
    return record_status_change(
        actor=actor, process=process, action="restart", void_return_stage="", **reopened
    )


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
