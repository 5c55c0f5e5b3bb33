"""The evaluation table: the scoring formula and the local SME bonus on hand-computed
examples (a consortium, a Lima entity), the tie rule, the bids the act lets in, the
versioned and immutable publication with its PDF."""

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction

from core import clock
from procurement.models import Award, Evaluation, EvaluationEntry, OpenedBid, ProcessStatus
from procurement.services import bids, evaluation
from procurement.services.evaluation import Candidate, score_lot, tie_break_key
from tests.domain import raises_domain
from tests.factories import EntityFactory, SupplierFactory, admin_user, staff_of
from tests.procurement.bidding import classify
from tests.procurement.evaluating import (
    committee,
    open_tender,
    stage_start,
    tender_in,
    unit_prices,
)

pytestmark = pytest.mark.django_db

CUSCO, AREQUIPA, LIMA = "080101", "040101", "150101"


# --- the formula, pure ---------------------------------------------------------------------


def _candidate(key, price, technical, *, sme=False, local=False, at=0, admissible=True):
    return Candidate(
        key=key,
        admissible=admissible,
        price=Decimal(price),
        technical=Decimal(technical),
        sme=sme,
        local_sme=local,
        received_at=datetime(2026, 1, 1, 9) + timedelta(minutes=at),
        position=at,
    )


def test_economic_score_is_weight_times_lowest_over_price_and_bonus_on_the_total():
    scores = score_lot(
        [
            _candidate("a", "10000", "60", sme=True, local=True),
            _candidate("b", "8000", "50"),
            _candidate("c", "9000", "55", sme=True, local=True),
            _candidate("x", "1", "70", admissible=False),  # cheapest, but not admissible
        ],
        economic_weight=Decimal(30),
        bonus_rate=Decimal("0.10"),
    )
    # a: 30 * 8000 / 10000 = 24.00; 60 + 24 = 84.00; bonus 8.40; total 92.40
    assert scores["a"].economic == Decimal("24.00") and scores["a"].bonus == Decimal("8.40")
    assert scores["a"].total == Decimal("92.40")
    # b: the lowest admissible price gets the whole weight, 30.00; no bonus; 80.00
    assert (scores["b"].economic, scores["b"].bonus, scores["b"].total) == (
        Decimal("30.00"),
        Decimal("0"),
        Decimal("80.00"),
    )
    # c: 30 * 8000 / 9000 = 26.666.. -> 26.67; 81.67; bonus 8.167 -> 8.17; total 89.84
    assert scores["c"].economic == Decimal("26.67") and scores["c"].total == Decimal("89.84")
    assert [scores[k].rank for k in "acbx"] == [1, 2, 3, None]


def test_ties_go_to_the_sme_then_to_the_earliest_receipt():
    weights = {"economic_weight": Decimal(30), "bonus_rate": Decimal("0.10")}
    same = [_candidate("late_sme", "100", "50", sme=True, at=5), _candidate("early", "100", "50")]
    assert score_lot(same, **weights)["late_sme"].rank == 1
    both_sme = [
        _candidate("second", "100", "50", sme=True, at=5),
        _candidate("first", "100", "50", sme=True, at=1),
    ]
    ranked = score_lot(both_sme, **weights)
    assert (ranked["first"].rank, ranked["second"].rank) == (1, 2)
    assert tie_break_key(both_sme[1]) < tie_break_key(both_sme[0])


def test_where_the_lowest_price_wins_there_is_no_technical_score_nor_bonus():
    scores = score_lot(
        [
            _candidate("local_sme", "10000.01", "90", sme=True, local=True),
            _candidate("cheapest", "10000.00", "0"),
        ],
        economic_weight=Decimal(100),
        bonus_rate=Decimal("0.10"),
        lowest_price_wins=True,
    )
    assert scores["cheapest"].rank == 1 and scores["local_sme"].rank == 2
    assert scores["local_sme"].technical == 0 and scores["local_sme"].bonus == 0


# --- the table of a real opening ------------------------------------------------------------


def _bidder(tender, size, domicile=CUSCO):
    return tender.bidder(size_class=size, domicile_id=domicile)


def _partner(tender, lead, size, domicile=CUSCO):
    partner = SupplierFactory(domicile_id=domicile)
    classify(partner, size, tender.during.year - 1)
    tender.consent(partner, lead)
    return [(lead, Decimal("60"), True), (partner, Decimal("40"), False)]


