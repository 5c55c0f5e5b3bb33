"""A calendar saved on a draft process and an answer drafted by the committee each write their
audit entry, with what changed; unchanged saves and refused actions write none (issue 7,
item 15)."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core import clock
from core.models import AuditEntry
from core.workdays import WorkingCalendar
from procurement.services import participation, processes
from tests.domain import raises_domain
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    last_working_day_until_today,
    lp_calendar,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    staff_of,
    user_of,
)

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n%%EOF\n"


def _head() -> int:
    return AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def _entries_since(start: int):
    return list(AuditEntry.objects.filter(sequence__gt=start).order_by("sequence"))


def _days(pair):
    return [day.isoformat() for day in pair]


@pytest.fixture
def draft():
    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    return process_from_plan(staff, version), staff


def test_the_first_calendar_of_a_draft_records_every_stage(draft):
    process, staff = draft
    dates = lp_calendar(WorkingCalendar().next_working_day(timezone.localdate()))
    start = _head()
    processes.set_calendar(staff, process, dates, closing_times={"ofertas": time(12, 0)})
    [entry] = _entries_since(start)
    assert (entry.action, entry.object_type, entry.object_id, entry.actor_id) == (
        "process.calendar_set",
        "procurement.procurementprocess",
        str(process.pk),
        staff.pk,
    )
    changes = entry.data["changes"]
    assert set(changes) == set(dates)
    assert changes["convocatoria"] == {"before": None, "after": _days(dates["convocatoria"])}
    assert changes["ofertas"]["closing_time"] == {"before": None, "after": "12:00:00"}


def test_a_changed_draft_calendar_records_the_changed_stages_only(draft):
    process, staff = draft
    cal = WorkingCalendar()
    dates = lp_calendar(cal.next_working_day(timezone.localdate()))
    processes.set_calendar(staff, process, dates, closing_times={"registro": time(17, 30)})
    later = dict(dates)
    contract = dates["contrato"]
    later["contrato"] = (contract[0], cal.add_working_days(contract[1], 2))
    start = _head()
    processes.set_calendar(staff, process, later, closing_times={"registro": time(16, 0)})
    [entry] = _entries_since(start)
    assert entry.action == "process.calendar_set"
    assert entry.data == {
        "changes": {
            "registro": {
                "before": _days(dates["registro"]),
                "after": _days(dates["registro"]),
                "closing_time": {"before": "17:30:00", "after": "16:00:00"},
            },
            "contrato": {"before": _days(contract), "after": _days(later["contrato"])},
        }
    }


def test_an_unchanged_or_refused_draft_calendar_writes_nothing(draft):
    process, staff = draft
    dates = lp_calendar(WorkingCalendar().next_working_day(timezone.localdate()))
    processes.set_calendar(staff, process, dates)
    start = _head()
    processes.set_calendar(staff, process, dates)
    broken = dict(dates)
    broken["ofertas"] = (dates["ofertas"][0], dates["ofertas"][0])
    with raises_domain("calendar_invalid"):
        processes.set_calendar(staff, process, broken)
    with pytest.raises(PermissionDenied):
        processes.set_calendar(staff_of(EntityFactory()), process, dates)
    assert _entries_since(start) == []


@pytest.fixture
def question(draft):
    process, staff = draft
    process = publish_with_lp_calendar(staff, process, call=last_working_day_until_today())
    stages = {s.stage: s for s in process.stages.all()}
    supplier = SupplierFactory()
    user = user_of(supplier)
    with clock.pinned(stages["consultas"].start):
        participation.register_participant(user, process, supplier)
        asked = participation.submit_question(user, process, supplier, "¿Entrega parcial?")
    return asked, staff, stages


def test_drafting_and_changing_an_answer_records_its_text(question):
    asked, staff, _stages = question
    start = _head()
    participation.answer_question(staff, asked, "Sí.")
    participation.answer_question(staff, asked, "Sí, en dos entregas.")
    drafted, changed = _entries_since(start)
    assert (drafted.action, drafted.object_type, drafted.object_id, drafted.actor_id) == (
        "process.answer_drafted",
        "procurement.question",
        str(asked.pk),
        staff.pk,
    )
    identifier = asked.process.identifier
    assert drafted.data == {
        "identifier": identifier,
        "question": asked.pk,
        "before": None,
        "after": "Sí.",
    }
    assert changed.data == {
        "identifier": identifier,
        "question": asked.pk,
        "before": "Sí.",
        "after": "Sí, en dos entregas.",
    }


def test_an_unchanged_or_refused_answer_writes_nothing(question):
    asked, staff, stages = question
    participation.answer_question(staff, asked, "Sí.")
    start = _head()
    participation.answer_question(staff, asked, "  Sí.  ")
    with raises_domain("answer_required"):
        participation.answer_question(staff, asked, "   ")
    with pytest.raises(PermissionDenied):
        participation.answer_question(staff_of(EntityFactory()), asked, "Otra")
    assert _entries_since(start) == []
    with clock.pinned(stages["consultas"].end + timedelta(days=1)):
        participation.publish_answers(
            staff, asked.process, upload=SimpleUploadedFile("absolucion.pdf", PDF)
        )
    start = _head()
    with raises_domain("answers_published"):
        participation.answer_question(staff, asked, "Cambio tardío")
    assert _entries_since(start) == []
    asked.refresh_from_db()
    assert asked.answer == "Sí."
