"""The auditor workspace's status overview (/auditoria/): who may see it, each count equal to
what its link to the public search lists, the period, bad input, the CSV, and one grouped
query per table whatever the number of processes."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from core.codelists import GovernmentLevel, ProcedureType
from core.workdays import WorkingCalendar
from procurement.models import ProcessStatus, ProcurementProcess
from tests.factories import EntityFactory, UserFactory, admin_user, auditor, staff_of
from tests.hostile import HOSTILE
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Four called processes, each of its own entity: three of Lima entities called on `day`
    (one later cancelled, one turned into an AS) and one of a Cusco regional health entity
    called 18 working days earlier (taking bids on `day`)."""
    calendar = WorkingCalendar()
    early = calendar.next_working_day(clock.today() - timedelta(days=40))
    day = calendar.add_working_days(early, 18)
    cusco_entity = EntityFactory(
        acronym="DIRESACUSCO", level="regional", sector_id="salud", ubigeo_id="080101"
    )
    cusco = published("Bolígrafos", entity=cusco_entity, catalog="44121701", call=early)
    lima = published("Computadoras", call=day)
    cancelled = published("Sillas", call=day)
    simplified = published("Mesas", call=day)
    ProcurementProcess.objects.filter(pk=cancelled.pk).update(status="cancelado")
    ProcurementProcess.objects.filter(pk=simplified.pk).update(procedure_type="AS")
    return {"day": day, "early": early, "cusco": cusco, "lima": lima}


def _overview(client, world, **params):
    client.force_login(auditor())
    with clock.pinned(world["day"]):
        response = client.get("/auditoria/", params)
    assert response.status_code == 200, response.context["filter"].errors
    return {t.key: {r.code: r for r in t.rows} for t in response.context["tables"]}


def _listed(client, world, url) -> int:
    with clock.pinned(world["day"]):
        response = client.get(url)
    assert response.status_code == 200, url
    return len(response.context["page"])


def test_counts_by_each_dimension(client, world):
    tables = _overview(client, world)
    counts = {key: {code: r.count for code, r in rows.items()} for key, rows in tables.items()}
    lima = world["lima"].entity
    assert counts["status"] == {"convocado": 3, "cancelado": 1}
    assert counts["procedure_type"] == {"LP": 3, "AS": 1}
    assert counts["stage"]["ofertas"] == 1  # Cusco's; the cancelled one is in no stage
    assert counts["stage"]["convocatoria"] == 2
    assert len(counts["entity"]) == 4 and set(counts["entity"].values()) == {1}
    assert counts["entity"][lima.ruc] == 1
    assert counts["level"][lima.level] == 3 and counts["level"]["regional"] == 1
    assert counts["sector"]["salud"] == 1
    assert counts["department"]["08"] == 1 and counts["department"]["15"] == 3


def test_each_count_links_to_a_search_listing_exactly_that_many(client, world):
    tables = _overview(client, world)
    for key in tables:
        for row in tables[key].values():
            assert row.url.startswith("/procesos/?")
            assert _listed(client, world, row.url) == row.count, (key, row.code, row.url)
    assert tables["status"]["cancelado"].url == "/procesos/?status=cancelado"
    assert tables["procedure_type"]["AS"].url == "/procesos/?procedure_type=AS"


def test_the_period_narrows_the_counts_and_its_links(client, world):
    day = world["day"].isoformat()
    tables = _overview(client, world, call_from=day, call_to=day)
    assert {c: r.count for c, r in tables["status"].items()} == {"convocado": 2, "cancelado": 1}
    lp = tables["procedure_type"]["LP"]
    assert lp.count == 2
    assert f"call_from={day}" in lp.url and f"call_to={day}" in lp.url
    assert _listed(client, world, lp.url) == 2
    assert _listed(client, world, tables["status"]["cancelado"].url) == 1


def test_csv_has_the_same_counts(client, world):
    client.force_login(auditor())
    with clock.pinned(world["day"]):
        response = client.get("/auditoria/", {"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))
    assert rows[0] == ["dimension", "codigo", "nombre", "procesos"]
    found = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert found[("status", "convocado")] == "3"
    assert found[("procedure_type", "AS")] == "1"
    assert found[("entity", world["cusco"].entity.ruc)] == "1"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"call_from": "2026-02-30"}, "call_from"),
        ({"call_to": "mañana"}, "call_to"),
        ({"call_from": "0001-01-01"}, "call_from"),
        ({"call_from": "2026-03-10", "call_to": "2026-03-01"}, "call_to"),
    ],
)
def test_bad_periods_are_form_errors(client, params, field):
    client.force_login(auditor())
    response = client.get("/auditoria/", params)
    assert response.status_code == 400
    assert field in response.context["filter"].errors
    assert response.context["tables"] == []
    exported = client.get("/auditoria/", {**params, "format": "csv"})
    assert exported.status_code == 400
    assert f"{field}:" in exported.content.decode()


