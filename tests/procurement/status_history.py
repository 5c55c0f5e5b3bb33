"""The moment of each process's last status change (ProcurementProcess.status_changed_at),
checked against its history, for the tests of every path that writes status changes."""

from django.db.models import Max

from procurement.models import ProcurementProcess, StatusChange


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
