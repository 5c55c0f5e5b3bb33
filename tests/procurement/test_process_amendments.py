"""Calendar amendments are public, and the call date is one definition everywhere."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from core.workdays import WorkingCalendar
from procurement.services import processes
from tests.factories import (
    designate_committee_of_two,
    lp_calendar,
    process_from_plan,
    published_plan,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled():
    """An LP published today whose call stage starts a few working days later."""
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    process = process_from_plan(staff, version)
    call = WorkingCalendar().add_working_days(timezone.localdate(), 3)
    dates = lp_calendar(call)
    processes.set_calendar(staff, process, dates)
    designate_committee_of_two(staff, process)
    process = processes.publish_call(actor=staff, process=process)
    return process, staff, dates


def test_the_process_page_lists_each_amendment_with_reason_and_changes(client, scheduled):
    process, staff, dates = scheduled
    cal = WorkingCalendar()
    later = dict(dates)
    later["buena_pro"] = (cal.add_working_days(dates["buena_pro"][0], 1),) * 2
    later["consentimiento"] = (
        cal.add_working_days(later["buena_pro"][0], 1),
        cal.add_working_days(later["buena_pro"][0], 8),
    )
    later["contrato"] = (
        cal.add_working_days(later["consentimiento"][1], 1),
        cal.add_working_days(later["consentimiento"][1], 3),
    )
    processes.set_calendar(staff, process, later, reason="Ampliación por feriado regional")
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert 'id="amendments"' in html
    assert "Ampliación por feriado regional" in html
    old, new = dates["buena_pro"][0], later["buena_pro"][0]
    assert (
        f"{date_format(old, 'SHORT_DATE_FORMAT')} – {date_format(old, 'SHORT_DATE_FORMAT')} → {date_format(new, 'SHORT_DATE_FORMAT')}"
        in html
    )
    assert process.amendments.get().changes[0]["stage"] == "buena_pro"


def test_the_call_date_is_the_call_stage_start_in_list_and_csv(client, scheduled):
    process, _staff, dates = scheduled
    call = dates["convocatoria"][0]
    assert call != timezone.localdate()
    html = client.get("/procesos/").content.decode()
    assert f"<td>{date_format(call, 'SHORT_DATE_FORMAT')}</td>" in html
    response = client.get("/procesos/", {"format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    row = next(line for line in body.splitlines() if line.startswith(process.identifier))
    assert row.endswith(call.isoformat())
