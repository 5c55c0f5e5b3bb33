"""Selection processes: procedure thresholds, creation from the plan, calendar minimums and
the state machine."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core.errors import DomainError
from core.models import AuditEntry, District
from core.workdays import WorkingCalendar
from notifications.models import Event
from procurement.calendar_rules import calendar_problems
from procurement.models import ProcessStatus, StatusChange
from procurement.services import processes
from procurement.services.processes import check_procedure_type
from procurement.state_machine import TRANSITIONS, allowed_actions
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    auditor,
    lp_calendar,
    published_plan,
    staff_of,
    user_of,
)

pytestmark = pytest.mark.django_db
D = Decimal
CAL = WorkingCalendar()


# --- procedure type against the year's thresholds ----------------------------------------------


@pytest.mark.parametrize(
    ("object_type", "value", "procedure"),
    [("goods", "400000", "LP"), ("goods", "399999.99", "AS"), ("works", "1800000", "LP"), ("services", "500000", "CP"),
     ("goods", "60000", "COMPRE"), ("goods", "50000", "CD")],
)  # fmt: skip
def test_procedure_types_within_their_band_are_accepted(object_type, value, procedure):
    check_procedure_type(
        2026, object_type, D(value), procedure, "emergency" if procedure == "CD" else ""
    )


def test_direct_contracting_needs_a_legal_cause_and_the_8_uit_floor():
    with pytest.raises(DomainError, match="causal"):
        check_procedure_type(2026, "goods", D("50000"), "CD")
    with pytest.raises(DomainError):
        check_procedure_type(2026, "goods", D("5000"), "CD", "emergency")
    with pytest.raises(DomainError):
        check_procedure_type(2026, "goods", D("450000"), "LP", "emergency")


def test_a_wrong_procedure_type_says_which_applies_and_why():
    with pytest.raises(DomainError) as error:
        check_procedure_type(2026, "goods", D("500000"), "AS")
    message = error.value.message
    assert "Adjudicación Simplificada" in message or "Simplified award" in message
    assert "Licitación Pública" in message and "S/\xa0400\xa0000,00" in message
    assert error.value.code == "procedure_type_out_of_band"


def test_below_eight_uit_no_procedure_applies():
    with pytest.raises(DomainError) as error:
        check_procedure_type(2026, "goods", D("30000"), "AS")
    assert error.value.code == "no_procedure_applies"
    assert "S/\xa044\xa0000,00" in error.value.message  # 8 UIT of 2026, as a figure


def test_thresholds_in_uit_follow_the_years_uit():
    """Editing a year's UIT (in the admin) moves every bound written in UIT."""
    from core.models import FiscalYear

    check_procedure_type(2026, "goods", D("46000"), "AS")  # above 8 x 5,500
    FiscalYear.objects.filter(pk=2026).update(uit=D("6000"))
    with pytest.raises(DomainError) as error:
        check_procedure_type(2026, "goods", D("46000"), "AS")  # now below 8 x 6,000
    assert error.value.code == "no_procedure_applies"
    assert "S/\xa048\xa0000,00" in error.value.message


# --- creation -----------------------------------------------------------------------------------


@pytest.fixture
def plan():
    version, staff = published_plan(
        items=[
            {"description": "Papel", "estimated_value": D("60000"), "sme_reserved": True},
            {"description": "Tóner", "estimated_value": D("30000"), "sme_reserved": True},
            {
                "description": "Servidores",
                "catalog_item": "43211503",
                "estimated_value": D("450000"),
            },
        ]
    )
    return version, staff


def _create(staff, version, descriptions, procedure, **extra):
    ids = [i.pk for i in version.items.filter(description__in=descriptions)]
    return processes.create_process(
        staff, version.plan.entity, year=2026, procedure_type=procedure, description="Compra",
        delivery_place="Almacén central", delivery_ubigeo=District(code="150101"), plan_item_ids=ids, **extra,
    )  # fmt: skip


