"""Deadlines are instants (a date and hour in Lima) judged by one clock, core.clock, which
reads the database server at the moment of the check; tests pin it."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core import clock
from core.workdays import WorkingCalendar
from procurement.models import Participant
from procurement.services import participation, processes
from tests.domain import raises_domain
from tests.factories import (
    SupplierFactory,
    designate_committee_of_two,
    lp_calendar,
    process_from_plan,
    published_plan,
    user_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def called():
    """A called LP whose registration and questions close at 17:30 and bids at 12:00."""
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    process = process_from_plan(staff, version)
    call = WorkingCalendar().next_working_day(timezone.localdate())
    closing = {"registro": time(17, 30), "consultas": time(17, 30), "ofertas": time(12, 0)}
    processes.set_calendar(staff, process, lp_calendar(call), closing_times=closing)
    designate_committee_of_two(staff, process)
    with clock.pinned(call):
        process = processes.publish_call(actor=staff, process=process)
    return process, staff, {s.stage: s for s in process.stages.all()}


def test_a_deadline_closes_at_its_hour_in_lima(called):
    _process, _staff, stages = called
    closes = stages["registro"].closes_at
    local = timezone.localtime(closes)
    assert (local.date(), local.hour, local.minute) == (stages["registro"].end, 17, 30)
    assert str(local.tzinfo) == "America/Lima"
    # A stage without an hour closes at the end of its last day.
    assert timezone.localtime(stages["absolucion"].closes_at).time() == time.max


def test_registration_one_second_late_is_refused(called):
    process, _staff, stages = called
    supplier = SupplierFactory()
    deadline = stages["registro"].closes_at
    with raises_domain("registration_closed"), clock.pinned(deadline + timedelta(seconds=1)):
        participation.register_participant(user_of(supplier), process, supplier)
    with clock.pinned(deadline):
        participant = participation.register_participant(user_of(supplier), process, supplier)
    assert participant.registered_at == deadline


def test_a_question_one_second_late_is_refused(called):
    process, _staff, stages = called
    supplier = SupplierFactory()
    user = user_of(supplier)
    with clock.pinned(stages["convocatoria"].start):
        participation.register_participant(user, process, supplier)
    deadline = stages["consultas"].closes_at
    with raises_domain("questions_closed"), clock.pinned(deadline + timedelta(seconds=1)):
        participation.submit_question(user, process, supplier, "¿Plazo de entrega?")
    with clock.pinned(deadline):
        participation.submit_question(user, process, supplier, "¿Plazo de entrega?")


def test_the_public_page_shows_the_closing_hour(client, called):
    process, _staff, _stages = called
    html = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "17:30" in html and "12:00" in html


def test_the_calendar_form_keeps_the_closing_hours(client, called):
    process, staff, stages = called
    client.force_login(staff)
    html = client.get(f"/gestion/procesos/{process.pk}/").content.decode()
    assert 'type="time" name="registro_closes" value="17:30"' in html
    form = {
        f"{s}_{edge}": value.isoformat()
        for s, row in stages.items()
        for edge, value in (("start", row.start), ("end", row.end))
    }
    form |= {"registro_closes": "17:30", "consultas_closes": "17:30", "ofertas_closes": "13:00"}
    form["reason"] = "Se amplía la hora de presentación de ofertas"
    assert client.post(f"/gestion/procesos/{process.pk}/calendario/", form).status_code == 302
    assert process.stages.get(stage="ofertas").closing_time == time(13, 0)
    amendment = process.amendments.get()
    assert [c["stage"] for c in amendment.changes] == ["ofertas"]


@pytest.mark.django_db(transaction=True)
def test_the_clock_is_the_database_servers_at_the_moment_of_the_check():
    """clock_timestamp() keeps running inside a transaction (now() would not)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with transaction.atomic():
        first = clock.now()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.05)")
        second = clock.now()
    assert second - first >= timedelta(seconds=0.05)
    assert abs(clock.now() - timezone.now()) < timedelta(seconds=5)


def test_pinning_the_clock_is_undone_after_the_block():
    moment = timezone.now() - timedelta(days=400)
    with clock.pinned(moment):
        assert clock.now() == moment
    assert clock.now() - moment > timedelta(days=399)
    assert not Participant.objects.exists()
