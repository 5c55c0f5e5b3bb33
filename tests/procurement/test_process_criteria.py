"""Evaluation criteria and lots: set before the call under the rule of the procedure type,
needed for the call, amended after it only with a reason and before the bid deadline, as a
public and immutable record."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core import clock
from core.models import AuditEntry
from core.workdays import WorkingCalendar
from notifications.models import Event
from procurement.models import CriteriaAmendment, EvaluationCriterion
from procurement.services import processes
from procurement.services.criteria import (
    Criterion,
    amend_criteria,
    criteria_problem,
    criteria_refusal,
    set_criteria,
)
from tests.domain import raises_domain
from tests.factories import (
    EntityFactory,
    designate_committee_of_two,
    lp_calendar,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    staff_of,
)

pytestmark = pytest.mark.django_db

D = Decimal


def table(*rows):
    return [Criterion(kind, name, D(weight)) for kind, name, weight in rows]


GOOD = table(("technical", "Plazo de entrega", "35.5"), ("economic", "Precio", "64.5"))


@pytest.fixture
def draft():
    version, staff = published_plan(
        items=[
            {"description": "Servidores", "estimated_value": D("300000")},
            {"description": "Switches", "estimated_value": D("150000")},
        ]
    )
    return process_from_plan(staff, version), staff


@pytest.fixture
def called(draft):
    process, staff = draft
    designate_committee_of_two(staff, process)
    set_criteria(actor=staff, process=process, award_by_items=False, criteria=GOOD)
    return publish_with_lp_calendar(staff, process), staff


def test_a_valid_table_is_set_with_its_lots_and_audited(draft):
    process, staff = draft
    set_criteria(actor=staff, process=process, award_by_items=True, criteria=GOOD)
    process.refresh_from_db()
    assert process.award_by_items is True
    rows = list(process.criteria.values_list("position", "kind", "name", "weight"))
    assert rows == [
        (1, "technical", "Plazo de entrega", D("35.50")),
        (2, "economic", "Precio", D("64.50")),
    ]
    assert criteria_refusal(process) is None
    entry = AuditEntry.objects.get(action="process.criteria_set")
    assert entry.data["after"]["award_by_items"] is True
    assert entry.data["before"] == {"award_by_items": False, "criteria": []}


@pytest.mark.parametrize(
    ("rows", "code"),
    [
        ((("technical", "Plazo", "40"), ("economic", "Precio", "50")), "weights_total"),
        ((("technical", "Plazo", "40"), ("economic", "Precio", "60.01")), "weights_total"),
        ((("technical", "Plazo", "40"), ("technical", "Garantía", "60")), "no_economic"),
        ((("technical", "Plazo", "0"), ("economic", "Precio", "100")), "weight_not_positive"),
        ((("technical", "Plazo", "-10"), ("economic", "Precio", "110")), "weight_not_positive"),
        ((("economic", "Precio", "50"), ("economic", " precio ", "50")), "name_repeated"),
        ((("economic", "", "100"),), "name_required"),
        ((("social", "Otro", "20"), ("economic", "Precio", "80")), "kind_invalid"),
        ((), "no_criteria"),
    ],
)
def test_a_table_against_the_rule_is_refused_and_nothing_is_written(draft, rows, code):
    process, staff = draft
    with raises_domain(code):
        set_criteria(actor=staff, process=process, award_by_items=False, criteria=table(*rows))
    assert not EvaluationCriterion.objects.filter(process=process).exists()
    assert not AuditEntry.objects.filter(action="process.criteria_set").exists()


@pytest.mark.parametrize(
    ("procedure_type", "rows", "code"),
    [
        ("COMPRE", (("economic", "Precio", "100"),), None),
        (
            "COMPRE",
            (("technical", "Plazo", "20"), ("economic", "Precio", "80")),
            "lowest_price_only",
        ),
        ("SIE", (("economic", "Precio", "100"),), None),
        ("SIE", (("economic", "Precio", "60"), ("economic", "Flete", "40")), "lowest_price_only"),
        ("CD", (), None),
        ("CD", (("economic", "Precio", "100"),), "no_evaluation"),
        ("AS", (("technical", "Plazo", "20"), ("economic", "Precio", "80")), None),
        ("SCI", (("technical", "Experiencia", "80"), ("economic", "Precio", "20")), None),
        ("LP", (("economic", "Precio", "100"),), None),
        ("LP", (), "no_criteria"),
    ],
)
def test_the_rule_by_procedure_type(procedure_type, rows, code):
    problem = criteria_problem(procedure_type, table(*rows))
    assert (problem.code if problem else None) == code


def test_by_items_needs_two_items(draft):
    process, staff = draft
    process.items.exclude(pk=process.items.first().pk).delete()
    with raises_domain("lots_need_items", field="award_by_items"):
        set_criteria(actor=staff, process=process, award_by_items=True, criteria=GOOD)


def test_the_call_is_refused_without_criteria_and_accepted_with_them(draft):
    process, staff = draft
    designate_committee_of_two(staff, process)
    EvaluationCriterion.objects.filter(process=process).delete()  # the helper's defaults
    call = WorkingCalendar().next_working_day(timezone.localdate())
    processes.set_calendar(staff, process, lp_calendar(call))
    with clock.pinned(call), raises_domain("criteria_missing", field="criteria"):
        processes.publish_call(actor=staff, process=process)
    process.refresh_from_db()
    assert process.status == "draft"
    set_criteria(actor=staff, process=process, award_by_items=False, criteria=GOOD)
    with clock.pinned(call):
        assert processes.publish_call(actor=staff, process=process).status == "convocado"


def test_after_the_call_criteria_are_not_simply_set(called):
    process, staff = called
    with raises_domain("after_call"):
        set_criteria(
            actor=staff,
            process=process,
            award_by_items=False,
            criteria=table(("economic", "Precio", "100")),
        )
    assert list(process.criteria.values_list("weight", flat=True)) == [D("35.50"), D("64.50")]


def test_an_amendment_needs_a_reason_and_leaves_a_public_record(called):
    process, staff = called
    new = table(("technical", "Plazo de entrega", "20"), ("economic", "Precio", "80"))
    with raises_domain("reason_required", field="reason"):
        amend_criteria(actor=staff, process=process, award_by_items=True, criteria=new, reason=" ")
    assert not CriteriaAmendment.objects.exists()
    with raises_domain("no_change"):
        amend_criteria(
            actor=staff, process=process, award_by_items=False, criteria=GOOD, reason="Nada"
        )
    amendment = amend_criteria(
        actor=staff,
        process=process,
        award_by_items=True,
        criteria=new,
        reason="Observación acogida: el plazo pesaba demasiado",
    )
    process.refresh_from_db()
    assert process.award_by_items is True
    assert list(process.criteria.values_list("weight", flat=True)) == [D("20"), D("80")]
    assert amendment.before == {
        "award_by_items": False,
        "criteria": [
            {"kind": "technical", "name": "Plazo de entrega", "weight": "35.50"},
            {"kind": "economic", "name": "Precio", "weight": "64.50"},
        ],
    }
    assert amendment.after["award_by_items"] is True
    assert amendment.actor == staff and amendment.reason.startswith("Observación")
    entry = AuditEntry.objects.get(action="process.criteria_amended")
    assert entry.data["reason"] == amendment.reason
    event = Event.objects.get(kind="process.criteria_amended")
    assert event.audience == "public" and event.process_id == process.pk
    assert event.payload["after"]["criteria"][1]["weight"] == "80.00"


def test_an_amendment_record_is_immutable(called):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    process, staff = called
    amendment = amend_criteria(
        actor=staff,
        process=process,
        award_by_items=False,
        criteria=table(("technical", "Plazo", "10"), ("economic", "Precio", "90")),
        reason="Ajuste",
    )
    for sql in (
        "UPDATE procurement_criteriaamendment SET reason = 'x' WHERE id = %s",
        "DELETE FROM procurement_criteriaamendment WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [amendment.pk])
    amendment.refresh_from_db()
    assert amendment.reason == "Ajuste"


def test_an_amendment_is_refused_once_the_bid_deadline_has_passed(called):
    process, staff = called
    deadline = process.stages.get(stage="ofertas").closes_at
    new = table(("economic", "Precio", "100"))
    with clock.pinned(deadline + timedelta(seconds=1)), raises_domain("bids_closed"):
        amend_criteria(
            actor=staff, process=process, award_by_items=False, criteria=new, reason="Tarde"
        )
    assert not CriteriaAmendment.objects.exists()
    assert process.criteria.count() == 2
    with clock.pinned(deadline - timedelta(seconds=1)):
        amend_criteria(
            actor=staff, process=process, award_by_items=False, criteria=new, reason="A tiempo"
        )
    assert CriteriaAmendment.objects.count() == 1


def test_another_entitys_staff_cannot_set_criteria(draft):
    process, _staff = draft
    with pytest.raises(PermissionDenied):
        set_criteria(
            actor=staff_of(EntityFactory()), process=process, award_by_items=False, criteria=GOOD
        )
    assert not process.criteria.exists()


def test_another_entitys_staff_cannot_amend_criteria(called):
    process, _staff = called
    with pytest.raises(PermissionDenied):
        amend_criteria(
            actor=staff_of(EntityFactory()),
            process=process,
            award_by_items=True,
            criteria=table(("economic", "Precio", "100")),
            reason="Intruso",
        )
    assert not CriteriaAmendment.objects.exists()
    assert process.criteria.count() == 2


def test_the_public_page_shows_lots_criteria_and_amendments(called, client):
    process, staff = called
    page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "Convocado por paquete" in page
    assert "Plazo de entrega" in page and "35,50" in page and "64,50" in page
    assert "Modificaciones de los factores" not in page
    amend_criteria(
        actor=staff,
        process=process,
        award_by_items=True,
        criteria=table(("technical", "Plazo de entrega", "25"), ("economic", "Precio", "75")),
        reason="Se acoge la observación del participante",
    )
    page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "Convocado por ítems" in page
    assert "Modificaciones de los factores" in page
    assert "Se acoge la observación del participante" in page
    assert "75,00" in page


def _rows(*rows, award="whole", reason=None):
    data = {
        "award": award,
        "criteria-TOTAL_FORMS": str(len(rows)),
        "criteria-INITIAL_FORMS": "0",
    }
    for index, (kind, name, weight) in enumerate(rows):
        data |= {
            f"criteria-{index}-kind": kind,
            f"criteria-{index}-name": name,
            f"criteria-{index}-weight": weight,
        }
    if reason is not None:
        data["reason"] = reason
    return data


def test_the_staff_page_sets_and_then_amends_with_a_reason(draft, client):
    process, staff = draft
    url = f"/gestion/procesos/{process.pk}/criterios/"
    client.force_login(staff)
    assert client.get(url).status_code == 200
    assert f'href="{url}"' in client.get(f"/gestion/procesos/{process.pk}/").content.decode()
    response = client.post(url, _rows(("technical", "Plazo", "30"), ("economic", "Precio", "60")))
    assert (
        response.status_code == 400 and "deben sumar exactamente 100" in response.content.decode()
    )
    response = client.post(url, _rows(("technical", "Plazo", "30"), ("", "", "")))
    assert response.status_code == 400 and "factor económico" in response.content.decode()
    response = client.post(url, _rows(("technical", "Plazo", "30"), ("economic", "", "70")))
    assert response.status_code == 400 and "deje la fila vacía" in response.content.decode()
    assert not process.criteria.exists()
    good = _rows(("technical", "Plazo", "30"), ("economic", "Precio", "70"), ("", "", ""))
    assert client.post(url, good).status_code == 302
    assert process.criteria.count() == 2

    designate_committee_of_two(staff, process)
    process = publish_with_lp_calendar(staff, process)
    page = client.get(url).content.decode()
    assert 'name="reason"' in page
    changed = _rows(("technical", "Plazo", "10"), ("economic", "Precio", "90"), award="items")
    response = client.post(url, changed)
    assert response.status_code == 400 and not CriteriaAmendment.objects.exists()
    response = client.post(url, {**changed, "reason": "Observación acogida"})
    assert response.status_code == 302
    assert CriteriaAmendment.objects.get().reason == "Observación acogida"
    with clock.pinned(process.stages.get(stage="ofertas").closes_at + timedelta(seconds=1)):
        page = client.get(url).content.decode()
        assert 'data-code="bids_closed"' in page and 'name="reason"' not in page
        response = client.post(url, {**changed, "reason": "Tarde"})
        assert response.status_code == 400


def test_the_staff_page_is_refused_to_another_entitys_staff(draft, client):
    process, _staff = draft
    client.force_login(staff_of(EntityFactory()))
    url = f"/gestion/procesos/{process.pk}/criterios/"
    assert client.get(url).status_code in (403, 404)
    response = client.post(url, _rows(("economic", "Precio", "100")))
    assert response.status_code in (403, 404)
    assert not process.criteria.exists()
