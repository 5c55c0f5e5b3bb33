"""The auditor workspace (auditors and admins only, read-only): the status overview at
/auditoria/. It only counts processes (never reads a bid), one grouped query per table, each
count a link to the public search (/procesos/) with the same parameters, which lists exactly
those processes."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from accounts.permissions import require_audit_reader
from core import clock
from core.codelists import GovernmentLevel, ProcedureType
from core.filtering import filter_status, invalid_export

from .. import exports, statistics
from ..filters import ProcessFilter
from ..models import ProcessStatus
from ..queries import public_processes

# The period of the overview: the public search's call-date range, by its parameter names.
PERIOD = ("call_from", "call_to")


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
    one grouped query each (procurement.statistics' groupings, the ones its page uses), every
    row with its link to the public search."""
    base = processes.order_by()
    groupings = {
        "status": statistics.choice_rows("status", ProcessStatus.choices),
        "stage": statistics.current_stage_rows(clock.today()),
        "procedure_type": statistics.choice_rows("procedure_type", ProcedureType.choices),
        "entity": statistics.entity_rows,
        "sector": statistics.sector_rows,
        "level": statistics.choice_rows("level", GovernmentLevel.choices, "entity__level"),
        "department": statistics.department_rows,
    }
    tables = []
    for key, rows in groupings.items():
        found = rows(base, dict(period))
        tables.append(
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
                    for row in found
                ],
            )
        )
    return tables


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
