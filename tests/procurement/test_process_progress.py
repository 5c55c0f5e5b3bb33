"""The calendar on a process page follows its status, not only the dates."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.workdays import WorkingCalendar
from procurement.services import processes
from tests.factories import process_from_plan, publish_with_lp_calendar, published_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def called():
    """An LP process called about a week ago: questions and registration are under way."""
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    cal = WorkingCalendar()
    call = cal.next_working_day(timezone.localdate() - timedelta(days=8))
    process = publish_with_lp_calendar(staff, process_from_plan(staff, version), call=call)
    return process, staff


def _states(client, process) -> dict[str, str]:
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    rows = re.findall(r'<li class="stage-(\w+)">\s*<strong>([^<]+)</strong>', html)
    labels = {row.get_stage_display(): row.stage for row in process.stages.all()}
    return {labels[label]: state for state, label in rows}


def test_a_running_process_follows_the_dates(client, called):
    process, _ = called
    states = _states(client, process)
    assert states["convocatoria"] == "done"
    assert states["consultas"] == "current"
    assert states["contrato"] == "upcoming"


def test_a_cancelled_process_shows_where_it_stopped_and_why(client, called):
    process, staff = called
    processes.cancel(actor=staff, process=process, reason="Ya no se requiere el bien")
    states = _states(client, process)
    assert "current" not in states.values() and "upcoming" not in states.values()
    assert states["convocatoria"] == "done"
    assert states["consultas"] == "stopped"
    assert states["evaluacion"] == "not_held" and states["contrato"] == "not_held"
    assert (
        "Ya no se requiere el bien"
        in client.get(f"/procesos/{process.identifier}/").content.decode()
    )


def test_a_void_process_shows_the_stage_it_returns_to(client, called):
    process, staff = called
    processes.annul(
        actor=staff, process=process, reason="Bases defectuosas", return_stage="convocatoria"
    )
    states = _states(client, process)
    assert states["convocatoria"] == "returns"
    assert set(list(states.values())[1:]) == {"repeat"}
    assert "done" not in states.values()
