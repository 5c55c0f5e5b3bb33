"""Stuck processes and overdue appeals (procurement.stuck, /auditoria/atascados/): the day
after a stage's last day without a status change, ranked by working days late with weekends
and holidays skipped; a later status change restarts the count; appeals past their legal
term; the filters, keyset pages, CSV and who may see them."""

import csv
import importlib
import io
from datetime import date, time, timedelta
from decimal import Decimal

import holidays
import pytest

from core import clock
from core.workdays import WorkingCalendar
from procurement import stuck
from procurement.models import ProcessStage, ProcessStatus, ProcurementProcess, StatusChange
from procurement.services import appeals, processes
from tests.core.test_accessibility import audit as accessibility_audit
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    UserFactory,
    admin_user,
    auditor,
    lp_calendar,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    staff_of,
    user_of,
)
from tests.procurement.evaluating import awarded_tender
from tests.procurement.searching import published
from tests.procurement.status_history import assert_due_stored

pytestmark = pytest.mark.django_db


def _friday_before_a_monday_holiday() -> date:
    """A Friday followed by a weekend and a Monday national holiday (San Pedro y San Pablo,
    29 June 2026, is one; searched so the test does not hang on one year's calendar)."""
    for year in range(2026, 2040):
        for day in sorted(holidays.country_holidays("PE", years=year)):
            if day.weekday() == 0 and day - timedelta(days=3) not in holidays.country_holidays(
                "PE", years=year
            ):
                return day - timedelta(days=3)
    raise AssertionError("no Monday holiday found")


FRIDAY = _friday_before_a_monday_holiday()
HOLIDAY = FRIDAY + timedelta(days=3)
TUESDAY = FRIDAY + timedelta(days=4)


def _called_with_award_stage_ending(day: date, description="Computadoras", **kwargs):
    """A called LP (published 30 working days before `day`) whose award stage ends on `day`."""
    call = WorkingCalendar().next_working_day(day - timedelta(days=60))
    process = published(description, call=call, **kwargs)
    ProcessStage.objects.filter(process=process, stage="buena_pro").update(start=day, end=day)
    stuck.refresh_due()  # written past the services: the stored rule is written again
    return process


def _listed(today):
    rows = stuck.stuck_rows(stuck.stuck_processes(today), today, WorkingCalendar())
    return {row.process.identifier: row.days_late for row in rows}


def test_a_stage_ended_on_the_friday_before_a_monday_holiday_is_0_then_1_day_late():
    assert not WorkingCalendar().is_working_day(HOLIDAY)  # the premise
    process = _called_with_award_stage_ending(FRIDAY)
    assert process.status == ProcessStatus.CALLED
    assert _listed(FRIDAY) == {}  # its last day: on time
    assert _listed(FRIDAY + timedelta(days=1)) == {process.identifier: 0}  # Saturday
    assert _listed(HOLIDAY) == {process.identifier: 0}
    assert _listed(TUESDAY) == {process.identifier: 1}
    assert _listed(TUESDAY + timedelta(days=7)) == {process.identifier: 6}


def test_worst_first_and_only_the_stage_the_status_owes():
    old = _called_with_award_stage_ending(FRIDAY - timedelta(days=14), "Sillas")
    recent = _called_with_award_stage_ending(FRIDAY, "Mesas")
    on_time = _called_with_award_stage_ending(TUESDAY, "Lapices")
    # An awarded process owes the end of its standstill, not of its award stage.
    awarded = _called_with_award_stage_ending(FRIDAY - timedelta(days=21), "Papel")
    ProcurementProcess.objects.filter(pk=awarded.pk).update(status=ProcessStatus.AWARDED)
    ProcessStage.objects.filter(process=awarded, stage="consentimiento").update(
        start=TUESDAY, end=TUESDAY + timedelta(days=7)
    )
    # A cancelled one is not running.
    cancelled = _called_with_award_stage_ending(FRIDAY - timedelta(days=21), "Cajas")
    ProcurementProcess.objects.filter(pk=cancelled.pk).update(status=ProcessStatus.CANCELLED)
    stuck.refresh_due()
    assert_due_stored()
    listed = _listed(TUESDAY)
    assert list(listed) == [old.identifier, recent.identifier]
    assert listed[old.identifier] == 11  # two weeks of 5 working days, then Tuesday
    assert on_time.identifier not in listed and awarded.identifier not in listed


def test_a_status_change_after_the_stage_restarts_the_count():
    process = _called_with_award_stage_ending(FRIDAY - timedelta(days=14))
    StatusChange.objects.create(
        process=process,
        action="reevaluate",
        from_status=ProcessStatus.SUSPENDED,
        to_status=ProcessStatus.CALLED,
        reason="Apelación fundada",
        at=clock.local(FRIDAY),
    )
    assert _listed(FRIDAY) == {}
    assert _listed(TUESDAY) == {process.identifier: 1}


