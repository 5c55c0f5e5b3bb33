"""Status changes of a selection process: one service per action of the state machine
(procurement.state_machine.TRANSITIONS), the refusal function the services and the pages
share, and the one writer of a status change (history, audit entry, event)."""

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit, clock
from core.codelists import Stage
from core.errors import DomainError
from core.formatting import day
from core.workdays import calendar as working_calendar
from notifications import events
from notifications.models import PROCESS_ACTION_KINDS

from ... import red_flags, sme
from ...calendar_rules import calendar_problems, deadline_text, stages_of
from ...models import (
    ProcessStatus,
    ProcurementProcess,
    StatusChange,
)
from ...state_machine import (
    TRANSITIONS,
    Transition,
    allowed_actions,
    is_allowed,
    target_status,
)
from ..committee import committee_refusal
from ..criteria import criteria_refusal
from .calendar import return_stages


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
    return committee_refusal(process) or criteria_refusal(process)


def _restart_refusal(process, stages, today, return_stage) -> DomainError | None:
    try:
        _check_restart(process, stages, today)
    except DomainError as error:
        return error
    return None


def _annul_refusal(process, stages, today, return_stage) -> DomainError | None:
    from ...models import Contract

    if return_stage is not None and return_stage not in return_stages(process):
        return DomainError(
            _("Say which stage the process returns to: the stage under way or an earlier one."),
            field="return_stage",
            code="return_stage_invalid",
        )
    # A lot's contract declared void does not void the process while another lot's contract
    # stands: each contract is declared void on its own first.
    if Contract.objects.standing().filter(process=process).exists():
        return DomainError(
            _(
                "The process has a contract that is not void: declare it void first "
                "(from the contract's page)."
            ),
            code="contract_in_force",
        )
    return None


def every_lot_contracted(process) -> bool:
    """The rule of "contratado": the process has granted lots and each has its contract, one
    not declared void (the import reads a process's status by it too)."""
    from ...models import Award

    granted = Award.objects.live().filter(
        process=process, status__in=[Award.Status.AWARDED, Award.Status.CONSENTED]
    )
    return granted.exists() and not granted.without_standing_contract().exists()


def _contract_refusal(process, stages, today, return_stage) -> DomainError | None:
    """A process is contracted only when every granted lot has its contract
    (every_lot_contracted): a contracted process whose contract is missing is impossible."""
    if not every_lot_contracted(process):
        return DomainError(
            _("The process is contracted once every awarded lot has its contract."),
            code="contract_missing",
        )
    return None


def _resume_refusal(process, stages, today, return_stage) -> DomainError | None:
    """A process suspended by appeals resumes when the last of them is decided
    (procurement.services.appeals), not by a button while one is open."""
    from ...models.appeals import OPEN_APPEAL_STATUSES

    if process.appeals.filter(status__in=OPEN_APPEAL_STATUSES).exists():
        return DomainError(
            _("An appeal of this process is still open: it resumes once it is decided."),
            code="appeal_open",
        )
    return None


# What an action needs besides its source status and calendar edge (state_machine).
_ACTION_CONDITIONS = {
    "publish": _publish_refusal,
    "restart": _restart_refusal,
    "annul": _annul_refusal,
    "contract": _contract_refusal,
    "resume": _resume_refusal,
}


def transition_refusal(
    process: ProcurementProcess,
    action: str,
    *,
    return_stage: str | None = None,
) -> DomainError | None:
    """Why `action` cannot be done on the process now (status, calendar, the action's own
    conditions), or None. The one check behind both each action's service and the buttons a
    page offers; the reason an action may need is asked separately. `return_stage=None`
    skips the choice itself. Judged by core.clock at this moment: a calendar edge that is a
    deadline passes at its instant, not at the end of its day."""
    now = clock.now()
    today = timezone.localdate(now)
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
        row = stages[stage]
        if (edge == "start" and not row.has_begun(now)) or (
            edge == "end" and not row.has_closed(now)
        ):
            return DomainError(
                _("Not before the calendar allows it: %(stage)s %(edge)s on %(date)s.")
                % {
                    "stage": str(Stage(stage).label).lower(),
                    "edge": _("starts") if edge == "start" else _("ends"),
                    "date": day(row.start) if edge == "start" else deadline_text(row),
                },
                code="too_early",
            )
    condition = _ACTION_CONDITIONS.get(action)
    return condition(process, stages, today, return_stage) if condition else None


@dataclass(frozen=True)
class OfferedAction:
    transition: Transition
    refusal: DomainError | None  # why the button is disabled, or None


def offered_actions(process: ProcurementProcess) -> list[OfferedAction]:
    """The status changes a staff page shows for the process (only the manual ones of the
    state machine), each with the reason the service would refuse it now (asked of
    transition_refusal, the function the services use)."""
    return [
        OfferedAction(t, transition_refusal(process, t.action)) for t in allowed_actions(process)
    ]


