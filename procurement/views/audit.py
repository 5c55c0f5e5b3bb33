"""The auditor workspace (auditors and admins only, read-only): the status overview at
/auditoria/ and the stuck processes at /auditoria/atascados/. The overview only counts
processes (never reads a bid), two grouped queries (overview_tables), each count a link to the public
search (/procesos/) with the same parameters, which lists exactly those processes. The stuck
processes and overdue appeals follow procurement.stuck's rule."""

from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts.permissions import require_audit_reader
from core import clock, keyset
from core.codelists import GovernmentLevel, ProcedureType
from core.errors import DomainError
from core.filtering import filter_status, invalid_export
from core.models import Department
from core.verification import chain_state
from core.workdays import WorkingCalendar

from .. import exports, statistics, stuck
from ..filters import ProcessFilter, StuckFilter
from ..forms import NoteForm
from ..models import Entity, ProcessStatus, ProcurementProcess
from ..queries import public_processes
from ..services import notes

# The period of the overview: the public search's call-date range, by its parameter names.
PERIOD = ("call_from", "call_to")
STUCK_ON_OVERVIEW = 10  # the worst stuck processes and overdue appeals shown on /auditoria/
STUCK_PAGE_SIZE = 50
# The counts are kept this long per period, day and language: counting a million processes
# by seven dimensions takes seconds (bench/scale.py), an auditor's next look a few ms.
OVERVIEW_SECONDS = 300
APPEALS_SHOWN = 100  # the overdue appeals on the full page (worst first; all in the CSV)


@dataclass(frozen=True)
class GroupCount:
    table: str  # the search parameter the table groups by
    code: str
    label: str
    count: int
    url: str


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    rows: list[GroupCount]


TITLES = {
    "status": gettext_lazy("By status"),
    "stage": gettext_lazy("By current stage"),
    "procedure_type": gettext_lazy("By procedure type"),
    "entity": gettext_lazy("By entity (the 50 with most processes)"),
    "sector": gettext_lazy("By sector"),
    "level": gettext_lazy("By government level"),
    "department": gettext_lazy("By department"),
}


def overview_tables(processes, period: dict[str, str]) -> list[Table]:
    """The counts of `processes` (a filtered public_processes queryset) by each dimension,
    each row with its link to the public search: the current stage by its grouping in
    procurement.statistics (the one its page uses), the six columns of a process or its
    entity summed from one grouped query (process_column_rows), so a cold overview reads
    the processes twice, not seven times."""
    base = processes.order_by()
    found = process_column_rows(base, dict(period))
    found["stage"] = statistics.current_stage_rows(clock.today())(
        base, dict(period), with_total=False
    )[: statistics.LIMIT]
    return [
        Table(
            key,
            str(TITLES[key]),
            [
                GroupCount(
                    key,
                    str(row.key),
                    f"{row.label} ({row.key})" if key == "entity" else row.label,
                    row.count,
                    row.search_url,
                )
                for row in found[key]
            ],
        )
        for key in TITLES
    ]


def process_column_rows(processes, params: dict) -> dict[str, list[statistics.Row]]:
    """The rows of procurement.statistics' groupings by status, procedure type, entity,
    sector, government level and department (the same keys, labels, search parameters,
    order and first LIMIT rows: tested equal), counted by one query grouped by entity, status and
    procedure type and summed here by the entity's sector, level and department."""
    counted = (
        processes.values("entity_id", "status", "procedure_type")
        .annotate(n=Count("id"))
        .values_list("entity_id", "status", "procedure_type", "n")
    )
    sums = {key: Counter() for key in ("status", "procedure_type", "entity", "sector")}
    sums |= {"level": Counter(), "department": Counter()}
    rows = list(counted)
    entities = {
        e.pk: e for e in Entity.objects.filter(pk__in={r[0] for r in rows}).select_related("sector")
    }
    for entity_id, status, procedure_type, n in rows:
        entity = entities[entity_id]
        sums["status"][status] += n
        sums["procedure_type"][procedure_type] += n
        sums["entity"][entity.ruc] += n
        sums["sector"][entity.sector_id] += n
        sums["level"][entity.level] += n
        sums["department"][entity.ubigeo_id[:2]] += n
    english = (get_language() or "es").startswith("en")
    by_ruc = {e.ruc: e for e in entities.values()}
    sectors = {e.sector_id: e.sector for e in entities.values()}
    departments = dict(Department.objects.filter(code__in=list(sums["department"])).values_list())
    labels = {
        "status": lambda k: str(dict(ProcessStatus.choices).get(k, k)),
        "procedure_type": lambda k: str(dict(ProcedureType.choices).get(k, k)),
        "entity": lambda k: by_ruc[k].name,
        "sector": lambda k: (
            (sectors[k].name_en if english and sectors[k].name_en else "")
            or sectors[k].name_es
            or sectors[k].name_en
        ),
        "level": lambda k: str(dict(GovernmentLevel.choices).get(k, k)),
        "department": lambda k: departments.get(k, ""),
    }
    return {
        key: [
            statistics.Row(code, labels[key](code), n, None, params | {key: code})
            for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[
                : statistics.LIMIT
            ]
        ]
        for key, counts in sums.items()
    }