def test_the_stored_day_follows_each_status_change_and_calendar_amendment():
    """stage_due_on (the list's index) is the rule after every service that moves it: the
    call, an amendment of the calendar, a suspension, a resumption after the stage ended."""
    calendar = WorkingCalendar()
    call = calendar.next_working_day(FRIDAY - timedelta(days=70))
    version, staff = published_plan(items=[{"description": "Bien", "estimated_value": "450000"}])
    with clock.pinned(call):
        process = process_from_plan(staff, version, description="Escritorios")
        process = publish_with_lp_calendar(staff, process, call=call)
    dates = lp_calendar(call)
    award = dates["buena_pro"][1]
    assert process.stage_due_on == award == assert_due_stored()[process.pk]
    # An amendment moves the award stage two working days later (and what follows).
    add = calendar.add_working_days
    moved = add(award, 2)
    dates["buena_pro"] = (moved, moved)
    dates["consentimiento"] = (add(moved, 1), add(moved, 8))
    dates["contrato"] = (add(moved, 9), add(moved, 11))
    stale = ProcurementProcess.objects.get(pk=process.pk)  # read before the amendment
    with clock.pinned(call):
        amended = processes.set_calendar(staff, process, dates, reason="Más postores")
    assert amended.stage_due_on == moved == assert_due_stored()[process.pk]
    stale.save()  # saving what was read before keeps the day the amendment wrote
    assert assert_due_stored()[process.pk] == moved
    assert _listed(moved) == {}
    assert _listed(add(moved, 1)) == {process.identifier: 1}
    # Suspended for an appeal: it owes nothing (its appeal is on the list instead).
    with clock.pinned(clock.local(add(moved, 1))):
        process = processes.suspend_for_appeal(actor=staff, process=process, reason="Apelación")
    assert process.stage_due_on is None and assert_due_stored()[process.pk] is None
    assert _listed(add(moved, 5)) == {}
    # Resumed after its award stage ended: late from the day after the resumption.
    resumed = add(moved, 3)
    with clock.pinned(clock.local(resumed, time(10, 0))):
        process = processes.resume(actor=staff, process=process, reason="Infundada")
    assert process.stage_due_on == resumed == assert_due_stored()[process.pk]
    assert _listed(resumed) == {}
    assert _listed(add(resumed, 2)) == {process.identifier: 2}


