"""A process's stage calendar: set before the call, amended with its reason after it, never
rewriting the past; and where in its calendar a process stands."""

from datetime import date, datetime, time

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit, clock, formatting
from core.codelists import Stage
from core.errors import DomainError
from core.workdays import calendar as working_calendar
from notifications import events
from notifications.models import Audience, EventKind

from ... import sme
from ...calendar_rules import DEADLINE_STAGES, calendar_problems, deadline_text, stages_of
from ...models import (
    Bid,
    CalendarAmendment,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
)
from ...rules import date_window
from ...state_machine import (
    FINAL_STATUSES,
)
from ...stuck import refresh_due_of


@transaction.atomic
def set_calendar(
    actor,
    process: ProcurementProcess,
    dates: dict[str, tuple[date, date]],
    *,
    reason: str = "",
    closing_times: dict[str, time | None] | None = None,
) -> ProcurementProcess:
    """Set the stage dates, and the hour (in Lima) at which each stage that is a deadline
    closes on its last day (DEADLINE_STAGES; the end of the day when not given). A calendar
    that breaks a minimum (holidays counted) is refused. After the call a change is an
    amendment with its reason, and it cannot rewrite the past: the call and every stage
    already over stay as they were, and no changed date falls before today (core.clock; a
    void process may reschedule from the stage it returns to). Either way the audit trail
    records the stages that changed, before and after (saving a draft calendar unchanged
    writes nothing)."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    today = clock.today()
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
    earliest, latest = date_window(process.fiscal_year_id)
    if any(not earliest <= day <= latest for span in dates.values() for day in span):
        raise DomainError(
            _("The calendar's dates must fall from %(earliest)s to %(latest)s.")
            % {"earliest": formatting.day(earliest), "latest": formatting.day(latest)},
            field="calendar",
            code="date_out_of_window",
        )
    problems = calendar_problems(process.procedure_type, dates, working_calendar())
    if problems:
        raise DomainError(" ".join(problems), field="calendar", code="calendar_invalid")
    rows = list(process.stages.all())
    before = {s.stage: (s.start, s.end) for s in rows}
    times = {
        stage: at for stage, at in (closing_times or {}).items() if stage in DEADLINE_STAGES and at
    }
    old_times = {s.stage: s.closing_time for s in rows if s.closing_time}
    retimed = {s for s in DEADLINE_STAGES if old_times.get(s) != times.get(s)}
    order = stages_of(process.procedure_type)
    if amendment:
        _check_amendment(process, order, before, dates, today, retimed)
    moved_deadline = _bid_deadline_move(process, rows, dates, times) if amendment else None
    process.stages.all().delete()
    ProcessStage.objects.bulk_create(
        [
            ProcessStage(
                process=process,
                stage=stage,
                position=position,
                start=dates[stage][0],
                end=dates[stage][1],
                closing_time=times.get(stage),
            )
            for position, stage in enumerate(order, start=1)
        ]
    )
    process.stage_due_on = refresh_due_of(process.pk)  # a stage's end may have moved
    changes = {
        s: {"before": before.get(s), "after": dates[s]}
        for s in order
        if before.get(s) != dates[s] or s in retimed
    }
    for stage in retimed & changes.keys():
        changes[stage]["closing_time"] = {
            "before": old_times.get(stage),
            "after": times.get(stage),
        }
    if not amendment and changes:
        audit.record(actor, "process.calendar_set", process, {"changes": changes})
    if amendment:
        CalendarAmendment.objects.create(
            process=process,
            at=clock.now(),
            reason=reason.strip(),
            actor=actor,
            changes=[
                {
                    "stage": stage,
                    "before": [d.isoformat() for d in change["before"]]
                    if change["before"]
                    else None,
                    "after": [d.isoformat() for d in change["after"]],
                    "closing_time": times[stage].isoformat("minutes") if stage in times else None,
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
        if moved_deadline is not None:
            # Every bidder hears of it (bids in force stay valid and can still be replaced).
            events.record(
                EventKind.PROCESS_BID_DEADLINE_MOVED,
                process,
                entity=process.entity,
                audience=Audience.PARTICIPANTS,
                payload={
                    "identifier": process.identifier,
                    "deadline": moved_deadline.isoformat(),
                },
            )
    sme.refresh_on_commit(entity_id=process.entity_id, years=[process.fiscal_year_id])
    return process


def _bid_deadline_move(process, rows, dates, times) -> datetime | None:
    """Once a bid exists, an amendment may move the bid deadline only later (bidders
    relied on it). Returns the new deadline when it moves later while bids exist."""
    if Stage.BIDS not in dates:
        return None
    old = next((row for row in rows if row.stage == Stage.BIDS), None)
    if old is None or not Bid.objects.filter(process=process).exists():
        return None
    new = ProcessStage(
        stage=Stage.BIDS,
        start=dates[Stage.BIDS][0],
        end=dates[Stage.BIDS][1],
        closing_time=times.get(Stage.BIDS),
    )
    if new.closes_at < old.closes_at:
        raise DomainError(
            _(
                "Bids have already been received: the bid deadline can only move later, not "
                "earlier than %(deadline)s."
            )
            % {"deadline": deadline_text(old)},
            field="calendar",
            code="deadline_earlier_with_bids",
        )
    return new.closes_at if new.closes_at > old.closes_at else None


def _check_amendment(process, order, before, dates, today, retimed=frozenset()) -> None:
    labels = dict(Stage.choices)
    reopen_from = (
        order.index(process.void_return_stage)
        if process.status == ProcessStatus.VOID and process.void_return_stage in order
        else None
    )
    for position, stage in enumerate(order):
        old, new = before.get(stage), dates[stage]
        if old == new and stage not in retimed:
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


def return_stages(process: ProcurementProcess) -> list[str]:
    """The stages a process declared void may return to: the stage under way or an earlier
    one (a nullity undoes what was done, it cannot skip ahead)."""
    today = clock.today()
    order = stages_of(process.procedure_type)
    stages = {s.stage: s for s in process.stages.all()}
    return order[: current_stage_index(order, stages, today) + 1]
