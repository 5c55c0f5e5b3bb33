"""Selection processes: procedure thresholds, creation from the plan, calendar minimums and
the state machine."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core import clock
from core.models import AuditEntry, District
from core.workdays import WorkingCalendar
from notifications.models import PROCESS_ACTION_KINDS, Event
from procurement.calendar_rules import calendar_problems
from procurement.models import ProcessStatus, StatusChange
from procurement.services import processes
from procurement.services.processes import check_procedure_type
from procurement.state_machine import TRANSITIONS, allowed_actions
from tests.domain import raises_domain
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    auditor,
    designate_committee_of_two,
    lp_calendar,
    published_plan,
    staff_of,
    user_of,
)
from tests.procurement.status_history import assert_due_stored, assert_last_change_stored

pytestmark = pytest.mark.django_db
D = Decimal
CAL = WorkingCalendar()


# --- procedure type against the year's thresholds ----------------------------------------------


@pytest.mark.parametrize(
    ("object_type", "value", "procedure"),
    [
        ("goods", "400000", "LP"),
        ("goods", "399999.99", "AS"),
        ("works", "1800000", "LP"),
        ("services", "500000", "CP"),
        ("goods", "60000", "COMPRE"),
        ("goods", "50000", "CD"),
    ],
)
def test_procedure_types_within_their_band_are_accepted(object_type, value, procedure):
    check_procedure_type(
        2026, object_type, D(value), procedure, "emergency" if procedure == "CD" else ""
    )


def test_direct_contracting_needs_a_legal_cause_and_the_8_uit_floor():
    with raises_domain("direct_cause_required", field="direct_cause"):
        check_procedure_type(2026, "goods", D("50000"), "CD")
    with raises_domain("no_procedure_applies", field="procedure_type"):
        check_procedure_type(2026, "goods", D("5000"), "CD", "emergency")
    with raises_domain("direct_cause_not_allowed", field="direct_cause"):
        check_procedure_type(2026, "goods", D("450000"), "LP", "emergency")


def test_a_wrong_procedure_type_says_which_applies_and_why():
    with raises_domain("procedure_type_out_of_band", field="procedure_type") as error:
        check_procedure_type(2026, "goods", D("500000"), "AS")
    message = error.value.message
    assert "Adjudicación Simplificada" in message or "Simplified award" in message
    assert "Licitación Pública" in message and "S/\xa0400\xa0000,00" in message
    assert error.value.code == "procedure_type_out_of_band"


def test_below_eight_uit_no_procedure_applies():
    with raises_domain("no_procedure_applies", field="procedure_type") as error:
        check_procedure_type(2026, "goods", D("30000"), "AS")
    assert error.value.code == "no_procedure_applies"
    assert "S/\xa044\xa0000,00" in error.value.message  # 8 UIT of 2026, as a figure


def test_thresholds_in_uit_follow_the_years_uit():
    """Editing a year's UIT (in the admin) moves every bound written in UIT."""
    from core.models import FiscalYear

    check_procedure_type(2026, "goods", D("46000"), "AS")  # above 8 x 5,500
    FiscalYear.objects.filter(pk=2026).update(uit=D("6000"))
    with raises_domain("no_procedure_applies", field="procedure_type") as error:
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
        staff,
        version.plan.entity,
        year=2026,
        procedure_type=procedure,
        description="Compra",
        delivery_place="Almacén central",
        delivery_ubigeo=District(code="150101"),
        plan_item_ids=ids,
        **extra,
    )


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
    with raises_domain("mixed_sme_reservation", field="plan_items"):
        _create(staff, version, ["Papel", "Servidores"], "LP")
    _create(staff, version, ["Papel"], "COMPRE")
    with raises_domain("plan_items_in_process", field="plan_items"):
        _create(staff, version, ["Papel", "Tóner"], "AS")


def test_outside_the_plan_needs_a_reason(plan):
    version, staff = plan
    from core.models import CatalogItem

    item = {
        "object_type": "goods",
        "catalog_item": CatalogItem.objects.get(code="44121701"),
        "description": "Lapiceros",
        "quantity": D("10"),
        "unit": "BX",
        "estimated_value": D("50000"),
    }
    kwargs = {
        "year": 2026,
        "procedure_type": "COMPRE",
        "description": "Lapiceros",
        "delivery_place": "Sede",
        "delivery_ubigeo": District(code="150101"),
        "items": [item],
    }
    with raises_domain("outside_plan_reason_required", field="outside_plan_reason"):
        processes.create_process(staff, version.plan.entity, **kwargs)
    process = processes.create_process(
        staff, version.plan.entity, outside_plan_reason="Emergencia sanitaria", **kwargs
    )
    assert process.outside_plan_reason == "Emergencia sanitaria"