def test_one_process_s_day_is_written_and_read_in_one_statement():
    """refresh_due_of, run on every status change, writes the day and returns it with one
    statement; a process whose status owes nothing gets None, and a value it held is
    cleared."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    process = _called_with_award_stage_ending(FRIDAY)
    ProcurementProcess.objects.filter(pk=process.pk).update(stage_due_on=None)
    with CaptureQueriesContext(connection) as queries:
        due = stuck.refresh_due_of(process.pk)
    assert len(queries.captured_queries) == 1
    assert due == FRIDAY == ProcurementProcess.objects.get(pk=process.pk).stage_due_on
    ProcurementProcess.objects.filter(pk=process.pk).update(status=ProcessStatus.CANCELLED)
    assert stuck.refresh_due_of(process.pk) is None
    assert ProcurementProcess.objects.get(pk=process.pk).stage_due_on is None
    assert stuck.refresh_due_of(process.pk) is None  # owes nothing, holds nothing: no row
    assert_due_stored()


def test_migration_0029_fills_the_rows_there_are_by_the_same_rule():
    """The migration's copy of the rule (written out so it does not change with the code)
    fills existing processes of every status as refresh_due would."""
    from django.apps import apps

    migration = importlib.import_module("procurement.migrations.0031_process_stage_due_on")
    processes = {
        status: _called_with_award_stage_ending(FRIDAY - timedelta(days=n), f"P{n}")
        for n, status in enumerate(
            ["convocado", "adjudicado", "consentido", "suspendido", "desierto", "contratado"]
        )
    }
    for status, process in processes.items():
        ProcurementProcess.objects.filter(pk=process.pk).update(status=status)
    StatusChange.objects.create(  # a later change restarts the count of the called one
        process=processes["convocado"],
        action="reevaluate",
        from_status=ProcessStatus.SUSPENDED,
        to_status=ProcessStatus.CALLED,
        at=clock.local(TUESDAY),
    )
    ProcurementProcess.objects.update(stage_due_on=None)
    migration.fill(apps, None)
    due = assert_due_stored()
    assert due[processes["convocado"].pk] == TUESDAY
    assert {status for status, p in processes.items() if due[p.pk] is not None} == {
        "convocado",
        "adjudicado",
        "consentido",
    }


def test_appeals_past_their_legal_term():
    tender, award, people = awarded_tender(bidders=2)
    loser, loser_user = people[1]
    # Awarded: it owes its consent by the end of the standstill.
    standstill = tender.process.stages.get(stage="consentimiento").end
    assert assert_due_stored()[tender.process.pk] == standstill
    with clock.pinned(clock.local(award.standstill_ends)):
        appeal = appeals.file_appeal(
            actor=loser_user,
            process=tender.process,
            supplier=loser,
            award=award,
            subject="buena_pro",
            entry=None,
            reasons="La oferta ganadora no acredita la experiencia.",
            fee_amount=Decimal("1500"),
        )
    calendar = WorkingCalendar()
    due = appeal.due_on
    assert not stuck.overdue_appeals(due).exists()  # its last day: on time
    after = calendar.add_working_days(due, 2)
    late = stuck.count_late(stuck.overdue_appeals(after), after, calendar, "due_on")
    assert [(a.pk, a.days_late) for a in late] == [(appeal.pk, 2)]
    with clock.pinned(after):
        assert appeal.is_overdue  # the appeal page's rule agrees
    assert assert_due_stored()[tender.process.pk] is None  # suspended: the appeal is listed
    # The suspended process itself is not listed as stuck: its appeal is.
    assert tender.process.identifier not in _listed(after)


def _page(client, **params):
    client.force_login(auditor())
    with clock.pinned(TUESDAY):
        return client.get("/auditoria/atascados/", params)


def test_the_page_filters_pages_and_exports(client):
    cusco = EntityFactory(acronym="DIRESACUSCO", level="regional", ubigeo_id="080101")
    lima = [_called_with_award_stage_ending(FRIDAY - timedelta(days=n), f"P{n}") for n in (1, 2, 3)]
    far = _called_with_award_stage_ending(FRIDAY - timedelta(days=7), "Cusco", entity=cusco)
    page = _page(client)
    assert page.status_code == 200
    shown = [row.process.identifier for row in page.context["page"]]
    assert shown == [far.identifier, lima[2].identifier, lima[1].identifier, lima[0].identifier]
    assert _page(client, entity="DIRESACUSCO").context["page"].object_list[0].process == far
    assert [r.process for r in _page(client, department="08").context["page"]] == [far]
    assert len(_page(client, department="15").context["page"]) == 3
    assert len(_page(client, stage="consentimiento").context["page"]) == 0
    assert len(_page(client, procedure_type="AS").context["page"]) == 0
    # Keyset pages: the second page follows the first without repeating it.
    from procurement.views import audit

    size = audit.STUCK_PAGE_SIZE
    audit.STUCK_PAGE_SIZE = 3
    try:
        first = _page(client)
        second = _page(client, cursor=first.context["page"].next_cursor)
    finally:
        audit.STUCK_PAGE_SIZE = size
    assert [r.process for r in second.context["page"]] == [lima[0]]
    assert _page(client, cursor="no-es-un-cursor").status_code == 400
    assert _page(client, department="99x").status_code == 400
    exported = _page(client, format="csv")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.getvalue().decode("utf-8-sig"))))
    assert rows[0][:3] == ["tipo", "proceso", "entidad_ruc"]
    assert [r[1] for r in rows[1:]] == shown
    assert rows[1][-2] == "6" and rows[1][0] == "etapa"


def test_the_overview_shows_the_worst_with_a_link(client):
    process = _called_with_award_stage_ending(FRIDAY)
    client.force_login(auditor())
    with clock.pinned(TUESDAY):
        page = client.get("/auditoria/")
    assert page.status_code == 200
    assert [r.process for r in page.context["stuck"]] == [process]
    assert b'href="/auditoria/atascados/"' in page.content
    with clock.pinned(TUESDAY):
        accessibility_audit(client, "/auditoria/")
        accessibility_audit(client, "/auditoria/atascados/")
    # The overview's worst and the full list are both live (a range of the index each).
    later = _called_with_award_stage_ending(FRIDAY - timedelta(days=7), "Sillas")
    with clock.pinned(TUESDAY):
        summary = client.get("/auditoria/").context["stuck"]
        assert [(r.process, r.days_late) for r in summary] == [(later, 6), (process, 1)]
        live = client.get("/auditoria/atascados/").context["page"]
        assert [r.process for r in live] == [later, process]


def test_only_auditors_and_admins(client):
    process = _called_with_award_stage_ending(FRIDAY)
    assert client.get("/auditoria/atascados/").status_code == 302
    supplier_user = user_of(SupplierFactory())
    for user in (UserFactory(), supplier_user, staff_of(process.entity)):
        client.force_login(user)
        assert client.get("/auditoria/atascados/").status_code == 403
        assert client.get("/auditoria/atascados/", {"format": "csv"}).status_code == 403
    client.force_login(admin_user())
    assert client.get("/auditoria/atascados/").status_code == 200