def test_process_from_reserved_plan_items_is_sme_only_with_seace_identifier(plan):
    version, staff = plan
    process = _create(staff, version, ["Papel", "Tóner"], "AS")
    entity = version.plan.entity
    assert process.identifier == f"AS-SM-1-2026-{entity.acronym}-1"
    assert process.sme_only and process.estimated_value == D("90000")
    assert process.status == ProcessStatus.DRAFT
    second = _create(staff, version, ["Servidores"], "LP")
    assert second.identifier == f"LP-SM-1-2026-{entity.acronym}-1" and not second.sme_only


def test_plan_items_cannot_be_mixed_or_used_twice(plan):
    version, staff = plan
    with pytest.raises(DomainError, match="MYPE"):
        _create(staff, version, ["Papel", "Servidores"], "LP")
    _create(staff, version, ["Papel"], "COMPRE")
    with pytest.raises(DomainError, match="ya están en el proceso"):
        _create(staff, version, ["Papel", "Tóner"], "AS")


def test_outside_the_plan_needs_a_reason(plan):
    version, staff = plan
    from core.models import CatalogItem

    item = {"object_type": "goods", "catalog_item": CatalogItem.objects.get(code="44121701"), "description": "Lapiceros",
            "quantity": D("10"), "unit": "caja", "estimated_value": D("50000")}  # fmt: skip
    kwargs = {"year": 2026, "procedure_type": "COMPRE", "description": "Lapiceros", "delivery_place": "Sede",
              "delivery_ubigeo": District(code="150101"), "items": [item]}  # fmt: skip
    with pytest.raises(DomainError):
        processes.create_process(staff, version.plan.entity, **kwargs)
    process = processes.create_process(
        staff, version.plan.entity, outside_plan_reason="Emergencia sanitaria", **kwargs
    )
    assert process.outside_plan_reason == "Emergencia sanitaria"


def test_wrong_procedure_type_is_refused_on_creation(plan):
    version, staff = plan
    with pytest.raises(DomainError, match="Licitación Pública"):
        _create(staff, version, ["Servidores"], "AS")


@pytest.mark.parametrize("who", ["other_staff", "supplier", "auditor"])
def test_only_the_entitys_staff_creates_and_moves_processes(plan, who):
    version, staff = plan
    process = _create(staff, version, ["Servidores"], "LP")
    intruder = {"other_staff": lambda: staff_of(EntityFactory()), "supplier": lambda: user_of(SupplierFactory()),
                "auditor": auditor}[who]()  # fmt: skip
    with pytest.raises(PermissionDenied):
        _create(intruder, version, ["Papel"], "COMPRE")
    with pytest.raises(PermissionDenied):
        processes.transition(intruder, process, "cancel", reason="x")
    with pytest.raises(PermissionDenied):
        processes.set_calendar(intruder, process, lp_calendar(timezone.localdate()))


# --- calendar -----------------------------------------------------------------------------------


def test_a_valid_lp_calendar_passes():
    assert calendar_problems("LP", lp_calendar(date(2026, 3, 2)), CAL) == []


def test_bid_window_counts_holy_week_as_non_working():
    # Call on Monday 16 March 2026; 22 working days later is 17 April because Holy Thursday
    # and Good Friday (2-3 April) do not count. A deadline on 15 April is refused.
    dates = lp_calendar(date(2026, 3, 16))
    assert dates["ofertas"][1] >= date(2026, 4, 17)
    short = dict(dates)
    short["ofertas"] = (dates["ofertas"][0], date(2026, 4, 15))
    short["registro"] = (dates["registro"][0], date(2026, 4, 15))
    problems = calendar_problems("LP", short, CAL)
    assert any("22" in p for p in problems), problems


def test_questions_window_and_standstill_minimums():
    dates = lp_calendar(date(2026, 7, 20))
    short = dict(dates)
    call = dates["convocatoria"][0]
    short["consultas"] = (call, CAL.add_working_days(call, 9))
    problems = calendar_problems("LP", short, CAL)
    assert any("10" in p for p in problems)
    short = dict(dates)
    award = dates["buena_pro"][1]
    short["consentimiento"] = (CAL.add_working_days(award, 1), CAL.add_working_days(award, 7))
    assert any("8" in p for p in calendar_problems("LP", short, CAL))


