"""The auditor workspace (auditors and admins only, read-only): the status overview at
/auditoria/. It only counts processes (never reads a bid), one grouped query per table, each
count a link to the public search (/procesos/) with the same parameters, which lists exactly
those processes."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy

from accounts.permissions import require_audit_reader
from core import clock
from core.codelists import GovernmentLevel, ProcedureType, Stage
from core.filtering import filter_status, invalid_export

from .. import exports
from ..calendar_rules import running_statuses
from ..filters import ProcessFilter
from ..models import ProcessStage, ProcessStatus
from ..queries import public_processes

# The period of the overview: the public search's call-date range, by its parameter names.
PERIOD = ("call_from", "call_to")
TOP_ENTITIES = 50


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


def _bilingual(es: str, en: str) -> str:
    return en if (get_language() or "es").startswith("en") and en else es or en


def overview_tables(processes, period: dict[str, str]) -> list[Table]:
    """The counts of `processes` (a filtered public_processes queryset) by each dimension,
    one grouped query each, every row with its link to the public search."""
    base = processes.order_by()
    search = reverse("procurement:process_list")

    def row(key, code, label, count):
        query = urlencode({**period, key: code})
        return GroupCount(key, str(code), str(label), count, f"{search}?{query}")

    def grouped(*fields):
        return base.values(*fields).annotate(n=Count("pk")).order_by("-n", fields[0])

    labels = dict(ProcessStatus.choices)
    status = [row("status", r["status"], labels[r["status"]], r["n"]) for r in grouped("status")]
    stages = dict(Stage.choices)
    in_stage = (
        ProcessStage.objects.filter(
            process__in=base.values("pk"),
            process__status__in=running_statuses(),
            start__lte=clock.today(),
            end__gte=clock.today(),
        )
        .values("stage")
        .annotate(n=Count("process_id", distinct=True))
        .order_by("-n", "stage")
    )
    stage = [row("stage", r["stage"], stages[r["stage"]], r["n"]) for r in in_stage]
    procedures = dict(ProcedureType.choices)
    procedure = [
        row("procedure_type", r["procedure_type"], procedures[r["procedure_type"]], r["n"])
        for r in grouped("procedure_type")
    ]
    entity = [
        row("entity", r["entity__ruc"], f"{r['entity__name']} ({r['entity__ruc']})", r["n"])
        for r in grouped("entity__ruc", "entity__name")[:TOP_ENTITIES]
    ]
    sector = [
        row(
            "sector",
            r["entity__sector_id"],
            _bilingual(r["entity__sector__name_es"], r["entity__sector__name_en"]),
            r["n"],
        )
        for r in grouped("entity__sector_id", "entity__sector__name_es", "entity__sector__name_en")
    ]
    levels = dict(GovernmentLevel.choices)
    level = [
        row("level", r["entity__level"], levels[r["entity__level"]], r["n"])
        for r in grouped("entity__level")
    ]
    department_field = "entity__ubigeo__province__department"
    department = [
        row("department", r[f"{department_field}_id"], r[f"{department_field}__name"], r["n"])
        for r in grouped(f"{department_field}_id", f"{department_field}__name")
    ]
    tables = {
        "status": status,
        "stage": stage,
        "procedure_type": procedure,
        "entity": entity,
        "sector": sector,
        "level": level,
        "department": department,
    }
    return [Table(key, str(TITLES[key]), rows) for key, rows in tables.items()]


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
    tables = overview_tables(process_filter.qs, data) if status == 200 else []
    if wants_csv:
        rows = [r for table in tables for r in table.rows]
        return exports.AUDIT_OVERVIEW.items_response(rows, filename="auditoria-resumen.csv")
    context = {"filter": process_filter, "tables": tables, "period": data}
    return render(request, "procurement/audit/overview.html", context, status=status)