def _opened(department=CUSCO):
    """Four bids in one lot (hand-computed in test_the_table_...): A a local micro, B a
    local medium enterprise, C a consortium of local SMEs, D a consortium of SMEs with one
    member from another department; and a withdrawn bid E."""
    tender = tender_in(department)
    a, a_user = _bidder(tender, "micro")
    tender.submit(a_user, a, prices=unit_prices(tender, "10000"))
    b, b_user = _bidder(tender, "medium")
    tender.submit(b_user, b, prices=unit_prices(tender, "8000"))
    c, c_user = _bidder(tender, "micro")
    c_members = _partner(tender, c, "small")
    tender.submit(c_user, c, prices=unit_prices(tender, "9000"), members=c_members)
    d, d_user = _bidder(tender, "micro")
    d_members = _partner(tender, d, "micro", domicile=AREQUIPA)
    tender.submit(d_user, d, prices=unit_prices(tender, "12000"), members=d_members)
    e, e_user = _bidder(tender, "micro")
    tender.submit(e_user, e, prices=unit_prices(tender, "1000"))
    with clock.pinned(tender.during):
        bids.withdraw_bid(e_user, tender.process, e)
    open_tender(tender)
    return tender, {"a": a, "b": b, "c": c, "d": d, "e": e}


def _fill(tender, member, technical: dict, inadmissible: dict | None = None):
    criterion = tender.process.criteria.get(kind="technical")
    draft = evaluation.current_evaluation(tender.process)
    for entry in draft.entries.select_related("opened_bid"):
        supplier = entry.opened_bid.lead_supplier
        if inadmissible and supplier in inadmissible:
            evaluation.record_entry(
                actor=member, entry=entry, admissible=False, reason=inadmissible[supplier]
            )
        else:
            evaluation.record_entry(
                actor=member,
                entry=entry,
                admissible=True,
                scores={criterion.pk: technical[supplier]},
            )


def _entries(table) -> dict:
    return {e.opened_bid.lead_supplier: e for e in table.entries.select_related("opened_bid")}


def test_the_table_scores_a_consortium_and_gives_the_local_bonus_outside_lima():
    tender, s = _opened(CUSCO)
    first, second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
        technical = {s["a"]: "60", s["b"]: "50", s["c"]: "55", s["d"]: "70"}
        _fill(tender, second, technical)
        published = evaluation.publish_evaluation(actor=second, process=tender.process)
    assert published.pk == draft.pk and published.version == 1 and published.published
    rows = _entries(published)
    assert s["e"] not in rows  # withdrawn: the act does not let it in
    # A: 60 + 30*8000/10000 = 84.00, +10% = 92.40
    assert (rows[s["a"]].economic_score, rows[s["a"]].bonus, rows[s["a"]].total) == (
        Decimal("24.00"),
        Decimal("8.40"),
        Decimal("92.40"),
    )
    # B: a medium enterprise, no bonus: 50 + 30 = 80.00
    assert rows[s["b"]].bonus == 0 and rows[s["b"]].total == Decimal("80.00")
    # C: a consortium of local SMEs: 55 + 26.67 = 81.67, +8.17 = 89.84
    assert rows[s["c"]].local_sme and rows[s["c"]].total == Decimal("89.84")
    assert set(rows[s["c"]].size_classes.values()) == {"micro", "small"}
    # D: one member domiciled in Arequipa, no bonus: 70 + 30*8000/12000 = 90.00
    assert rows[s["d"]].sme and not rows[s["d"]].local_sme
    assert rows[s["d"]].total == Decimal("90.00")
    assert [rows[s[k]].rank for k in "adcb"] == [1, 2, 3, 4]
    stored = default_storage.open(published.document.file.name).read()
    assert hashlib.sha256(stored).hexdigest() == published.document.sha256
    assert stored.startswith(b"%PDF") and b"92,40" in stored


def test_a_lima_entity_gives_no_local_bonus():
    tender, s = _opened(LIMA)
    first, second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")):
        evaluation.start_evaluation(actor=first, process=tender.process)
        _fill(tender, first, {s["a"]: "60", s["b"]: "50", s["c"]: "55", s["d"]: "70"})
        published = evaluation.publish_evaluation(actor=first, process=tender.process)
    rows = _entries(published)
    assert not any(row.local_sme or row.bonus for row in rows.values())
    assert rows[s["a"]].total == Decimal("84.00") and rows[s["d"]].rank == 1


def test_the_bonus_rate_is_a_setting(settings):
    settings.LOCAL_SME_BONUS_RATE = "0.05"
    tender, s = _opened(CUSCO)
    first, _second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")):
        evaluation.start_evaluation(actor=first, process=tender.process)
        _fill(tender, first, {s["a"]: "60", s["b"]: "50", s["c"]: "55", s["d"]: "70"})
        published = evaluation.publish_evaluation(actor=first, process=tender.process)
    assert _entries(published)[s["a"]].bonus == Decimal("4.20")  # 5% of 84.00