def test_wrong_procedure_type_is_refused_on_creation(plan):
    version, staff = plan
    with raises_domain("procedure_type_out_of_band", field="procedure_type"):
        _create(staff, version, ["Servidores"], "AS")


@pytest.mark.parametrize("who", ["other_staff", "supplier", "auditor"])
def test_only_the_entitys_staff_creates_and_moves_processes(plan, who):
    version, staff = plan
    process = _create(staff, version, ["Servidores"], "LP")
    intruder = {
        "other_staff": lambda: staff_of(EntityFactory()),
        "supplier": lambda: user_of(SupplierFactory()),
        "auditor": auditor,
    }[who]()
    with pytest.raises(PermissionDenied):
        _create(intruder, version, ["Papel"], "COMPRE")
    with pytest.raises(PermissionDenied):
        processes.cancel(actor=intruder, process=process, reason="x")
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

# Each manual action's service, called with what it may need.
SERVICES = {
    "publish": lambda staff, process, **kw: processes.publish_call(actor=staff, process=process),
    "suspend": lambda staff, process, reason="Apelación", **kw: processes.suspend_for_appeal(
        actor=staff, process=process, reason=reason
    ),
    "resume": lambda staff, process, reason="Infundada", **kw: processes.resume(
        actor=staff, process=process, reason=reason
    ),
    "cancel": lambda staff, process, reason="Ya no se requiere", **kw: processes.cancel(
        actor=staff, process=process, reason=reason
    ),
    "annul": lambda staff, process, reason="Vicio", return_stage="convocatoria": processes.annul(
        actor=staff, process=process, reason=reason, return_stage=return_stage
    ),
    "restart": lambda staff, process, **kw: processes.restart(actor=staff, process=process),
}
MANUAL = [action for action, rule in TRANSITIONS.items() if rule.manual]
BY_RECORDS = ["award", "consent", "contract", "desert", "reevaluate", "void_contract"]


def _published_lp(plan, call_start=None):
    version, staff = plan
    process = _create(staff, version, ["Servidores"], "LP")
    call = call_start or CAL.next_working_day(timezone.localdate())
    processes.set_calendar(staff, process, lp_calendar(call))
    designate_committee_of_two(staff, process)
    with clock.pinned(call):
        return processes.publish_call(actor=staff, process=process), staff


def _force(process, status, suspended_from=""):
    """Put a process in a status no service reaches yet (award, consent...: driven by the
    records of the next issues), as the demo seed's bulk path does."""
    type(process).objects.filter(pk=process.pk).update(status=status, suspended_from=suspended_from)
    process.refresh_from_db()
    return process


def test_every_manual_action_has_its_own_service():
    assert set(MANUAL) == set(SERVICES)
    assert set(MANUAL) | set(BY_RECORDS) == set(TRANSITIONS)
    assert not any(hasattr(processes, name) for name in ["transition", *BY_RECORDS])


def test_publish_writes_history_audit_and_event(plan):
    process, staff = _published_lp(plan)
    assert process.status == ProcessStatus.CALLED and process.published_at
    change = StatusChange.objects.get(process=process)
    assert (change.from_status, change.to_status, change.actor) == ("draft", "convocado", staff)
    assert AuditEntry.objects.filter(action="process.publish", object_id=str(process.pk)).exists()
    assert Event.objects.filter(kind="process.published", object_id=str(process.pk)).exists()


def test_each_status_change_stores_its_moment_on_the_process(plan):
    """record_status_change (every service) keeps status_changed_at = the last change's
    moment, in the database and on the process it returns; a change dated earlier (an
    import replayed out of order) does not move it back."""
    process, staff = _published_lp(plan)
    call = process.stages.get(stage="convocatoria").start
    assert process.status_changed_at == clock.local(call)
    assert assert_last_change_stored()[process.pk] == clock.local(call)
    moments = [clock.local(call, time(15, 0)), clock.local(CAL.add_working_days(call, 1))]
    with clock.pinned(moments[0]):
        process = processes.suspend_for_appeal(actor=staff, process=process, reason="Apelación")
    assert process.status_changed_at == moments[0]
    with clock.pinned(moments[1]):
        process = processes.resume(actor=staff, process=process, reason="Infundada")
    assert process.status_changed_at == moments[1]
    assert assert_last_change_stored()[process.pk] == moments[1]
    StatusChange.objects.create(
        process=process,
        action="import",
        from_status="convocado",
        to_status="convocado",
        at=moments[0],
    )
    process.refresh_from_db()
    assert process.status_changed_at == moments[1]
    assert_last_change_stored()
    assert_due_stored()


