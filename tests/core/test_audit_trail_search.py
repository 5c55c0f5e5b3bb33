"""The audit trail's search by entity (the entity, its plans, its processes and what hangs
from them; core.filters.ENTITY_SCOPES, filled by procurement) and the timeline of one object
at /auditoria/registro/<type>/<id>/; the page reads the stored verification, never walks the
chain."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from tests.factories import EntityFactory, auditor, staff_of
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db
URL = "/auditoria/registro/"


@pytest.fixture
def two_entities():
    mine, other = EntityFactory(), EntityFactory()
    return published("Computadoras", entity=mine), published("Sillas", entity=other)


def _entries(response):
    assert response.status_code == 200, response.context["filter"].errors
    return list(response.context["page"])


def test_search_by_entity_finds_its_plans_processes_and_documents(client, two_entities):
    mine, other = two_entities
    client.force_login(auditor())
    found = _entries(client.get(URL, {"entity": mine.entity.ruc}))
    objects = {(e.object_type, e.object_id) for e in found}
    assert ("procurement.procurementprocess", str(mine.pk)) in objects
    assert any(t == "procurement.planversion" for t, _ in objects)
    assert ("procurement.procurementprocess", str(other.pk)) not in objects
    every = {(e.object_type, e.object_id) for e in _entries(client.get(URL))}
    assert objects < every  # the other entity's entries exist and were left out
    # combined with the other filters
    published_only = _entries(
        client.get(URL, {"entity": mine.entity.ruc, "action": "process.publish"})
    )
    assert {e.object_id for e in published_only} == {str(mine.pk)}


def test_an_unknown_or_malformed_entity(client, two_entities):
    client.force_login(auditor())
    assert _entries(client.get(URL, {"entity": "20999999999"})) == []
    response = client.get(URL, {"entity": "MINSA"})
    assert response.status_code == 400 and "entity" in response.context["filter"].errors


def test_the_timeline_of_an_object_by_its_path(client, two_entities):
    mine, _other = two_entities
    client.force_login(auditor())
    response = client.get(f"{URL}procurement.procurementprocess/{mine.pk}/")
    entries = _entries(response)
    assert response.context["timeline"]
    assert entries and {(e.object_type, e.object_id) for e in entries} == {
        ("procurement.procurementprocess", str(mine.pk))
    }
    same = client.get(URL, {"object_type": "procurement.procurementprocess", "object_id": mine.pk})
    assert [e.sequence for e in _entries(same)] == [e.sequence for e in entries]
    assert client.get(f"{URL}no-es-un-tipo/1/").status_code == 400


def test_the_page_never_walks_the_chain(client, two_entities):
    client.force_login(auditor())
    client.get(URL)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    table = AuditEntry._meta.db_table
    reads = [q["sql"] for q in captured.captured_queries if table in q["sql"]]
    assert reads and all("LIMIT" in sql for sql in reads), reads


def test_staff_cannot_read_a_timeline(client, two_entities):
    mine, _other = two_entities
    client.force_login(staff_of(mine.entity))
    assert client.get(f"{URL}procurement.procurementprocess/{mine.pk}/").status_code == 403


def _verification(source, ok, finished):
    from core.models import AuditVerification

    return AuditVerification.objects.create(
        started_at=finished, finished_at=finished, source=source, ok=ok, checked=1
    )


def test_the_state_of_the_last_scheduled_check(client):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    client.force_login(auditor())
    state = client.get(URL).context["state"]
    assert state.last_scheduled is None and state.scheduled_is_late
    scheduled = _verification("task", False, now - timedelta(hours=3))
    _verification("request", True, now - timedelta(hours=1))  # by hand, later: not scheduled
    state = client.get(URL).context["state"]
    assert state.last_scheduled == scheduled and not state.scheduled_is_late
    overview = client.get("/auditoria/")
    assert overview.context["chain"].last_scheduled == scheduled
    assert "BROKEN" in overview.content.decode() or "ROTA" in overview.content.decode()
    # Two intervals (two days by default) without a scheduled run: late.
    _verification("task", True, now - timedelta(days=2, hours=1))
    type(scheduled).objects.filter(pk=scheduled.pk).delete()
    state = client.get(URL).context["state"]
    assert state.last_scheduled.ok and state.scheduled_is_late