def test_only_bids_the_act_marks_valid_are_evaluated():
    tender, s = _opened(CUSCO)
    opening_row = tender.process.openings.get(status="completed")
    assert {b.lead_supplier for b in evaluation.evaluable_bids(opening_row)} == {
        s[k] for k in "abcd"
    }
    assert OpenedBid.objects.filter(opening=opening_row, status="withdrawn").count() == 1


def test_entries_are_judged_by_the_rule_and_hostile_values_refused():
    tender, s = _opened(CUSCO)
    first, _second = committee(tender)
    criterion = tender.process.criteria.get(kind="technical")
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
        entry = draft.entries.first()
        with raises_domain("reason_required", field="reason"):
            evaluation.record_entry(actor=first, entry=entry, admissible=False, reason="  ")
        for value, code in [
            ("70.01", "score_out_of_range"),  # above the criterion's weight (70)
            ("-1", "score_out_of_range"),
            ("NaN", "score_out_of_range"),
            ("Infinity", "score_out_of_range"),
            ("1e999999", "score_out_of_range"),
            ("abc", "score_out_of_range"),
            ("10.001", "score_precision"),
            ("", "score_required"),
        ]:
            with raises_domain(code):
                evaluation.record_entry(
                    actor=first, entry=entry, admissible=True, scores={criterion.pk: value}
                )
        with raises_domain("criterion_unknown"):
            evaluation.record_entry(actor=first, entry=entry, admissible=True, scores={999999: "1"})
        with raises_domain("entries_pending"):
            evaluation.publish_evaluation(actor=first, process=tender.process)
    assert EvaluationEntry.objects.get(pk=entry.pk).admissible is None


def test_only_the_committee_evaluates():
    tender, _s = _opened(CUSCO)
    first, _second = committee(tender)
    outsiders = [staff_of(tender.process.entity), staff_of(EntityFactory()), admin_user()]
    with clock.pinned(stage_start(tender, "evaluacion")):
        for outsider in outsiders:
            with pytest.raises(PermissionDenied):
                evaluation.start_evaluation(actor=outsider, process=tender.process)
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
        for outsider in outsiders:
            with pytest.raises(PermissionDenied):
                evaluation.record_entry(
                    actor=outsider, entry=draft.entries.first(), admissible=False, reason="x"
                )
            with pytest.raises(PermissionDenied):
                evaluation.publish_evaluation(actor=outsider, process=tender.process)


def test_a_published_table_is_immutable_and_a_new_version_needs_a_reason():
    tender, s = _opened(CUSCO)
    first, _second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")), raises_domain("draft_exists"):
        evaluation.start_evaluation(actor=first, process=tender.process)
        evaluation.start_evaluation(actor=first, process=tender.process)
    with clock.pinned(stage_start(tender, "evaluacion")):
        _fill(tender, first, {s["a"]: "60", s["b"]: "50", s["c"]: "55", s["d"]: "70"})
        published = evaluation.publish_evaluation(actor=first, process=tender.process)
        with raises_domain("published"):
            evaluation.record_entry(
                actor=first, entry=published.entries.first(), admissible=False, reason="x"
            )
        with raises_domain("reason_required", field="reason"):
            evaluation.start_evaluation(actor=first, process=tender.process)
    row = published.entries.first()
    for change in [
        lambda: EvaluationEntry.objects.filter(pk=row.pk).update(total=Decimal("99")),
        lambda: Evaluation.objects.filter(pk=published.pk).update(reason="otra"),
        lambda: row.scores.all().delete(),
    ]:
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    with clock.pinned(stage_start(tender, "evaluacion")):
        second = evaluation.start_evaluation(
            actor=first, process=tender.process, reason="Error material en la experiencia"
        )
    assert second.version == 2 and second.reason.startswith("Error material")


def test_direct_contracting_has_no_evaluation_table():
    tender, _s = _opened(CUSCO)
    first, _second = committee(tender)
    type(tender.process).objects.filter(pk=tender.process.pk).update(procedure_type="CD")
    tender.process.refresh_from_db()
    with clock.pinned(stage_start(tender, "evaluacion")), raises_domain("no_evaluation"):
        evaluation.start_evaluation(actor=first, process=tender.process)
    assert not Evaluation.objects.exists()


