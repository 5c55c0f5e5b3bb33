"""The moment of each process's last status change (ProcurementProcess.status_changed_at),
checked against its history, for the tests of every path that writes status changes; and the
last day each is on time (ProcurementProcess.stage_due_on, the stuck list's stored rule)."""

from django.db.models import Max
from django.utils import timezone

from procurement.models import ProcessStage, ProcurementProcess, StatusChange


def assert_last_change_stored() -> dict:
    """Every process's status_changed_at is max(StatusChange.at) of its history (None
    without one); returns {process id: moment}."""
    last = dict(
        StatusChange.objects.values("process").annotate(at=Max("at")).values_list("process", "at")
    )
    stored = dict(ProcurementProcess.objects.values_list("pk", "status_changed_at"))
    assert last, "no status change to check"
    assert stored == {pk: last.get(pk) for pk in stored}
    return stored


# The rule of the stuck list, written out by hand from the auditors' page: a called process
# owes its award (buena pro) by the end of that stage, an awarded one its consent by the end
# of the standstill, a consented one its contract by the end of the contract stage; a status
# change after that day restarts the count from its day (in Lima). Any other status owes
# nothing here (a suspended one: its appeal is listed instead).
OWED_BY = {"convocado": "buena_pro", "adjudicado": "consentimiento", "consentido": "contrato"}


def expected_due(process_id: int, status: str, changed_at, ends: dict):
    """The last day on time of one process by OWED_BY, or None."""
    end = ends.get((process_id, OWED_BY.get(status)))
    if end is None:
        return None
    return max(end, timezone.localdate(changed_at)) if changed_at else end


def assert_due_stored() -> dict:
    """Every process's stored stage_due_on (procurement.stuck) is the rule above computed
    from its status, calendar and last status change; returns {process id: day}."""
    ends = {
        (pk, stage): end
        for pk, stage, end in ProcessStage.objects.values_list("process", "stage", "end")
    }
    rows = ProcurementProcess.objects.values_list(
        "pk", "status", "status_changed_at", "stage_due_on"
    )
    stored = {pk: due for pk, _status, _at, due in rows}
    assert stored, "no process to check"
    assert stored == {pk: expected_due(pk, st, at, ends) for pk, st, at, _due in rows}
    return stored
