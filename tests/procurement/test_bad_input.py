"""The security review's reproductions of 500s from bad input, duplicates from double
submission, formula injection in CSV and absurd dates: each must now be refused cleanly."""

import csv
import io
import time
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from core.idempotency import new_token
from core.workdays import WorkingCalendar
from procurement.exports import safe_cell
from procurement.models import PlanItem, ProcurementProcess, Question
from procurement.services import plans
from tests.hostile import HOSTILE
from tests.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.urlwalk  # also on SQLite
def test_a_nul_byte_or_an_out_of_range_value_in_a_url_path_is_a_404(client, world):
    ruc = world.entity.ruc
    for path in [
        "/procesos/%00/",
        "/entidades/%00/",
        "/proveedores/%00/",
        "/planes/%00/2026/",
        f"/procesos/%00/documentos/{world.document.pk}/",
        f"/procesos/{world.process.identifier}/documentos/%00/",
        f"/planes/{ruc}/99999999999999999999/",
        f"/planes/{ruc}/0001/",
        f"/planes/{ruc}/-1/",
        "/gestion/procesos/99999999999999999999/",
        "/admin/core/department/%00/change/",
    ]:
        assert client.get(path).status_code == 404, path


@pytest.mark.urlwalk  # also on SQLite
@pytest.mark.parametrize("value", ["9223372036854775808", "-1e1000", "9" * 26, "1e5"])
@pytest.mark.parametrize("page", ["/procesos/", "/planes/"])
def test_an_out_of_range_year_filter_is_a_form_error_also_in_csv(client, page, value):
    response = client.get(page, {"year": value})
    assert response.status_code == 400
    assert "year" in response.context["filter"].errors
    response = client.get(page, {"year": value, "format": "csv"})
    assert response.status_code == 400
    assert response.content.decode().startswith("year:")


@pytest.mark.urlwalk  # also on SQLite
# A NUL byte is refused before any form (test_a_query_with_a_nul_byte_is_refused).
@pytest.mark.parametrize("value", [v for v in HOSTILE["number"] if "\x00" not in v])
def test_out_of_range_amounts_and_months_are_form_errors(client, world, value):
    response = client.get("/procesos/", {"min_value": value})
    assert response.status_code == 400 and "min_value" in response.context["filter"].errors
    plan = f"/planes/{world.entity.ruc}/{world.version.plan.fiscal_year_id}/"
    response = client.get(plan, {"max_value": value, "month": "13"})
    assert response.status_code == 400
    assert {"max_value", "month"} <= set(response.context["filter"].errors)


def test_a_query_with_a_nul_byte_is_refused(client):
    assert client.get("/procesos/", {"q": "a\x00b"}).status_code == 400
    assert client.get("/admin/core/department/", {"q": "\x00"}).status_code == 400


def test_an_empty_question_is_refused(world):
    """NUL bytes and over-long text on these forms are in tests/test_hostile_forms.py."""
    asker = _client(world.supplier_user)
    questions = Question.objects.count()
    response = asker.post(f"/procesos/{world.process.identifier}/consultas/", {"text": ""})
    assert response.status_code == 302 and Question.objects.count() == questions


def test_a_question_submitted_twice_is_recorded_once(world):
    asker = _client(world.supplier_user)
    base = f"/procesos/{world.process.identifier}/consultas/"
    data = {"text": "¿Se aceptan consorcios?", "kind": "question", "form_token": new_token()}
    before = Question.objects.count()
    assert asker.post(base, data).status_code == 302
    assert asker.post(base, data).status_code == 302
    assert Question.objects.count() == before + 1
    assert asker.post(base, {**data, "form_token": new_token()}).status_code == 302
    assert Question.objects.count() == before + 2  # a new form is a new question
    response = asker.post(base, {**data, "form_token": "not-a-token"})
    assert response.status_code == 302 and Question.objects.count() == before + 2


