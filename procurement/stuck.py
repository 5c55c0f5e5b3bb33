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

The rule is kept on each process as `ProcurementProcess.stage_due_on` (its `late_since`,
null when its status owes nothing): refresh_due writes it, one statement for any set of
processes, on every status change (StatusChange.save), every calendar change
(services.processes.calendar.set_calendar), at the end of the demo seed and of the scale
bench's clone, and by migration 0029 for the rows before it. So the stuck list is a range of
the partial index (stage_due_on, id): `stage_due_on < today`, the earliest first, which is
also the most working days late. Each list is one query paged by keyset (core.keyset, the
count capped); working days are counted only for the rows shown, with one calendar per
request.
"""

from dataclasses import dataclass
from datetime import date

from django.db import connections
from django.db.models import (
    Case,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.db.models.sql import UpdateQuery

from core import keyset
from core.codelists import Stage
from core.workdays import WorkingCalendar

from .models import Appeal, ProcessStage, ProcessStatus, ProcurementProcess
from .models.appeals import overdue_condition

# The stage by whose end each running status owes its next status change.
DUE_STAGE = {
    ProcessStatus.CALLED: Stage.AWARD,
    ProcessStatus.AWARDED: Stage.STANDSTILL,
    ProcessStatus.CONSENTED: Stage.CONTRACT,
}

# Worst first: the earliest day since which a process is late, then its id.
STAGE_ORDER = keyset.Order("late", "stage_due_on", False, date.fromisoformat)


def due_on() -> Case:
    """The rule, as an expression over ProcurementProcess rows: the last day the process is
    on time (`late_since`), the later of the last day of the stage its status owes
    (DUE_STAGE) and the day (in Lima) of its last status change; null for a status that owes
    none, or without that stage in its calendar."""
    last_change = TruncDate(
        ExpressionWrapper(OuterRef("status_changed_at"), output_field=DateTimeField())
    )
    owed = [
        When(
            status=status,
            then=Subquery(
                # One row per process and stage: unordered (the model's ordering joins the
                # process).
                ProcessStage.objects.filter(process=OuterRef("pk"), stage=stage)
                .order_by()
                .annotate(due=Greatest(F("end"), Coalesce(last_change, F("end"))))
                .values("due")[:1]
            ),
        )
        for status, stage in DUE_STAGE.items()
    ]
    return Case(*owed, default=Value(None), output_field=DateField())


def refresh_due(processes: QuerySet[ProcurementProcess] | None = None) -> int:
    """Write due_on() into stage_due_on of `processes` (any queryset of them; all when
    None), in one UPDATE: those whose status owes a change and those that held a value (to
    clear it). Returns the rows written."""
    if processes is None:
        processes = ProcurementProcess.objects.all()
    return _owing(processes).update(stage_due_on=due_on())


def _owing(processes: QuerySet[ProcurementProcess]) -> QuerySet[ProcurementProcess]:
    """The rows refresh_due writes: those whose status owes a change and those that held a
    value (to clear it)."""
    return processes.filter(Q(status__in=list(DUE_STAGE)) | Q(stage_due_on__isnull=False))


def refresh_due_of(process_id: int) -> date | None:
    """refresh_due of one process (after a change of its status or calendar), and its value,
    in one statement (UPDATE ... RETURNING: no SELECT after it). A process it does not write
    owes nothing and holds no value: None."""
    one = _owing(ProcurementProcess.objects.filter(pk=process_id))
    query = one.query.chain(UpdateQuery)
    query.add_update_values({"stage_due_on": due_on()})
    update, params = query.get_compiler(one.db).as_sql()
    column = connections[one.db].ops.quote_name("stage_due_on")
    with connections[one.db].cursor() as cursor:
        cursor.execute(f"{update} RETURNING {column}", params)
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    # SQLite returns the ISO text of the day; PostgreSQL a date.
    return row[0] if isinstance(row[0], date) else date.fromisoformat(row[0])


def stuck_processes(today: date) -> QuerySet[ProcurementProcess]:
    """The stuck processes on `today`, worst first (their `stage_due_on` is `late_since`)."""
    return (
        ProcurementProcess.objects.filter(stage_due_on__lt=today)
        .select_related("entity")
        .order_by("stage_due_on", "pk")
    )


@dataclass
class StuckRow:
    """One stuck process as the lists show it: the stage it overran, since when, how late."""

    process: ProcurementProcess
    days_late: int

    @property
    def stage(self) -> str:
        return DUE_STAGE[self.process.status]

    def get_stage_display(self) -> str:
        return Stage(self.stage).label

    @property
    def late_since(self) -> date:
        return self.process.stage_due_on


def stuck_rows(processes, today: date, calendar: WorkingCalendar) -> list[StuckRow]:
    """The rows of stuck `processes`, with the working days each is late."""
    return [StuckRow(p, calendar.working_days_between(p.stage_due_on, today)) for p in processes]


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
