"""Stuck processes and overdue appeals, for the auditors (/auditoria/ and /auditoria/atascados/).

The rule, in one place:

- A running process (called, awarded or consented; a suspended one waits for its appeal,
  below) owes a status change by the end of one stage of its calendar (DUE_STAGE): a called
  process must be awarded or declared deserted by the end of its award stage (buena pro), an
  awarded one consented by the end of its standstill, a consented one contracted by the end
  of its contract stage. It is **stuck** once that stage's last day has passed with no status
  change after it; a later change (a resumption after an appeal, a return to evaluation, a
  restart after a void declaration) restarts the count from its day. So it is late since
  the later of the stage's last day and the day of its last status change (`late_since`).
- An appeal is **overdue** when still open after the day it was due (Appeal.due_on, set at
  filing from rules.APPEAL_RESOLUTION_WORKING_DAYS for who resolves it,
  rules.tribunal_resolves): appeals.overdue_condition, the rule the appeal page shows.
- Both are listed the day after their last day and ranked by how late they are in working
  days (core.workdays: weekends, national holidays and decreed non-working days skipped):
  a stage that ended on a Friday before a Monday holiday is listed on that Monday 0 working
  days late, and 1 on Tuesday; one that ends today is on time and not listed.

Each list is one query (worst first: the earliest `late_since`, which is also the most
working days late), paged by keyset (core.keyset); working days are counted only for the
rows shown, with one calendar per request.
"""

from datetime import date

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest, TruncDate

from core import keyset
from core.codelists import Stage
from core.workdays import WorkingCalendar

from .models import Appeal, ProcessStage, ProcessStatus
from .models.appeals import overdue_condition

# The stage by whose end each running status owes its next status change.
DUE_STAGE = {
    ProcessStatus.CALLED: Stage.AWARD,
    ProcessStatus.AWARDED: Stage.STANDSTILL,
    ProcessStatus.CONSENTED: Stage.CONTRACT,
}

# Worst first: the earliest day since which a row is late, then its id.
STAGE_ORDER = keyset.Order("late", "late_since", False, date.fromisoformat)


def overrun_stages(today: date) -> QuerySet[ProcessStage]:
    """The calendar rows (ProcessStage) of stuck processes on `today`, one per process,
    annotated with `late_since`, worst first."""
    owed = Q()
    for status, stage in DUE_STAGE.items():
        owed |= Q(process__status=status, stage=stage)
    # The last status change: ProcurementProcess.status_changed_at, max(StatusChange.at).
    last_change = TruncDate("process__status_changed_at")
    # The running processes' owed stages that ended (the status and (stage, end) indexes)
    # first, so that the last status change is read for those rows only.
    ended = ProcessStage.objects.filter(owed, end__lt=today).values("pk")
    return (
        ProcessStage.objects.filter(pk__in=ended)
        .annotate(late_since=Greatest(F("end"), Coalesce(last_change, F("end"))))
        .filter(late_since__lt=today)
        .select_related("process__entity")
        .order_by("late_since", "pk")
    )


def overdue_appeals(today: date) -> QuerySet[Appeal]:
    """Open appeals past their legal term on `today`, worst first."""
    return (
        Appeal.objects.filter(overdue_condition(today))
        .select_related("process__entity", "supplier")
        .order_by("due_on", "pk")
    )


def count_late(rows, today: date, calendar: WorkingCalendar, day: str) -> list:
    """Set `days_late` on each row: working days after its `day` attribute up to today."""
    rows = list(rows)
    for row in rows:
        row.days_late = calendar.working_days_between(getattr(row, day), today)
    return rows