@login_required
def overview(request):
    require_audit_reader(request.user)
    # The search's FilterSet given only the period's parameters: the links carry the same.
    data = {key: request.GET[key] for key in PERIOD if request.GET.get(key)}
    process_filter = ProcessFilter(data, queryset=public_processes())
    status = filter_status(process_filter)
    wants_csv = request.GET.get("format") == "csv"
    if wants_csv and (bad := invalid_export(process_filter)) is not None:
        return bad
    tables, counted_at = _kept_tables(process_filter, data) if status == 200 else ([], None)
    if wants_csv:
        rows = [r for table in tables for r in table.rows]
        return exports.AUDIT_OVERVIEW.items_response(rows, filename="auditoria-resumen.csv")
    context = {
        "filter": process_filter,
        "tables": tables,
        "counted_at": counted_at,
        "period": data,
        "chain": chain_state(),
    }
    context["stuck"], context["overdue"] = _stuck_summary(clock.today())
    return render(request, "procurement/audit/overview.html", context, status=status)


def _kept_tables(process_filter, period: dict[str, str], *, recount: bool = False):
    """overview_tables of a valid period and the moment they were counted, kept
    OVERVIEW_SECONDS per period (its cleaned dates), day and language (the labels); counted
    again when `recount` (warm_overview)."""
    cleaned = process_filter.form.cleaned_data
    bounds = ":".join(str(cleaned.get(name) or "") for name in PERIOD)
    key = f"audit:overview:{clock.today().isoformat()}:{get_language()}:{bounds}"
    kept = None if recount else cache.get(key)
    if kept is None:
        kept = (overview_tables(process_filter.qs, period), clock.now())
        cache.set(key, kept, OVERVIEW_SECONDS)
    return kept


def warm_overview() -> int:
    """Count the overview of the whole period again in every language, so the page an auditor
    opens first reads kept counts (Celery beat, more often than OVERVIEW_SECONDS). Returns
    how many languages were counted."""
    process_filter = ProcessFilter({}, queryset=public_processes())
    process_filter.form.is_valid()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            _kept_tables(process_filter, {}, recount=True)
    return len(settings.LANGUAGES)


def _stuck_summary(today: date):
    """The worst stuck processes (with their count, capped) and overdue appeals for the
    overview: live, a range of an index each (procurement.stuck)."""
    calendar = WorkingCalendar.from_database()
    worst = keyset.page(stuck.stuck_processes(today), stuck.STAGE_ORDER, size=STUCK_ON_OVERVIEW)
    worst.object_list = stuck.stuck_rows(worst.object_list, today, calendar)
    overdue = stuck.overdue_appeals(today)[:STUCK_ON_OVERVIEW]
    return worst, stuck.count_late(overdue, today, calendar, "due_on")


@dataclass(frozen=True)
class LateRow:
    """One line of the stuck processes' CSV: a stuck process or an overdue appeal."""

    kind: str  # "etapa" | "apelacion"
    process: object
    stage: str  # the overrun stage, or "" for an appeal
    late_since: date
    days_late: int
    appeal_id: int | None = None


def _late_rows(stages, appeals, today: date, calendar: WorkingCalendar):
    # In a transaction: PostgreSQL's server-side cursor then streams (exports.ExportSpec.rows).
    with transaction.atomic():
        for process in stages.iterator(chunk_size=2000):
            row = stuck.stuck_rows([process], today, calendar)[0]
            yield LateRow("etapa", process, row.stage, row.late_since, row.days_late)
        for appeal in appeals.iterator(chunk_size=2000):
            days = calendar.working_days_between(appeal.due_on, today)
            yield LateRow("apelacion", appeal.process, "", appeal.due_on, days, appeal.pk)


@login_required
def stuck_processes(request):
    """Stuck processes and overdue appeals (procurement.stuck), worst first, filtered by
    entity, department, procedure type and overrun stage; `?format=csv` exports them all."""
    require_audit_reader(request.user)
    today, calendar = clock.today(), WorkingCalendar.from_database()
    stage_filter = StuckFilter(request.GET, queryset=stuck.stuck_processes(today))
    appeal_filter = StuckFilter(request.GET, queryset=stuck.overdue_appeals(today))
    status = filter_status(stage_filter)
    if request.GET.get("format") == "csv":
        if (bad := invalid_export(stage_filter)) is not None:
            return bad
        rows = _late_rows(stage_filter.qs, appeal_filter.qs, today, calendar)
        return exports.AUDIT_STUCK.items_response(rows, filename="auditoria-atascados.csv")
    page, appeals = None, []
    if status == 200:
        try:
            page = keyset.page(
                stage_filter.qs,
                stuck.STAGE_ORDER,
                request.GET.get("cursor"),
                size=STUCK_PAGE_SIZE,
            )
        except keyset.BadCursor:
            status = 400
        else:
            page.object_list = stuck.stuck_rows(page.object_list, today, calendar)
            appeals = stuck.count_late(appeal_filter.qs[:APPEALS_SHOWN], today, calendar, "due_on")
    context = {
        "filter": stage_filter,
        "page": page,
        "appeals": appeals,
        "appeals_shown": APPEALS_SHOWN,
        "bad_cursor": status == 400 and stage_filter.is_valid(),
        "today": today,
    }
    return render(request, "procurement/audit/stuck.html", context, status=status)


@login_required
def process_notes(request, identifier):
    """The auditors' internal notes on a process (auditors and admins only): read them, and
    (POST) add one, the only write an auditor makes."""
    require_audit_reader(request.user)
    process = get_object_or_404(
        ProcurementProcess.objects.select_related("entity"), identifier=identifier
    )
    form, status = NoteForm(), 200
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                notes.add_note(actor=request.user, process=process, text=form.cleaned_data["text"])
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(request, _("Note added."))
                return redirect("audit_notes", identifier=process.identifier)
        status = 400
    context = {
        "process": process,
        "notes": notes.process_notes(request.user, process),
        "form": form,
    }
    return render(request, "procurement/audit/notes.html", context, status=status)