def test_holidays_missing_stages_and_disorder_are_reported():
    dates = lp_calendar(date(2026, 3, 2))
    bad = dict(dates)
    bad["apertura"] = (date(2026, 7, 28), date(2026, 7, 28))
    assert any("28/07/2026" in p or "2026-07-28" in p for p in calendar_problems("LP", bad, CAL))
    missing = dict(dates)
    del missing["apertura"]
    assert calendar_problems("LP", missing, CAL)


# --- state machine ------------------------------------------------------------------------------


def _published_lp(plan, call_start=None):
    version, staff = plan
    process = _create(staff, version, ["Servidores"], "LP")
    call = call_start or CAL.next_working_day(timezone.localdate())
    processes.set_calendar(staff, process, lp_calendar(call))
    return processes.transition(staff, process, "publish", today=call), staff


def test_publish_writes_history_audit_and_event(plan):
    process, staff = _published_lp(plan)
    assert process.status == ProcessStatus.CALLED and process.published_at
    change = StatusChange.objects.get(process=process)
    assert (change.from_status, change.to_status, change.actor) == ("draft", "convocado", staff)
    assert AuditEntry.objects.filter(action="process.publish", object_id=str(process.pk)).exists()
    assert Event.objects.filter(kind="process.published", object_id=str(process.pk)).exists()


def test_publish_needs_a_valid_calendar(plan):
    version, staff = plan
    process = _create(staff, version, ["Servidores"], "LP")
    with pytest.raises(DomainError):
        processes.transition(staff, process, "publish")
    assert process.__class__.objects.get(pk=process.pk).status == "draft"


def _walk(process, staff, actions, today):
    for action, kwargs in actions:
        process = processes.transition(staff, process, action, today=today, **kwargs)
    return process


def test_every_allowed_transition_and_the_full_happy_path(plan):
    process, staff = _published_lp(plan)
    stages = {s.stage: s for s in process.stages.all()}
    after_standstill = stages["consentimiento"].end + timedelta(days=1)
    process = _walk(process, staff, [("award", {})], stages["buena_pro"].start)
    process = _walk(
        process,
        staff,
        [("suspend", {"reason": "Apelación"}), ("resume", {"reason": "Infundada"})],
        after_standstill,
    )
    assert process.status == ProcessStatus.AWARDED
    process = _walk(process, staff, [("consent", {}), ("contract", {})], after_standstill)
    assert process.status == ProcessStatus.CONTRACTED
    assert list(process.history.values_list("action", flat=True)) == [
        "publish",
        "award",
        "suspend",
        "resume",
        "consent",
        "contract",
    ]


@pytest.mark.parametrize(
    ("setup", "action", "kwargs", "expected"),
    [
        ([], "cancel", {"reason": "Ya no se requiere"}, "cancelado"),
        ([], "suspend", {"reason": "Apelación"}, "suspendido"),
        ([], "annul", {"reason": "Vicio en bases", "return_stage": "convocatoria"}, "nulo"),
        ([("suspend", {"reason": "Apelación"})], "cancel", {"reason": "x"}, "cancelado"),
        ([("annul", {"reason": "x", "return_stage": "convocatoria"})], "restart", {}, "convocado"),
    ],
)
def test_transitions_from_called(plan, setup, action, kwargs, expected):
    process, staff = _published_lp(plan)
    process = _walk(process, staff, setup, timezone.localdate())
    process = processes.transition(staff, process, action, **kwargs)
    assert process.status == expected


def test_void_records_the_stage_it_returns_to(plan):
    process, staff = _published_lp(plan)
    day = process.stages.get(stage="integracion").start
    for later in ("ofertas", "contrato"):
        with pytest.raises(DomainError) as error:
            processes.transition(
                staff, process, "annul", reason="Vicio", return_stage=later, today=day
            )
        assert (error.value.code, error.value.field) == ("return_stage_invalid", "return_stage")
    process = processes.transition(
        staff, process, "annul", reason="Vicio", return_stage="integracion", today=day
    )
    assert process.void_return_stage == "integracion"
    assert process.history.last().return_stage == "integracion"
    with pytest.raises(DomainError):
        processes.transition(staff, process, "annul", reason="x", return_stage="integracion")


