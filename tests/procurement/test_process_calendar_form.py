"""The staff calendar form keeps its dates in every language: <input type="date"> only takes
ISO values, so a localized value shows an empty field and re-saving loses everything."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from core.workdays import WorkingCalendar
from tests.factories import lp_calendar, process_from_plan, published_plan

pytestmark = pytest.mark.django_db

DATE_INPUT = re.compile(r'<input type="date" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)"')


@pytest.fixture
def process(client):
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    client.force_login(staff)
    return process_from_plan(staff, version)


def _date_inputs(html: str) -> dict[str, str]:
    return {m["name"]: m["value"] for m in DATE_INPUT.finditer(html)}


@pytest.mark.parametrize("language", ["es", "en"])
def test_calendar_round_trip_keeps_iso_dates(client, process, language):
    client.cookies["django_language"] = language
    base = f"/gestion/procesos/{process.pk}/"
    dates = lp_calendar(WorkingCalendar().next_working_day(timezone.localdate()))
    form = {
        f"{stage}_{edge}": value.isoformat()
        for stage, pair in dates.items()
        for edge, value in zip(("start", "end"), pair, strict=True)
    }
    assert client.post(base + "calendario/", form).status_code == 302

    rendered = _date_inputs(client.get(base).content.decode())
    assert rendered == form  # ISO values, exactly what was saved

    # Saving the page again unchanged succeeds and changes nothing.
    assert client.post(base + "calendario/", rendered).status_code == 302
    saved = {s.stage: (s.start, s.end) for s in process.stages.all()}
    assert saved == dates


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_date_input_renders_iso(language):
    from django.utils import translation

    from procurement.forms import PlanPublishForm

    with translation.override(language):
        html = str(PlanPublishForm(initial={"approval_date": timezone.datetime(2026, 11, 26)}))
    assert 'type="date"' in html and 'value="2026-11-26"' in html