def test_publish_needs_a_valid_calendar(plan):
    version, staff = plan
    process = _create(staff, version, ["Servidores"], "LP")
    with raises_domain("calendar_invalid", field="calendar"):
        processes.publish_call(actor=staff, process=process)
    assert process.__class__.objects.get(pk=process.pk).status == "draft"


@pytest.mark.parametrize(
    ("setup", "action", "kwargs", "expected"),
    [
        ([], "cancel", {"reason": "Ya no se requiere"}, "cancelado"),
        ([], "suspend", {"reason": "Apelación"}, "suspendido"),
        ([], "annul", {"reason": "Vicio en bases", "return_stage": "convocatoria"}, "nulo"),
        ([("suspend", {"reason": "Apelación"})], "cancel", {"reason": "x"}, "cancelado"),
        ([("suspend", {"reason": "Apelación"})], "resume", {"reason": "Infundada"}, "convocado"),
        ([("annul", {"reason": "x", "return_stage": "convocatoria"})], "restart", {}, "convocado"),
    ],
)
def test_transitions_from_called(plan, setup, action, kwargs, expected):
    process, staff = _published_lp(plan)
    call = process.stages.get(stage="convocatoria").start
    with clock.pinned(clock.local(call, time(15, 0))):  # acted on after its publication
        for step, step_kwargs in setup:
            process = SERVICES[step](staff, process, **step_kwargs)
        process = SERVICES[action](staff, process, **kwargs)
    assert process.status == expected
    change = process.history.last()
    assert change.action == action and change.to_status == expected
    assert AuditEntry.objects.filter(action=f"process.{action}", object_id=str(process.pk)).exists()
    assert Event.objects.filter(kind=PROCESS_ACTION_KINDS[action], process=process).exists()


ALL_PAIRS = [
    (action, source)
    for action in MANUAL
    if action != "publish"
    for source in sorted(TRANSITIONS[action].sources)
]


@pytest.mark.parametrize(("action", "source"), ALL_PAIRS)
def test_every_manual_transition_in_the_table(plan, action, source):
    """Each (status, action) pair the table allows goes through its service and lands where
    the table says, with its history, audit entry and event."""
    process, staff = _published_lp(plan)
    evaluation = process.stages.get(stage="evaluacion").start
    process = _force(process, source, "convocado" if source == "suspendido" else "")
    if source == "nulo":
        process.void_return_stage = "convocatoria"
        process.save()
    expected = TRANSITIONS[action].target or process.suspended_from
    call = process.stages.get(stage="convocatoria").start
    # After its publication (the call may be after today: the next working day).
    moment = evaluation if action == "annul" else clock.local(call, time(15, 0))
    with clock.pinned(moment):
        moved = SERVICES[action](staff, process)
    assert moved.status == expected
    change = moved.history.last()
    assert (change.action, change.from_status, change.to_status) == (action, source, expected)
    assert AuditEntry.objects.filter(action=f"process.{action}", object_id=str(process.pk)).exists()


def test_an_appeal_against_the_award_returns_to_the_award(plan):
    process, staff = _published_lp(plan)
    process = _force(process, "adjudicado")
    process = processes.suspend_for_appeal(actor=staff, process=process, reason="Apelación")
    assert (process.status, process.suspended_from) == ("suspendido", "adjudicado")
    process = processes.resume(actor=staff, process=process, reason="Infundada")
    assert (process.status, process.suspended_from) == ("adjudicado", "")


@pytest.mark.parametrize("status", list(ProcessStatus.values))
def test_an_illegal_action_is_refused_in_every_state(plan, status):
    process, staff = _published_lp(plan)
    process = _force(process, status, "convocado")
    for action in MANUAL:
        if status in TRANSITIONS[action].sources:
            continue
        with raises_domain("action_not_allowed"):
            SERVICES[action](staff, process)
        process.refresh_from_db()
        assert process.status == status