@pytest.mark.parametrize("status", list(ProcessStatus.values))
def test_an_illegal_transition_is_refused_in_every_state(plan, status):
    process, staff = _published_lp(plan)
    type(process).objects.filter(pk=process.pk).update(status=status, suspended_from="convocado")
    process.refresh_from_db()
    illegal = next(a for a in TRANSITIONS if status not in TRANSITIONS[a].sources)
    with pytest.raises(DomainError) as error:
        processes.transition(staff, process, illegal, reason="x", return_stage="convocatoria")
    assert "not possible" in error.value.message or "no es posible" in error.value.message
    process.refresh_from_db()
    assert process.status == status


def test_cancel_needs_a_reason_and_is_impossible_after_award(plan):
    process, staff = _published_lp(plan)
    with pytest.raises(DomainError):
        processes.transition(staff, process, "cancel")
    award_day = process.stages.get(stage="buena_pro").start
    process = processes.transition(staff, process, "award", today=award_day)
    assert "cancel" not in [t.action for t in allowed_actions(process)]
    with pytest.raises(DomainError):
        processes.transition(staff, process, "cancel", reason="Tarde")


def test_award_and_consent_wait_for_the_calendar(plan):
    process, staff = _published_lp(plan)
    stages = {s.stage: s for s in process.stages.all()}
    with pytest.raises(DomainError, match="calendar"):
        processes.transition(
            staff, process, "award", today=stages["buena_pro"].start - timedelta(days=1)
        )
    process = processes.transition(staff, process, "award", today=stages["buena_pro"].start)
    with pytest.raises(DomainError):
        processes.transition(staff, process, "consent", today=stages["consentimiento"].end)
    processes.transition(
        staff, process, "consent", today=stages["consentimiento"].end + timedelta(days=1)
    )


def test_calendar_change_after_the_call_is_an_amendment_with_reason(plan):
    process, staff = _published_lp(plan)
    later = lp_calendar(process.stages.get(stage="convocatoria").start)
    later["contrato"] = (later["contrato"][0], CAL.add_working_days(later["contrato"][1], 5))
    with pytest.raises(DomainError):
        processes.set_calendar(staff, process, later)
    processes.set_calendar(staff, process, later, reason="Ampliación del plazo de contrato")
    event = Event.objects.get(kind="process.calendar_amended")
    assert event.payload["reason"] == "Ampliación del plazo de contrato"
    assert list(event.payload["changes"]) == ["contrato"]


ALL_PAIRS = [
    (action, source)
    for action, rule in TRANSITIONS.items()
    if action != "publish"
    for source in sorted(rule.sources)
]


def _reach(process, staff, status):
    """Bring a published process to `status` through real transitions; returns it and the
    day on which each later action is allowed by the calendar."""
    stages = {s.stage: s for s in process.stages.all()}
    call = stages["convocatoria"].start
    award_day = stages["buena_pro"].start
    after_standstill = stages["consentimiento"].end + timedelta(days=1)
    steps = {
        "convocado": [],
        "suspendido": [("suspend", call)],
        "adjudicado": [("award", award_day)],
        "consentido": [("award", award_day), ("consent", after_standstill)],
        "nulo": [("annul", call)],
    }[status]
    for action, day in steps:
        process = processes.transition(
            staff, process, action, reason="Motivo", return_stage="convocatoria", today=day
        )
    days = {
        "award": award_day,
        "consent": after_standstill,
        "contract": after_standstill,
        "desert": stages["ofertas"].end + timedelta(days=1),
        "restart": call,
        "annul": stages["evaluacion"].start,
    }
    return process, days


