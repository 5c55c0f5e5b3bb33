"""Stage calendars: which stages a procedure type has and the minimum durations between
them, read from the reference data (core.ProcedureStage, core.StageMinimum)."""

from dataclasses import dataclass
from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.codelists import Stage
from core.models import ProcedureStage, StageMinimum
from core.workdays import WorkingCalendar


@dataclass(frozen=True)
class StageDates:
    stage: str
    start: date
    end: date


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
    edge = {"start": 0, "end": 1}
    for rule in StageMinimum.objects.filter(procedure_type=procedure_type):
        if rule.stage not in dates or rule.from_stage not in dates:
            continue
        origin = dates[rule.from_stage][edge[rule.from_edge]]
        moment = dates[rule.stage][edge[rule.edge]]
        days = calendar.working_days_between(origin, moment, limit=rule.working_days)
        if days < rule.working_days:
            problems.append(
                _("%(rule)s: there are %(days)s working days from %(origin)s to %(moment)s, "
                  "the minimum is %(minimum)s (holidays counted).")
                % {
                    "rule": rule.note or labels[rule.stage],
                    "days": days,
                    "origin": date_format(origin, "SHORT_DATE_FORMAT"),
                    "moment": date_format(moment, "SHORT_DATE_FORMAT"),
                    "minimum": rule.working_days,
                }
            )  # fmt: skip
    return problems


def stage_progress(stages, today: date) -> list[tuple[object, str]]:
    """(stage row, 'done' | 'current' | 'upcoming') for a process page."""
    result = []
    for row in stages:
        if row.end < today:
            state = "done"
        elif row.start <= today:
            state = "current"
        else:
            state = "upcoming"
        result.append((row, state))
    return result