@pytest.mark.parametrize("status", list(ProcessStatus.values))
def test_award_consent_contract_and_desert_are_never_offered(plan, status, client):
    """They follow from records (an evaluation, the standstill's end, a Contract, no valid
    bid left): no page offers them and the status page refuses them."""
    process, staff = _published_lp(plan)
    process = _force(process, status, "adjudicado" if status == "suspendido" else "")
    offered = [o.transition.action for o in processes.offered_actions(process)]
    assert not set(offered) & set(BY_RECORDS)
    assert not {t.action for t in allowed_actions(process)} & set(BY_RECORDS)
    client.force_login(staff)
    page = client.get(f"/gestion/procesos/{process.pk}/").content.decode()
    for action in BY_RECORDS:
        assert f'value="{action}"' not in page
        response = client.post(f"/gestion/procesos/{process.pk}/estado/", {"action": action})
        assert response.status_code == 400
    process.refresh_from_db()
    assert process.status == status


def test_record_driven_actions_still_wait_for_their_calendar_edge(plan):
    """The table keeps each record-driven action's calendar edge for the services that will
    drive it: no award before the award stage, no consent before the standstill ends, no
    "desierto" before the bid deadline."""
    process, _staff = _published_lp(plan)
    stages = {s.stage: s for s in process.stages.all()}
    refusal = processes.transition_refusal
    with clock.pinned(stages["buena_pro"].start - timedelta(days=1)):
        assert refusal(process, "award").code == "too_early"
    with clock.pinned(stages["buena_pro"].start):
        assert refusal(process, "award") is None
    with clock.pinned(stages["ofertas"].closes_at):
        assert refusal(process, "desert").code == "too_early"
    with clock.pinned(stages["ofertas"].closes_at + timedelta(seconds=1)):
        assert refusal(process, "desert") is None
    awarded = _force(process, "adjudicado")
    standstill = stages["consentimiento"]
    with clock.pinned(standstill.closes_at):
        assert refusal(awarded, "consent").code == "too_early"
    with clock.pinned(standstill.closes_at + timedelta(seconds=1)):
        assert refusal(awarded, "consent") is None


def test_void_records_the_stage_it_returns_to(plan):
    process, staff = _published_lp(plan)
    day = process.stages.get(stage="integracion").start
    for later in ("ofertas", "contrato", ""):
        with raises_domain("return_stage_invalid", field="return_stage"), clock.pinned(day):
            processes.annul(actor=staff, process=process, reason="Vicio", return_stage=later)
    with clock.pinned(day):
        process = processes.annul(
            actor=staff, process=process, reason="Vicio", return_stage="integracion"
        )
    assert process.void_return_stage == "integracion"
    assert process.history.last().return_stage == "integracion"
    with raises_domain("action_not_allowed"):
        processes.annul(actor=staff, process=process, reason="x", return_stage="integracion")


def test_cancel_needs_a_reason_and_is_impossible_after_award(plan):
    process, staff = _published_lp(plan)
    with raises_domain("reason_required", field="reason"):
        processes.cancel(actor=staff, process=process, reason="  ")
    process = _force(process, "adjudicado")
    assert "cancel" not in [t.action for t in allowed_actions(process)]
    with raises_domain("action_not_allowed"):
        processes.cancel(actor=staff, process=process, reason="Tarde")


def test_cancel_is_refused_while_an_award_is_suspended_by_an_appeal(plan):
    process, staff = _published_lp(plan)
    process = _force(process, "adjudicado")
    process = processes.suspend_for_appeal(actor=staff, process=process, reason="Apelación")
    with raises_domain("action_not_allowed"):
        processes.cancel(actor=staff, process=process, reason="Ya no")
    process.refresh_from_db()
    assert process.status == "suspendido"


def test_a_draft_cannot_be_cancelled_it_is_simply_not_published(plan):
    version, staff = plan
    process = _create(staff, version, ["Servidores"], "LP")
    with raises_domain("action_not_allowed"):
        processes.cancel(actor=staff, process=process, reason="x")


def test_calendar_change_after_the_call_is_an_amendment_with_reason(plan):
    process, staff = _published_lp(plan)
    later = lp_calendar(process.stages.get(stage="convocatoria").start)
    later["contrato"] = (later["contrato"][0], CAL.add_working_days(later["contrato"][1], 5))
    with raises_domain("reason_required", field="reason"):
        processes.set_calendar(staff, process, later)
    processes.set_calendar(staff, process, later, reason="Ampliación del plazo de contrato")
    event = Event.objects.get(kind="process.calendar_amended")
    assert event.payload["reason"] == "Ampliación del plazo de contrato"
    assert list(event.payload["changes"]) == ["contrato"]