@pytest.mark.parametrize(("action", "source"), ALL_PAIRS)
def test_every_allowed_transition_in_the_table(plan, action, source):
    """Each (status, action) pair the table allows goes through and lands where it says."""
    process, staff = _published_lp(plan)
    process, days = _reach(process, staff, source)
    expected = TRANSITIONS[action].target or process.suspended_from
    moved = processes.transition(
        staff,
        process,
        action,
        reason="Motivo",
        return_stage="evaluacion",
        today=days.get(action, timezone.localdate()),
    )
    assert moved.status == expected
    change = moved.history.last()
    assert (change.action, change.from_status, change.to_status) == (action, source, expected)
    assert AuditEntry.objects.filter(action=f"process.{action}", object_id=str(process.pk)).exists()


def test_cancel_is_refused_while_an_award_is_suspended_by_an_appeal(plan):
    process, staff = _published_lp(plan)
    process, _days = _reach(process, staff, "adjudicado")
    process = processes.transition(staff, process, "suspend", reason="Apelación")
    with pytest.raises(DomainError):
        processes.transition(staff, process, "cancel", reason="Ya no")
    process.refresh_from_db()
    assert process.status == "suspendido"


def test_a_draft_cannot_be_cancelled_it_is_simply_not_published(plan):
    version, staff = plan
    process = _create(staff, version, ["Servidores"], "LP")
    with pytest.raises(DomainError):
        processes.transition(staff, process, "cancel", reason="x")


def test_restart_needs_the_calendar_rescheduled_and_reopens_the_questions(plan):
    process, staff = _published_lp(plan)
    stages = {s.stage: s for s in process.stages.all()}
    later = stages["consultas"].end + timedelta(days=1)
    process = processes.transition(
        staff, process, "annul", reason="Vicio en las bases", return_stage="consultas", today=later
    )
    with pytest.raises(DomainError, match="calendario"):
        processes.transition(staff, process, "restart", today=later)
    new = lp_calendar(stages["convocatoria"].start)
    shift = CAL.next_working_day(later)
    fresh = lp_calendar(shift)
    for stage in [
        "registro",
        "consultas",
        "absolucion",
        "integracion",
        "ofertas",
        "apertura",
        "evaluacion",
        "buena_pro",
        "consentimiento",
        "contrato",
    ]:
        new[stage] = fresh[stage]
    new["registro"] = (stages["registro"].start, fresh["registro"][1])
    moved_call = CAL.add_working_days(stages["convocatoria"].start, 1)
    bad = {
        **new,
        "convocatoria": (moved_call, moved_call),
        "registro": (moved_call, new["registro"][1]),
    }
    with pytest.raises(DomainError, match="ya se realizó"):
        processes.set_calendar(staff, process, bad, reason="Reprogramación", today=later)
    processes.set_calendar(
        staff, process, new, reason="Reprogramación tras la nulidad", today=later
    )
    process = processes.transition(staff, process, "restart", today=shift)
    assert process.status == "convocado" and process.answers_published_at is None


def test_amendments_cannot_move_past_stages_or_into_the_past(plan):
    process, staff = _published_lp(plan)
    dates = {s.stage: (s.start, s.end) for s in process.stages.all()}
    later = dates["consultas"][1] + timedelta(days=1)
    moved_back = dict(dates)
    moved_back["consultas"] = (
        dates["consultas"][0],
        CAL.add_working_days(dates["consultas"][1], 1),
    )
    with pytest.raises(DomainError):
        processes.set_calendar(staff, process, moved_back, reason="Cambio", today=later)
    assert process.stages.get(stage="consultas").end == dates["consultas"][1]


def test_desert_waits_for_the_bid_deadline(plan):
    process, staff = _published_lp(plan)
    deadline = process.stages.get(stage="ofertas").end
    with pytest.raises(DomainError):
        processes.transition(staff, process, "desert", reason="Sin ofertas válidas", today=deadline)
    moved = processes.transition(
        staff, process, "desert", reason="Sin ofertas válidas", today=deadline + timedelta(days=1)
    )
    assert moved.status == "desierto"