def test_a_lot_without_admissible_bids_is_deserted_at_publication():
    tender, s = _opened(CUSCO)
    first, _second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")):
        evaluation.start_evaluation(actor=first, process=tender.process)
        reasons = {s[k]: "No presenta la garantía" for k in "abcd"}
        _fill(tender, first, {}, inadmissible=reasons)
        evaluation.publish_evaluation(actor=first, process=tender.process)
    tender.process.refresh_from_db()
    award = Award.objects.get(process=tender.process)
    assert award.status == Award.Status.DESERTED and award.reason
    assert tender.process.status == ProcessStatus.DESERTED
    assert tender.process.history.filter(action="desert").count() == 1


def test_price_comparison_ranks_by_the_lowest_admissible_price_without_technical_score():
    from tests.procurement.test_bids_opening import _called_compre

    tender, _receipt = _called_compre()
    open_tender(tender)
    first, _second = committee(tender)
    assert evaluation.technical_criteria(tender.process) == []
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
        entry = draft.entries.get()
        with raises_domain("criterion_unknown"):
            evaluation.record_entry(actor=first, entry=entry, admissible=True, scores={1: "5"})
        evaluation.record_entry(actor=first, entry=entry, admissible=True)
        published = evaluation.publish_evaluation(actor=first, process=tender.process)
    row = published.entries.get()
    assert row.rank == 1 and row.technical_score == 0 and row.bonus == 0
    assert row.economic_score == Decimal("100.00") == row.total


def test_the_bonus_follows_the_snapshot_taken_when_the_table_starts():
    tender, s = _opened(CUSCO)
    first, _second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")):
        evaluation.start_evaluation(actor=first, process=tender.process)
        # A grows into a large enterprise while the table is being filled
        classify(s["a"], "medium_or_large", tender.during.year)
        _fill(tender, first, {s["a"]: "60", s["b"]: "50", s["c"]: "55", s["d"]: "70"})
        published = evaluation.publish_evaluation(actor=first, process=tender.process)
    row = _entries(published)[s["a"]]
    assert row.local_sme and row.bonus == Decimal("8.40")
    assert row.size_classes == {s["a"].ruc: "micro"}


def test_the_bonus_reads_the_standing_the_opening_act_recorded():
    """Issue 10: the local SME bonus is judged on the bidder's size class and domicile as the
    opening act recorded them. A grows into a large enterprise (last year's sales reviewed)
    and C's partner moves to Lima after the opening: the table started afterwards, and the
    one redone later, still give them the bonus they had on the opening day."""
    from procurement.models import OpenedBidMember
    from procurement.services.opening import standing_day
    from suppliers.models import Supplier
    from suppliers.services import sme_standing_on

    tender, s = _opened(CUSCO)
    opening = evaluation.completed_opening(tender.process)
    day = standing_day(tender.process, opening.confirmed_at)
    recorded = OpenedBid.objects.get(opening=opening, lead_supplier=s["a"])
    assert recorded.size_classes == {s["a"].ruc: "micro"}
    assert recorded.domiciles == {s["a"].ruc: CUSCO}
    partner = (
        OpenedBidMember.objects.filter(
            opened_bid__opening=opening, opened_bid__lead_supplier=s["c"]
        )
        .exclude(supplier=s["c"])
        .get()
        .supplier
    )
    classify(s["a"], "medium_or_large", day.year - 1, source="review")
    Supplier.objects.filter(pk=partner.pk).update(domicile_id=LIMA)
    # The suppliers' records, read today for the opening day, say otherwise now.
    assert not sme_standing_on(s["a"], day).is_sme
    first, second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")):
        evaluation.start_evaluation(actor=first, process=tender.process)
        technical = {s["a"]: "60", s["b"]: "50", s["c"]: "55", s["d"]: "70"}
        _fill(tender, second, technical)
        published = evaluation.publish_evaluation(actor=second, process=tender.process)
        redone = evaluation.start_evaluation(
            actor=first, process=tender.process, reason="Error material en la experiencia"
        )
        _fill(tender, second, technical)
        redone = evaluation.publish_evaluation(actor=second, process=tender.process)
    assert redone.version == 2
    for table in (published, redone):
        rows = _entries(table)
        assert rows[s["a"]].size_classes == {s["a"].ruc: "micro"}
        assert (rows[s["a"]].local_sme, rows[s["a"]].total) == (True, Decimal("92.40"))
        assert (rows[s["c"]].local_sme, rows[s["c"]].total) == (True, Decimal("89.84"))
        assert [rows[s[k]].rank for k in "adcb"] == [1, 2, 3, 4]