def _locked_for(
    action: str,
    *,
    actor,
    process: ProcurementProcess,
    reason: str = "",
    return_stage: str | None = None,
) -> ProcurementProcess:
    """The process, locked, once the actor (staff of its entity), its status, the calendar
    and the action's own conditions allow `action`, and the reason it needs is given."""
    require_entity_staff(actor, process)
    process = (
        ProcurementProcess.objects.select_for_update().select_related("entity").get(pk=process.pk)
    )
    refusal = transition_refusal(process, action, return_stage=return_stage)
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
    appeal: int | None = None,
    **fields: Any,
) -> ProcurementProcess:
    """The one writer of a status change, for every action's service: moves the process
    (locked and checked by the caller) where TRANSITIONS says, sets `fields`, and records the
    StatusChange of its public history, the audit entry and the event of the action's kind.
    `appeal` names the appeal whose filing or resolution made the change (its own event
    tells the news: procurement.subscriptions.process_notices)."""
    if not connection.in_atomic_block:
        raise RuntimeError("record_status_change must run inside the transaction of the change")
    if action == "contract" and (missing := _contract_refusal(process, {}, None, None)):
        raise missing  # guarded here too: no caller contracts a process without its contracts
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
        at=clock.now(),
    )
    payload = {
        "identifier": process.identifier,
        "action": action,
        "from": previous,
        "to": process.status,
        "reason": change.reason,
        "return_stage": change.return_stage,
    }
    if appeal is not None:
        payload["appeal"] = appeal
    audit.record(actor, f"process.{action}", process, payload)
    events.record(PROCESS_ACTION_KINDS[action], process, entity=process.entity, payload=payload)
    red_flags.refresh_process(process)
    sme.refresh_process_on_commit(process)
    return process


@transaction.atomic
def publish_call(*, actor, process: ProcurementProcess) -> ProcurementProcess:
    """Publish the call (convocatoria) of a draft: it needs items and a calendar that has
    every stage of its procedure type and meets every legal minimum, holidays counted, with
    the call starting no earlier than the day of publication, a designated committee, and
    evaluation criteria that meet the rule of its procedure type (services.criteria)."""
    process = _locked_for("publish", actor=actor, process=process)
    return record_status_change(
        actor=actor, process=process, action="publish", published_at=clock.now()
    )


@transaction.atomic
def suspend_for_appeal(*, actor, process: ProcurementProcess, reason: str) -> ProcurementProcess:
    """An appeal (recurso de apelación, Ley 30225 art. 41) suspends a called or awarded
    process until it is resolved; the process remembers where it stood, to go back there."""
    process = _locked_for("suspend", actor=actor, process=process, reason=reason)
    return suspend_locked(actor=actor, process=process, reason=reason)


def suspend_locked(
    *, actor, process: ProcurementProcess, reason: str, appeal: int | None = None
) -> ProcurementProcess:
    """Suspend the process (locked by the caller) for an appeal, remembering where it stood:
    for suspend_for_appeal (staff) and for the filing of an appeal by a bidder
    (procurement.services.appeals), whose actor is the appellant."""
    refusal = transition_refusal(process, "suspend")
    if refusal is not None:
        raise refusal
    return record_status_change(
        actor=actor,
        process=process,
        action="suspend",
        reason=reason,
        appeal=appeal,
        suspended_from=process.status,
    )


@transaction.atomic
def resume(*, actor, process: ProcurementProcess, reason: str) -> ProcurementProcess:
    """Once the appeal is resolved (the resolution is the reason), a suspended process goes
    back to the status it was suspended from."""
    process = _locked_for("resume", actor=actor, process=process, reason=reason)
    return record_status_change(actor=actor, process=process, action="resume", reason=reason)


@transaction.atomic
def cancel(*, actor, process: ProcurementProcess, reason: str) -> ProcurementProcess:
    """The entity cancels a called process, with its reason (force majeure, the need is gone,
    a budget cut: Ley 30225 art. 30), only before the award, also while an appeal against
    an act before the award suspends it. A draft is not cancelled: it is not published."""
    process = _locked_for("cancel", actor=actor, process=process, reason=reason)
    return record_status_change(actor=actor, process=process, action="cancel", reason=reason)


@transaction.atomic
def annul(
    *,
    actor,
    process: ProcurementProcess,
    reason: str,
    return_stage: str,
) -> ProcurementProcess:
    """Declare the process void (nulidad, Ley 30225 art. 44), with its reason and the stage
    it returns to: the stage under way or an earlier one, since a nullity undoes what was
    done from there and cannot skip ahead."""
    process = _locked_for(
        "annul",
        actor=actor,
        process=process,
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
def restart(*, actor, process: ProcurementProcess) -> ProcurementProcess:
    """A void process is called again from the stage it returns to (Ley 30225 art. 44), once
    its calendar has been rescheduled so that stage and every later one start today or
    later. What happened from that stage on is undone, to happen again: the answers to
    questions and the integrated bases reopen when their stages are repeated."""
    process = _locked_for("restart", actor=actor, process=process)
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
