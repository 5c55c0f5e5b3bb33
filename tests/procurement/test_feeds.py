"""/feeds/procesos/ (CONTRACT.md): Atom of newly published processes, filtered like the
search; /procesos/<identifier>/calendario.ics: one process's calendar as iCalendar."""

import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from procurement.models import ProcurementProcess
from tests.factories import (
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
)
from tests.hostile import HOSTILE

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def processes():
    version, staff = published_plan(
        year=timezone.localdate().year,
        items=[
            {"description": "Servidores", "catalog_item": "43211503", "estimated_value": 450000},
            {"description": "Papel", "estimated_value": 60000},
        ],
    )
    items = list(version.items.order_by("reference"))
    called = process_from_plan(staff, version, items=items[:1], description="Servidores; sede")
    called = publish_with_lp_calendar(staff, called, call=last_working_day_until_today())
    draft = process_from_plan(staff, version, items=items[1:], procedure_type="COMPRE")
    return called, draft


def _entries(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # noqa: S314 - the portal's own response
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None
    titles = []
    for entry in root.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "link"):
            assert entry.find(f"{ATOM}{required}") is not None, required
        titles.append(entry.find(f"{ATOM}title").text)
    return titles


def test_the_feed_is_atom_with_the_published_processes_only(client, processes):
    called, draft = processes
    titles = _entries(client.get("/feeds/procesos/"))
    assert titles == [f"{called.identifier}: {called.description}"]
    assert not any(draft.identifier in t for t in titles)


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({"procedure_type": "LP"}, True),
        ({"procedure_type": "AS"}, False),
        ({"object_type": "goods"}, True),
        ({"object_type": "works"}, False),
        ({"min_value": "450000"}, True),
        ({"min_value": "450000.01"}, False),
        ({"q": "servidores"}, True),
        ({"q": "impresoras"}, False),
        ({"department": "15"}, True),
        ({"department": "08"}, False),
    ],
)
def test_the_feed_filters_like_the_search(client, processes, query, found):
    called, _draft = processes
    titles = _entries(client.get("/feeds/procesos/", query))
    assert bool(titles) is found
    if found:
        assert called.identifier in titles[0]


@pytest.mark.parametrize("value", HOSTILE["number"][:4] + ["2026-02-30"])
def test_bad_filters_are_a_400(client, processes, value):
    response = client.get("/feeds/procesos/", {"min_value": value, "year": value})
    assert response.status_code == 400


def test_the_calendar_of_a_process_is_icalendar(client, processes):
    called, draft = processes
    response = client.get(f"/procesos/{called.identifier}/calendario.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    lines = body.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert all(len(line.encode()) <= 75 for line in lines)
    stages = called.stages.count()
    assert body.count("BEGIN:VEVENT") == stages == body.count("END:VEVENT") and stages > 5
    unfolded = body.replace("\r\n ", "")
    bids = called.stages.get(stage="ofertas")
    assert f"DTSTART;VALUE=DATE:{bids.start:%Y%m%d}" in unfolded
    assert "Servidores\\; sede" in unfolded  # escaped as RFC 5545 asks
    assert client.get(f"/procesos/{draft.identifier}/calendario.ics").status_code == 404
    assert ProcurementProcess.objects.filter(pk=draft.pk, status="draft").exists()
