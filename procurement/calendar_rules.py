"""Stage calendars: which stages a procedure type has and the minimum durations between
them, read from the reference data (core.ProcedureStage, core.StageMinimum)."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.codelists import Stage
from core.models import ProcedureStage, StageMinimum
from core.workdays import WorkingCalendar

# Stages whose end is a deadline for suppliers (registering, asking, bidding, appealing the
# award during the standstill): each closes at an instant, a date and hour in Lima.
DEADLINE_STAGES = frozenset({Stage.REGISTRATION, Stage.QUESTIONS, Stage.BIDS, Stage.STANDSTILL})


@dataclass(frozen=True)
class StageDates:
    stage: str
    start: date
    end: date


def deadline_text(row) -> str:
    """When a stage closes, for messages: its date, and its hour when it has one."""
    if row.closing_time is None:
        return date_format(row.end, "SHORT_DATE_FORMAT")
    return date_format(timezone.localtime(row.closes_at), "SHORT_DATETIME_FORMAT")


def bid_deadline_passed(process, now) -> bool:
    """Whether the bid deadline of `process` has passed at `now` (False without a bids
    stage): the rule behind "no more bids", "the criteria are fixed" and "may be opened"."""
    stage = process.stages.filter(stage=Stage.BIDS).first()
    return stage is not None and stage.has_closed(now)


def stages_of(procedure_type: str) -> list[str]:
    return list(
        ProcedureStage.objects.filter(procedure_type=procedure_type)
        .order_by("position")
        .values_list("stage", flat=True)
    )


def calendar_problems(
    procedure_type: str, dates: dict[str, tuple[date, date]], calendar: WorkingCalendar
) -> list[str]:
    """Everything wrong with a calendar, as sentences a person can act on (empty when valid):
    every stage present, in order, on working days, and every legal minimum met with
    holidays counted."""
    problems: list[str] = []
    expected = stages_of(procedure_type)
    labels = dict(Stage.choices)
    missing = [labels[s] for s in expected if s not in dates]
    if missing:
        return [
            _("Dates are missing for: %(stages)s.") % {"stages": ", ".join(str(m) for m in missing)}
        ]
    previous = None
    for stage in expected:
        start, end = dates[stage]
        if end < start:
            problems.append(_("%(stage)s ends before it starts.") % {"stage": labels[stage]})
        for day in (start, end):
            if not calendar.is_working_day(day):
                problems.append(
                    _("%(stage)s: %(date)s is not a working day.")
                    % {"stage": labels[stage], "date": date_format(day, "SHORT_DATE_FORMAT")}
                )
        if previous and start < dates[previous][0]:
            problems.append(
                _("%(stage)s cannot start before %(previous)s.")
                % {"stage": labels[stage], "previous": labels[previous]}
            )
        previous = stage
    for rule, days, origin, moment in unmet_minimums(
        StageMinimum.objects.filter(procedure_type=procedure_type), dates, calendar
    ):
        problems.append(
            ngettext(
                "%(rule)s: there is %(days)s working day from %(origin)s to %(moment)s, "
                "the minimum is %(minimum)s (holidays counted).",
                "%(rule)s: there are %(days)s working days from %(origin)s to %(moment)s, "
                "the minimum is %(minimum)s (holidays counted).",
                days,
            )
            % {
                "rule": rule.note or labels[rule.stage],
                "days": days,
                "origin": date_format(origin, "SHORT_DATE_FORMAT"),
                "moment": date_format(moment, "SHORT_DATE_FORMAT"),
                "minimum": rule.working_days,
            }
        )
    return problems


_EDGE = {"start": 0, "end": 1}


def unmet_minimums(rules, dates: dict[str, tuple[date, date]], calendar: WorkingCalendar):
    """The legal minimums (StageMinimum rows among `rules`) that `dates` do not meet, as
    (rule, working days there are, origin date, moment date): the one reading of a minimum,
    for the calendar's validation and for the auditors' short-bid-window flag."""
    unmet = []
    for rule in rules:
        if rule.stage not in dates or rule.from_stage not in dates:
            continue
        origin = dates[rule.from_stage][_EDGE[rule.from_edge]]
        moment = dates[rule.stage][_EDGE[rule.edge]]
        days = calendar.working_days_between(origin, moment, limit=rule.working_days)
        if days < rule.working_days:
            unmet.append((rule, days, origin, moment))
    return unmet


@dataclass(frozen=True)
class StageProgress:
    row: object  # ProcessStage
    # done | current | upcoming | suspended | stopped (closed during it) | not_held |
    # returns (a void process restarts here) | repeat (after the return stage: held again)
    state: str


def stage_progress(process, today: date) -> list[StageProgress]:
    """Where each stage of a process stands, for its page. Dates alone decide only while the
    process runs: a cancelled or deserted process stopped in the stage under way when it
    closed and holds no later stage; a void one returns to the stage it restarts from; a
    suspended one waits in the stage under way; a contracted one has done them all."""
    from .models import ProcessStatus as S

    rows = list(process.stages.all())
    if process.status == S.CONTRACTED:
        return [StageProgress(row, "done") for row in rows]
    if process.status == S.VOID and process.void_return_stage:
        order = [row.stage for row in rows]
        returned = (
            order.index(process.void_return_stage)
            if process.void_return_stage in order
            else len(order)
        )
        return [
            StageProgress(row, "done" if i < returned else "returns" if i == returned else "repeat")
            for i, row in enumerate(rows)
        ]
    if process.status in (S.CANCELLED, S.DESERTED):
        closing = process.history.filter(to_status=process.status).order_by("-at").first()
        closed_on = timezone.localdate(closing.at) if closing else today
        return [
            StageProgress(
                row,
                "done"
                if row.end < closed_on
                else "stopped"
                if row.start <= closed_on
                else "not_held",
            )
            for row in rows
        ]
    under_way = "suspended" if process.status == S.SUSPENDED else "current"
    return [
        StageProgress(
            row, "done" if row.end < today else under_way if row.start <= today else "upcoming"
        )
        for row in rows
    ]


def running_statuses() -> tuple[str, ...]:
    """The statuses whose stages stand where the calendar's dates put them (stage_progress:
    every status but contracted, void, cancelled and deserted, and draft, which has not
    started)."""
    from .models import ProcessStatus as S

    return (S.CALLED, S.SUSPENDED, S.AWARDED, S.CONSENTED)


def stages_under_way(today: date):
    """The calendar rows (ProcessStage) under way on `today`: the stage each running process
    is in, as its page's stage progress shows it ("current", or "suspended" while
    suspended). The one reading of "current stage" for the search, the auditors' overview
    and the stuck processes."""
    from .models import ProcessStage

    return ProcessStage.objects.filter(
        start__lte=today, end__gte=today, process__status__in=running_statuses()
    )


def in_stage_on(stage: str, today: date):
    """Processes (a queryset condition) whose stage `stage` is under way on `today`
    (stages_under_way)."""
    from django.db.models import Exists, OuterRef, Q

    under_way = stages_under_way(today).filter(process=OuterRef("pk"), stage=stage)
    return Q(status__in=running_statuses()) & Q(Exists(under_way))