def _rescheduled(process, stage, today):
    """The calendar of a void process with `stage` and every later one moved after `today`."""
    dates = {s.stage: (s.start, s.end) for s in process.stages.all()}
    fresh = lp_calendar(CAL.next_working_day(today + timedelta(days=1)))
    order = list(dates)
    for name in order[order.index(stage) :]:
        dates[name] = fresh[name]
    dates["registro"] = (dates["registro"][0], fresh["registro"][1])
    return dates


def _rescheduled_from(process, staff, stage, today):
    dates = _rescheduled(process, stage, today)
    with clock.pinned(today):
        processes.set_calendar(staff, process, dates, reason="Reprogramación")


def test_restart_needs_the_calendar_rescheduled_and_reopens_the_questions(plan):
    process, staff = _published_lp(plan)
    stages = {s.stage: s for s in process.stages.all()}
    later = stages["consultas"].end + timedelta(days=1)
    with clock.pinned(later):
        process = processes.annul(
            actor=staff,
            process=process,
            reason="Vicio en las bases",
            return_stage="consultas",
        )
    with raises_domain("reschedule_first", field="calendar"), clock.pinned(later):
        processes.restart(actor=staff, process=process)
    moved_call = CAL.add_working_days(stages["convocatoria"].start, 1)
    new = _rescheduled(process, "consultas", later)
    bad = {
        **new,
        "convocatoria": (moved_call, moved_call),
        "registro": (moved_call, new["registro"][1]),
    }
    with raises_domain("stage_already_held", field="calendar"), clock.pinned(later):
        processes.set_calendar(staff, process, bad, reason="Reprogramación")
    _rescheduled_from(process, staff, "consultas", later)
    with clock.pinned(CAL.next_working_day(later + timedelta(days=1))):
        process = processes.restart(actor=staff, process=process)
    assert process.status == "convocado" and process.void_return_stage == ""


@pytest.mark.parametrize(
    ("return_stage", "answers_reopen", "bases_reopen"),
    [("consultas", True, True), ("integracion", False, True), ("ofertas", False, False)],
)
def test_restart_reopens_what_happens_again(plan, return_stage, answers_reopen, bases_reopen):
    """Restarting undoes what the repeated stages did: answers published before a return to
    the questions are reopened, and so are the integrated bases before a return to the
    integration; a return after them keeps both."""
    process, staff = _published_lp(plan)
    published = timezone.now()
    type(process).objects.filter(pk=process.pk).update(
        answers_published_at=published, integrated_bases_published_at=published
    )
    day = process.stages.get(stage="ofertas").start
    with clock.pinned(day):
        process = processes.annul(
            actor=staff, process=process, reason="Vicio", return_stage=return_stage
        )
    _rescheduled_from(process, staff, return_stage, day)
    with clock.pinned(CAL.next_working_day(day + timedelta(days=1))):
        process = processes.restart(actor=staff, process=process)
    process.refresh_from_db()
    assert (process.answers_published_at is None) == answers_reopen
    assert (process.integrated_bases_published_at is None) == bases_reopen


def test_amendments_cannot_move_past_stages(plan):
    process, staff = _published_lp(plan)
    dates = {s.stage: (s.start, s.end) for s in process.stages.all()}
    later = dates["consultas"][1] + timedelta(days=1)
    moved_back = dict(dates)
    moved_back["consultas"] = (
        dates["consultas"][0],
        CAL.add_working_days(dates["consultas"][1], 1),
    )
    with raises_domain("stage_already_held", field="calendar"), clock.pinned(later):
        processes.set_calendar(staff, process, moved_back, reason="Cambio")
    assert process.stages.get(stage="consultas").end == dates["consultas"][1]


def test_amendments_cannot_put_a_date_in_the_past(plan):
    """A stage not yet over may move, but never to a day before today."""
    process, staff = _published_lp(plan)
    dates = {s.stage: (s.start, s.end) for s in process.stages.all()}
    today = CAL.add_working_days(dates["ofertas"][0], 1)  # bids are being received
    early = dict(dates)
    early["ofertas"] = (dates["integracion"][0], dates["ofertas"][1])
    with raises_domain("date_in_the_past", field="calendar"), clock.pinned(today):
        processes.set_calendar(staff, process, early, reason="Adelanto")
    later = dict(dates)
    later["contrato"] = (dates["contrato"][0], CAL.add_working_days(dates["contrato"][1], 5))
    with clock.pinned(today):
        processes.set_calendar(staff, process, later, reason="Prórroga")
    assert process.stages.get(stage="contrato").end == later["contrato"][1]