def test_only_auditors_and_admins(client, world):
    response = client.get("/auditoria/")
    assert response.status_code == 302 and "/cuentas/" in response["Location"]
    for user in (UserFactory(), staff_of(world["lima"].entity)):
        client.force_login(user)
        assert client.get("/auditoria/").status_code == 403
        assert client.get("/auditoria/", {"format": "csv"}).status_code == 403
    client.force_login(admin_user())
    page = client.get("/auditoria/")
    assert page.status_code == 200
    assert b'href="/auditoria/registro/"' in page.content
    assert b'href="/auditoria/ancla/"' in page.content


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_six_columns_summed_from_one_query_equal_the_statistics_groupings(world, language):
    """process_column_rows gives what procurement.statistics' grouping of each dimension
    gives (keys, labels, counts, links, order), over the whole portal and a period."""
    from django.utils import translation

    from procurement import statistics
    from procurement.queries import public_processes
    from procurement.views.audit import process_column_rows

    EntityFactory(acronym="OTRA", level="local", sector_id="educacion", ubigeo_id="040101")
    arequipa = EntityFactory(level="local", ubigeo_id="040101")
    published("Papel", entity=arequipa, call=world["day"])
    # A second process of that entity (an entity has one plan a year): a group of two.
    second = published("Tinta", call=world["day"])
    ProcurementProcess.objects.filter(pk=second.pk).update(entity=arequipa, sequence=2)
    groupings = {
        "status": statistics.choice_rows("status", ProcessStatus.choices),
        "procedure_type": statistics.choice_rows("procedure_type", ProcedureType.choices),
        "entity": statistics.entity_rows,
        "sector": statistics.sector_rows,
        "level": statistics.choice_rows("level", GovernmentLevel.choices, "entity__level"),
        "department": statistics.department_rows,
    }
    day = world["day"]
    with translation.override(language):
        for processes, params in (
            (public_processes(), {}),
            (public_processes().filter(published_at__date=day), {"call_from": str(day)}),
        ):
            summed = process_column_rows(processes.order_by(), params)
            assert summed.keys() == groupings.keys()
            for key, rows in groupings.items():
                expected = rows(processes.order_by(), dict(params), with_total=False)
                assert summed[key] == expected, key
            assert sum(row.count for row in summed["level"]) == processes.count()


def test_one_query_per_table_whatever_the_processes_and_no_bid_read(client, world):
    client.force_login(auditor())
    with clock.pinned(world["day"]):
        client.get("/auditoria/")  # sessions, permissions and caches warm

    def queries():
        cache.clear()  # the counts are kept (OVERVIEW_SECONDS): count them again
        with CaptureQueriesContext(connection) as captured, clock.pinned(world["day"]):
            assert client.get("/auditoria/").status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    before = queries()
    for n in range(3):
        published(f"Proceso {n}", entity=EntityFactory(), call=world["day"])
    after = queries()
    assert len(after) == len(before)
    # The current stage, and the six columns of a process or its entity together.
    assert sum("GROUP BY" in sql for sql in after) == 2
    assert not [sql for sql in after if "procurement_bid" in sql]


def test_counts_are_kept_per_period_and_equal_a_fresh_count(client, world):
    """Within OVERVIEW_SECONDS the page shows the counts it made (no grouped query), and they
    are what counting again gives; another period is counted on its own."""
    first = _overview(client, world)
    with CaptureQueriesContext(connection) as captured:
        kept = _overview(client, world)
    assert not [q for q in captured.captured_queries if "GROUP BY" in q["sql"]]
    assert kept == first
    published("Proceso nuevo", entity=EntityFactory(), call=world["day"])
    assert _overview(client, world) == first  # kept: the new process is counted later
    cache.clear()
    fresh = _overview(client, world)
    assert fresh["status"]["convocado"].count == first["status"]["convocado"].count + 1
    day = world["day"].isoformat()
    period = _overview(client, world, call_from=day, call_to=day)
    assert period["status"]["convocado"].count == fresh["status"]["convocado"].count - 1


@pytest.mark.parametrize("field", ["call_from", "call_to"])
def test_hostile_period_values_are_400_on_the_page_and_the_csv(client, field):
    client.force_login(auditor())
    for value in [*HOSTILE["date"], *HOSTILE["text"]]:
        for extra in ({}, {"format": "csv"}):
            response = client.get("/auditoria/", {field: value, **extra})
            assert response.status_code == 400, (field, value[:30], extra)


def test_beat_counts_the_overview_again_before_an_auditor_asks(client, world):
    """warm_audit_overview counts the whole period again in every language: the next page
    reads those counts (no grouped query) and they include what changed since."""
    from procurement.tasks import warm_audit_overview

    first = _overview(client, world)
    published("Proceso nuevo", entity=EntityFactory(), call=world["day"])
    with clock.pinned(world["day"]):
        assert warm_audit_overview() == 2  # Spanish and English
    with CaptureQueriesContext(connection) as captured:
        warmed = _overview(client, world)
    assert not [q for q in captured.captured_queries if "GROUP BY" in q["sql"]]
    assert warmed["status"]["convocado"].count == first["status"]["convocado"].count + 1
    client.cookies["django_language"] = "en"
    with CaptureQueriesContext(connection) as captured, clock.pinned(world["day"]):
        response = client.get("/auditoria/")
    assert response.status_code == 200 and "By status" in response.content.decode()
    assert not [q for q in captured.captured_queries if "GROUP BY" in q["sql"]]
