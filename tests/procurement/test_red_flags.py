"""The red-flag rules (procurement.red_flags): each on a crafted case that raises it and one
just below its threshold that does not; the score; the stored rows and their refresh."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from core.workdays import WorkingCalendar
from procurement import red_flags, tasks
from procurement.models import ProcessRisk, ProcessRiskFlag, ProcurementProcess
from procurement.models import RiskFlagCode as Code
from tests.factories import EntityFactory, SupplierFactory
from tests.procurement.risk_world import CALL, awarded, called, contracted, opened

pytestmark = pytest.mark.django_db


def raised(rule, *processes) -> set[int]:
    scope = ProcurementProcess.objects.filter(pk__in=[p.pk for p in processes])
    return set(rule(scope))


# --- single bidder ---------------------------------------------------------------------------


def test_one_valid_bid_is_a_single_bidder():
    one, two = called(), called()
    opened(one, ["1000"])
    opened(two, ["1000", "1200"])
    assert raised(red_flags.single_bidder, one, two) == {one.pk}
    assert (
        red_flags.single_bidder(ProcurementProcess.objects.filter(pk=one.pk))[one.pk]["valid_bids"]
        == 1
    )


def test_direct_contracting_with_its_one_invited_supplier_is_not_a_single_bidder():
    direct = called(procedure_type="CD")
    opened(direct, ["1000"])
    assert raised(red_flags.single_bidder, direct) == set()


# --- bid window ------------------------------------------------------------------------------


def test_bid_window_below_the_legal_minimum():
    add = WorkingCalendar().add_working_days
    short = called(bids_end=add(CALL, 21))
    legal = called(bids_end=add(CALL, 22))
    found = red_flags.short_bid_window(
        ProcurementProcess.objects.filter(pk__in=[short.pk, legal.pk])
    )
    assert set(found) == {short.pk}
    (shortfall,) = found[short.pk]["shortfalls"]
    assert shortfall["working_days"] == 21 and shortfall["minimum"] == 22


def test_processes_with_the_same_calendar_each_raise_the_bid_window_flag():
    # The working days are counted once per procedure type and dates: every process with
    # those is flagged, and the same dates under another type's minimums are judged by those.
    add = WorkingCalendar().add_working_days
    short = [called(bids_end=add(CALL, 21)) for _n in range(2)]
    simplified = called(procedure_type="AS", bids_end=add(CALL, 21))  # 7 working days suffice
    without_call = called(bids_end=add(CALL, 21))
    without_call.stages.filter(stage="convocatoria").delete()
    found = red_flags.short_bid_window(ProcurementProcess.objects.all())
    assert set(found) == {p.pk for p in short}
    assert simplified.pk not in found and without_call.pk not in found
    assert found[short[0].pk] == found[short[1].pk]
    assert found[short[0].pk]["shortfalls"][0]["to"] == add(CALL, 21).isoformat()


# --- award above the estimate ----------------------------------------------------------------


def test_award_above_the_estimate():
    above, equal = called(value="100000"), called(value="100000")
    awarded(above, amount="100000.01")
    awarded(equal, amount="100000.00")
    found = red_flags.award_above_estimate(ProcurementProcess.objects.all())
    assert set(found) == {above.pk}
    assert found[above.pk]["lots"][0]["estimate"] == "100000.00"


# --- amendments ------------------------------------------------------------------------------


def test_contract_amended_above_25_percent():
    above, at_limit = called(), called()
    contracted(awarded(above), amendments=[("adicional", "10"), ("adicional", "25.01")])
    contracted(awarded(at_limit), amendments=[("adicional", "25.00"), ("reduccion", "5")])
    found = red_flags.amended_above_limit(ProcurementProcess.objects.all())
    assert set(found) == {above.pk}
    assert found[above.pk]["contracts"][0]["cumulative_percent"] == "25.01"


# --- repeated direct contracting ---------------------------------------------------------------


def test_repeated_direct_contracting_in_a_year():
    busy, calm = EntityFactory(), EntityFactory()
    busy_direct = [called(busy, procedure_type="CD") for _n in range(3)]
    calm_direct = [called(calm, procedure_type="CD") for _n in range(2)]
    other_year = called(calm, procedure_type="CD", year=2025, call=CALL.replace(year=2025))
    tender = called(busy)
    found = red_flags.repeated_direct(ProcurementProcess.objects.all())
    assert set(found) == {p.pk for p in busy_direct}
    assert found[busy_direct[0].pk]["direct_processes"] == 3
    assert not {p.pk for p in [*calm_direct, other_year, tender]} & set(found)


# --- recurrent winner --------------------------------------------------------------------------


def test_the_same_supplier_winning_again_and_again():
    entity, other = EntityFactory(), EntityFactory()
    frequent, occasional = SupplierFactory(), SupplierFactory()
    wins = [called(entity) for _n in range(3)]
    for process in wins:
        awarded(process, supplier=frequent)
    twice = [called(entity) for _n in range(2)]
    for process in twice:
        awarded(process, supplier=occasional)
    elsewhere = called(other)
    awarded(elsewhere, supplier=occasional)  # a third win, at another entity
    found = red_flags.recurrent_winner(ProcurementProcess.objects.all())
    assert set(found) == {p.pk for p in wins}
    assert found[wins[0].pk]["winners"] == [
        {"ruc": frequent.ruc, "name": frequent.legal_name, "wins": 3}
    ]


# --- near-identical bids -----------------------------------------------------------------------


def test_near_identical_bid_amounts():
    close, apart = called(), called()
    opened(close, ["100000.00", "100500.00", "130000.00"])  # 0.5% apart
    opened(apart, ["100000.00", "100501.00"])  # 0.501% apart
    found = red_flags.near_identical_bids(ProcurementProcess.objects.all())
    assert set(found) == {close.pk}
    (pair,) = found[close.pk]["pairs"]
    assert [b["position"] for b in pair["bids"]] == [1, 2]


def test_a_pending_opening_is_never_read():
    process = called()
    bids = opened(process, ["100000.00", "100000.00"])
    type(bids[0].opening).objects.filter(pk=bids[0].opening_id).update(status="pending")
    assert raised(red_flags.near_identical_bids, process) == set()


# --- shared contact data -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "first", "second", "flagged"),
    [
        ("representative_dni", "45678912", "45678912", True),
        ("representative_dni", "45678912", "45678913", False),
        ("address", "Av. Sol 123, Cusco", "AV. SOL 123, CUSCO", True),
        ("address", "Av. Sol 123, Cusco", "Av. Sol 124, Cusco", False),
        ("phone", "084-231234", "084-231234", True),
        ("email", "ventas@andes.pe", "Ventas@Andes.pe", True),
        ("email", "", "", False),
    ],
)
def test_bidders_sharing_registry_data(field, first, second, flagged):
    a, b = SupplierFactory(**{field: first}), SupplierFactory(**{field: second})
    process = called()
    opened(process, ["1000", "2000"], suppliers=[a, b])
    found = red_flags.shared_contact(ProcurementProcess.objects.all())
    assert (process.pk in found) is flagged
    if flagged:
        (shared,) = found[process.pk]["shared"]
        assert shared["field"] == field and sorted(shared["suppliers"]) == sorted([a.ruc, b.ruc])


def test_suppliers_sharing_data_in_different_openings_are_not_flagged():
    a, b = SupplierFactory(email="ventas@andes.pe"), SupplierFactory(email="VENTAS@andes.pe")
    c, d = (
        SupplierFactory(representative_dni="41234567"),
        SupplierFactory(representative_dni="41234567"),
    )
    apart, together = called(), called()
    opened(apart, ["1000", "2000"], suppliers=[a, SupplierFactory()])
    opened(called(), ["1000", "2000"], suppliers=[b, SupplierFactory()])
    opened(together, ["1000", "2000", "3000"], suppliers=[c, SupplierFactory(), d])
    found = red_flags.shared_contact(ProcurementProcess.objects.all())
    assert set(found) == {together.pk}
    assert found[together.pk]["shared"] == [
        {"field": "representative_dni", "value": "41234567", "suppliers": sorted([c.ruc, d.ruc])}
    ]


# --- fast award --------------------------------------------------------------------------------


def test_very_short_time_from_call_to_award():
    quick, normal = called(), called()
    awarded(quick, days_after_call=29)
    awarded(normal, days_after_call=30)
    found = red_flags.fast_award(ProcurementProcess.objects.all())
    assert set(found) == {quick.pk}
    assert found[quick.pk]["limit_days"] == 30


# --- split purchase ----------------------------------------------------------------------------


def test_purchase_split_just_under_a_threshold():
    entity = EntityFactory()
    # Goods: a Licitación Pública from S/ 400,000; both within 20% under it, 10 days apart.
    first = called(entity, value="380000", catalog="44121701")
    second = called(entity, value="390000", catalog="44121702", call=CALL + timedelta(days=10))
    found = red_flags.split_purchase(ProcurementProcess.objects.all())
    assert set(found) == {first.pk, second.pk}
    assert found[first.pk]["threshold"] == "400000.00"
    assert found[first.pk]["others"] == [{"identifier": second.identifier, "value": "390000.00"}]


@pytest.mark.parametrize("days_apart", [30, 31])
def test_one_process_alone_finds_its_sibling_at_the_edge_of_the_window(days_apart):
    # A refresh judges one process: its siblings are read within the window of its own call
    # (never the entity's whole history), the edge included.
    entity = EntityFactory()
    first = called(entity, value="380000", catalog="44121701")
    called(entity, value="390000", catalog="44121702", call=CALL + timedelta(days=days_apart))
    called(entity, value="395000", catalog="44121703", call=CALL + timedelta(days=400))
    found = red_flags.split_purchase(ProcurementProcess.objects.filter(pk=first.pk))
    assert set(found) == ({first.pk} if days_apart <= 30 else set())
    assert red_flags.split_purchase(ProcurementProcess.objects.none()) == {}


@pytest.mark.parametrize(
    ("second_value", "days_apart", "second_catalog"),
    [
        ("319999.99", 10, "44121702"),  # more than 20% under the threshold
        ("390000", 31, "44121702"),  # outside the window
        ("390000", 10, "43211503"),  # another catalog class
    ],
)
def test_no_split_just_outside_the_rule(second_value, days_apart, second_catalog):
    entity = EntityFactory()
    called(entity, value="380000")
    called(
        entity,
        value=second_value,
        catalog=second_catalog,
        call=CALL + timedelta(days=days_apart),
    )
    assert red_flags.split_purchase(ProcurementProcess.objects.all()) == {}


def test_no_split_when_together_they_stay_under_the_threshold():
    entity = EntityFactory()
    # S/ 42,000 and 45,000 are under 15 UIT (82,500 in 2026) but do not reach it together:
    # far from splitting; and 8 UIT (44,000) is not reached by the first alone.
    called(entity, value="70000")
    called(entity, value="12000", call=CALL + timedelta(days=3))
    assert red_flags.split_purchase(ProcurementProcess.objects.all()) == {}


# --- score and storage -------------------------------------------------------------------------


def test_the_score_adds_the_weights_capped_at_100():
    assert red_flags.process_score([Code.SINGLE_BIDDER]) == 10
    assert red_flags.process_score([Code.SINGLE_BIDDER, Code.FAST_AWARD]) == 25
    assert red_flags.process_score(list(Code)) == 100
    assert sum(red_flags.WEIGHTS.values()) > 100
    assert set(red_flags.WEIGHTS) == set(Code) == set(red_flags.RULES)


def test_refresh_stores_flags_and_scores_and_replaces_stale_ones():
    flagged, clean = called(), called()
    opened(flagged, ["1000"])
    opened(clean, ["1000", "2000"])
    awarded(flagged, days_after_call=10)
    ProcessRisk.objects.create(
        process=clean,
        entity=clean.entity,
        published_at=clean.published_at,
        score=99,
        flag_count=1,
        computed_at=clean.published_at,
    )
    assert red_flags.refresh() == 1
    assert set(ProcessRiskFlag.objects.values_list("process_id", "code")) == {
        (flagged.pk, Code.SINGLE_BIDDER),
        (flagged.pk, Code.FAST_AWARD),
    }
    risk = ProcessRisk.objects.get()
    assert risk.process_id == flagged.pk and risk.score == 25 and risk.flag_count == 2


def test_refresh_stores_the_evidence_and_score_the_rules_compute():
    flagged = called()
    opened(flagged, ["1000"])
    awarded(flagged, days_after_call=10)
    red_flags.refresh(ProcurementProcess.objects.filter(pk=flagged.pk))
    computed = red_flags.evaluate(ProcurementProcess.objects.all())[flagged.pk]
    stored = dict(ProcessRiskFlag.objects.values_list("code", "evidence"))
    assert stored == computed and len(stored) == 2
    risk = ProcessRisk.objects.get()
    assert risk.codes == sorted(computed) and risk.score == red_flags.process_score(computed)
    assert (risk.entity_id, risk.published_at) == (flagged.entity_id, flagged.published_at)


def test_a_row_stored_twice_is_an_integrity_error():
    # refresh_entity_year counts on it to leave a concurrent refresh's rows alone.
    process = called()
    row = (process.pk, process.entity_id, process.published_at, 10, 1, [Code.SINGLE_BIDDER])
    fields = ["process", "entity", "published_at", "score", "flag_count", "codes"]
    red_flags._insert(ProcessRisk, fields, [row], computed_at=process.published_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        red_flags._insert(ProcessRisk, fields, [row], computed_at=process.published_at)
    assert ProcessRisk.objects.get().codes == [Code.SINGLE_BIDDER]


def test_the_full_refresh_batches_are_whole_entities_of_bounded_size(monkeypatch):
    monkeypatch.setattr(red_flags, "PROCESS_BATCH", 3)
    for size in [2, 2, 1, 5, 0, 1]:
        entity = EntityFactory()
        for _n in range(size):
            called(entity)
    sizes = {entity.pk: entity.processes.count() for entity in red_flags.Entity.objects.all()}
    batches = red_flags._entity_batches()
    assert sorted(pk for batch in batches for pk in batch) == sorted(sizes)
    for batch in batches:
        assert len(batch) == 1 or sum(sizes[pk] for pk in batch) <= 3
    assert len(batches) < len(sizes)  # small entities share a batch


def test_the_beat_task_recomputes_every_process():
    process = called()
    opened(process, ["1000"])
    assert not ProcessRiskFlag.objects.exists()
    assert tasks.refresh_red_flags.delay().get() == 1
    assert ProcessRiskFlag.objects.get().code == Code.SINGLE_BIDDER
    from django.conf import settings

    assert (
        settings.CELERY_BEAT_SCHEDULE["refresh-red-flags"]["task"]
        == "procurement.tasks.refresh_red_flags"
    )


def test_a_draft_is_never_flagged():
    draft = called(status="draft")
    awarded(draft, amount=Decimal("600000"))
    ProcurementProcess.objects.filter(pk=draft.pk).update(status="draft")
    assert red_flags.refresh() == 0


def test_entity_score_is_the_mean_process_score():
    risky, clean = EntityFactory(), EntityFactory()
    flagged = called(risky)
    called(risky)
    called(clean)
    opened(flagged, ["1000"])  # single bidder: 10 points
    red_flags.refresh()
    scores = {e.pk: e for e in red_flags.entity_scores(ProcurementProcess.objects.published())}
    assert scores[risky.pk].score == pytest.approx(5.0)
    assert scores[risky.pk].process_count == 2 and scores[risky.pk].flagged == 1
    assert scores[clean.pk].score == 0


def test_the_opening_service_refreshes_the_flags_of_its_process():
    from tests.procurement.evaluating import awarded_tender

    tender, award, _people = awarded_tender(bidders=1)
    flags = set(
        ProcessRiskFlag.objects.filter(process=tender.process).values_list("code", flat=True)
    )
    assert Code.SINGLE_BIDDER in flags
    assert ProcessRisk.objects.get(process=tender.process).score >= 10


def test_a_full_refresh_by_batches_of_entities_stores_what_the_rules_compute(monkeypatch):
    # A batch of one process: each entity is a batch of its own.
    monkeypatch.setattr(red_flags, "PROCESS_BATCH", 1)
    busy = EntityFactory()
    for _n in range(3):
        opened(called(busy, procedure_type="CD"), ["1000"])
    opened(called(), ["1000"])
    assert red_flags.refresh() == 4
    computed = {
        (pk, code)
        for pk, codes in red_flags.evaluate(ProcurementProcess.objects.all()).items()
        for code in codes
    }
    assert set(ProcessRiskFlag.objects.values_list("process_id", "code")) == computed
    assert {code for _pk, code in computed} == {Code.SINGLE_BIDDER, Code.REPEATED_DIRECT}