def test_a_process_outside_the_plan_submitted_twice_is_created_once(world):
    staff = _client(world.staff)
    data = {
        "entity": world.entity.pk,
        "year": world.version.plan.fiscal_year_id,
        "procedure_type": "COMPRE",
        "description": "Mascarillas",
        "delivery_place": "Sede",
        "delivery_department": "15",
        "delivery_district": "Lima",
        "object_type": "goods",
        "catalog_code": "44121701",
        "item_description": "Mascarillas KN95",
        "quantity": "1000",
        "unit": "NIU",
        "estimated_value": "50000",
        "outside_plan_reason": "Emergencia",
        "form_token": new_token(),
    }
    first = staff.post("/gestion/procesos/nuevo/fuera-del-plan/", data)
    second = staff.post("/gestion/procesos/nuevo/fuera-del-plan/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]  # the second is shown the first's result
    assert ProcurementProcess.objects.filter(description="Mascarillas").count() == 1


def test_a_plan_item_added_twice_is_added_once(world):
    staff = _client(world.staff)
    data = {
        "object_type": "goods",
        "catalog_code": "44121701",
        "description": "Lápices",
        "quantity": "10",
        "unit": "NIU",
        "estimated_value": "500.00",
        "procedure_type": "COMPRE",
        "planned_month": "3",
        "form_token": new_token(),
    }
    url = f"/gestion/planes/{world.draft.pk}/items/"
    assert staff.post(url, data).status_code == 302
    assert staff.post(url, data).status_code == 302
    assert PlanItem.objects.filter(version=world.draft, description="Lápices").count() == 1


def test_a_process_whose_items_overflow_its_value_column_is_a_form_error(world):
    big = Decimal("99999999999999.99")
    version, staff = world.draft, world.staff
    for item in version.items.all():
        item.delete()
    for _ in range(2):
        plans.add_item(staff, version, _item(estimated_value=big))
    plans.publish_version(
        staff, version, approval_date=timezone.localdate(), reason="más", sme_justification="x"
    )
    items = list(version.items.values_list("pk", flat=True))
    data = {
        "procedure_type": "LP",
        "description": "Todo",
        "delivery_place": "Sede",
        "delivery_department": "15",
        "delivery_district": "Lima",
        "plan_items": items,
    }
    before = ProcurementProcess.objects.count()
    response = _client(staff).post(f"/gestion/procesos/nuevo/{version.pk}/", data)
    assert response.status_code == 400
    assert "plan_items" in response.context["form"].errors
    assert ProcurementProcess.objects.count() == before


def _item(**overrides):
    from tests.factories import plan_item_data

    return plan_item_data(**overrides)


def test_a_plan_whose_total_overflows_is_refused_at_publication(world):
    version, staff = world.draft, world.staff
    big = Decimal("99999999999999.99")
    PlanItem.objects.bulk_create(
        [
            PlanItem(
                version=version,
                entity=world.entity,
                reference=1000 + n,
                **_item(estimated_value=big),
            )
            for n in range(101)
        ]
    )
    from core.errors import DomainError

    with pytest.raises(DomainError):
        plans.publish_version(
            staff, version, approval_date=timezone.localdate(), reason="x", sme_justification="x"
        )


def test_a_plan_approved_on_0001_01_01_is_refused():
    from core.errors import DomainError
    from tests.factories import draft_plan

    version, staff = draft_plan(items=[{}])
    with pytest.raises(DomainError) as refused:
        plans.publish_version(staff, version, approval_date=date(1, 1, 1), sme_justification="x")
    assert refused.value.field == "approval_date"
    version.refresh_from_db()
    assert version.status == "draft"


def test_a_calendar_with_absurd_dates_is_a_form_error_and_answers_fast(world):
    staff = _client(world.staff)
    process = world.draft_process
    url = f"/gestion/procesos/{process.pk}/calendario/"
    from procurement.calendar_rules import stages_of

    stages = stages_of(process.procedure_type)
    data = {}
    for stage in stages:
        data[f"{stage}_start"] = "0001-01-01"
        data[f"{stage}_end"] = "9999-12-30"
    started = time.monotonic()
    response = staff.post(url, data)
    assert time.monotonic() - started < 5  # was 15-22 s
    assert response.status_code == 400
    errors = response.context["calendar_form"].errors
    assert errors[f"{stages[0]}_end"].as_data()[0].code == "date_out_of_window"


def test_working_days_are_counted_fast_whatever_the_dates():
    cal = WorkingCalendar()
    started = time.monotonic()
    assert cal.working_days_between(date(1, 1, 1), date(9999, 12, 30), limit=30) == 30
    assert cal.working_days_between(date(2026, 1, 1), date(2036, 1, 1)) > 2400
    assert time.monotonic() - started < 1
    # the same count as day by day, across a year end and holidays
    assert cal.working_days_between(date(2025, 12, 24), date(2026, 1, 5)) == 6


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(world, client):
    staff = world.staff
    plans.add_item(staff, world.draft, _item(description='=HYPERLINK("http://x","clic")'))
    plans.add_item(staff, world.draft, _item(description="-2+3", estimated_value=Decimal("7")))
    plans.add_item(staff, world.draft, _item(description="@SUM(A1)\tx"))
    plans.publish_version(
        staff, world.draft, approval_date=timezone.localdate(), reason="x", sme_justification="x"
    )
    url = f"/planes/{world.entity.ruc}/{world.version.plan.fiscal_year_id}/?format=csv"
    content = b"".join(client.get(url).streaming_content).decode().lstrip("\ufeff")
    rows = {row[4]: row for row in csv.reader(io.StringIO(content))}
    assert '\'=HYPERLINK("http://x","clic")' in rows
    assert "'-2+3" in rows and rows["'-2+3"][7] == "7.00"
    assert "'@SUM(A1)\tx" in rows
    assert safe_cell(Decimal("-5.50")) == Decimal("-5.50")  # numbers stay numbers
    assert safe_cell(-3) == -3 and safe_cell("\rx") == "'\rx" and safe_cell("+1") == "'+1"


def test_every_csv_writer_is_the_safe_one():
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    direct = [
        str(path.relative_to(root))
        for app in ("core", "procurement", "suppliers", "notifications", "accounts", "config")
        for path in (root / app).rglob("*.py")
        if "csv.writer(" in path.read_text(encoding="utf-8")
    ]
    assert direct == ["procurement/exports.py"], "write CSV through procurement.exports.csv_writer"


def test_the_calendar_service_itself_refuses_dates_outside_the_window(world):
    """The form bounds the dates, and so does the service behind it (the one place)."""
    from procurement.calendar_rules import stages_of
    from procurement.services import processes
    from tests.domain import raises_domain

    process = world.draft_process
    dates = dict.fromkeys(stages_of(process.procedure_type), (date(1, 1, 1), date(9999, 12, 30)))
    with raises_domain("date_out_of_window", field="calendar"):
        processes.set_calendar(world.staff, process, dates)
    assert not process.stages.filter(start=date(1, 1, 1)).exists()
