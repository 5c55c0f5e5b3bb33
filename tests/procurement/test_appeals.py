"""Appeals: filed by a bidder during the standstill, the process suspended and the consent
task skipping it; resolved by the entity's head or, above the threshold, the tribunal (never
the committee); each path's effect on the award, the process status and the standstill."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from core import clock
from notifications.models import Audience, Event, EventKind
from procurement.models import Appeal, Award, CommitteeMember, ProcessStatus, ProcurementProcess
from procurement.services import appeals, awards, evaluation
from procurement.tasks import consent_awards
from tests.domain import raises_domain
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    head_of,
    staff_of,
    tribunal_member,
    user_of,
)
from tests.procurement.evaluating import awarded_tender, committee

pytestmark = pytest.mark.django_db


def _filed(*, small=False, subject="buena_pro"):
    """An awarded LP with two bidders; the runner-up appeals on the award's day. `small`: the
    process's value below the tribunal's threshold (the entity's head resolves)."""
    tender, award, people = awarded_tender(bidders=2)
    if small:
        ProcurementProcess.objects.filter(pk=tender.process.pk).update(
            estimated_value=Decimal("100000")
        )
    process = ProcurementProcess.objects.get(pk=tender.process.pk)
    loser, loser_user = people[1]
    entry = None
    if subject != "buena_pro":
        entry = award.evaluation.entries.get(opened_bid=award.opened_bid)
    moment = clock.local(award.standstill_ends)
    with clock.pinned(moment):
        appeal = appeals.file_appeal(
            actor=loser_user,
            process=process,
            supplier=loser,
            award=award,
            subject=subject,
            entry=entry,
            reasons="La oferta ganadora no acredita la experiencia.",
            fee_amount=Decimal("1500"),
        )
    return tender, award, people, appeal, moment


def test_a_bidder_files_and_the_process_is_suspended_and_not_consented():
    tender, award, _people, appeal, moment = _filed()
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.SUSPENDED
    assert tender.process.suspended_from == ProcessStatus.AWARDED
    assert appeal.status == Appeal.Status.FILED and appeal.fee_amount == Decimal("1500")
    assert appeal.resolver == Appeal.Resolver.TRIBUNAL  # S/ 450,000 is above 50 UIT
    assert appeal.due_on > moment.date()
    filed = Event.objects.filter(kind=EventKind.APPEAL_FILED)
    assert set(filed.values_list("audience", flat=True)) == {
        Audience.PUBLIC,
        Audience.PARTICIPANTS,
    }
    # The suspension names its appeal: its news is told once, by the appeal's event.
    suspended = Event.objects.get(kind=EventKind.PROCESS_SUSPENDED, process=tender.process)
    assert suspended.payload["appeal"] == appeal.pk
    with clock.pinned(moment + timedelta(days=30)):
        assert consent_awards() == 0
    award.refresh_from_db()
    assert award.status == Award.Status.AWARDED


def test_only_a_bidder_during_the_standstill_appeals():
    tender, award, people = awarded_tender(bidders=1)
    outsider = SupplierFactory()  # no bid in the opening act
    with clock.pinned(clock.local(award.standstill_ends)), raises_domain("not_a_bidder"):
        appeals.file_appeal(
            actor=user_of(outsider),
            process=tender.process,
            supplier=outsider,
            award=award,
            subject="buena_pro",
            reasons="x",
            fee_amount=1,
        )
    winner, winner_user = people[0]
    late = clock.local(award.standstill_ends) + timedelta(days=1)
    with clock.pinned(late), raises_domain("standstill_over"):
        appeals.file_appeal(
            actor=winner_user,
            process=tender.process,
            supplier=winner,
            award=award,
            subject="buena_pro",
            reasons="x",
            fee_amount=1,
        )
    with clock.pinned(clock.local(award.standstill_ends)), pytest.raises(PermissionDenied):
        appeals.file_appeal(
            actor=tender.staff,
            process=tender.process,
            supplier=winner,
            award=award,
            subject="buena_pro",
            reasons="x",
            fee_amount=1,
        )
    assert not Appeal.objects.exists()


def test_an_appeal_against_a_score_names_the_bid_and_its_fee():
    _tender, _award, _people, appeal, _moment = _filed(subject="puntaje")
    assert appeal.entry is not None
    tender, award, people = awarded_tender(bidders=2)
    with clock.pinned(clock.local(award.standstill_ends)):
        with raises_domain("entry_invalid"):
            appeals.file_appeal(
                actor=people[1][1],
                process=tender.process,
                supplier=people[1][0],
                award=award,
                subject="admision",
                reasons="x",
                fee_amount=1,
            )
        with raises_domain("fee_invalid"):
            appeals.file_appeal(
                actor=people[1][1],
                process=tender.process,
                supplier=people[1][0],
                award=award,
                subject="buena_pro",
                reasons="x",
                fee_amount=0,
            )


def test_inadmissible_consents_the_award_and_resumes():
    tender, award, _people, appeal, moment = _filed(small=True)
    head = head_of(tender.process.entity)
    with clock.pinned(moment + timedelta(days=1)):
        with raises_domain("resolution_required"):
            appeals.decide_appeal(actor=head, appeal=appeal, decision="inadmissible")
        appeals.decide_appeal(
            actor=head, appeal=appeal, decision="inadmissible", resolution="Fuera de plazo."
        )
    award.refresh_from_db()
    tender.process.refresh_from_db()
    assert award.status == Award.Status.CONSENTED
    assert award.consented_on == (moment + timedelta(days=1)).date()
    assert tender.process.status in (ProcessStatus.AWARDED, ProcessStatus.CONSENTED)
    assert tender.process.history.filter(action="resume").count() == 1
    resumed = Event.objects.get(kind=EventKind.PROCESS_RESUMED, process=tender.process)
    assert resumed.payload["appeal"] == appeal.pk
    resolved = Event.objects.filter(kind=EventKind.APPEAL_RESOLVED)
    assert set(resolved.values_list("audience", flat=True)) == {
        Audience.PUBLIC,
        Audience.PARTICIPANTS,
    }


def test_unfounded_after_admission_consents_the_award():
    tender, award, _people, appeal, moment = _filed()
    judge = tribunal_member()
    with clock.pinned(moment + timedelta(days=2)):
        with raises_domain("appeal_decision_not_allowed"):
            appeals.decide_appeal(actor=judge, appeal=appeal, decision="unfounded", resolution="x")
        appeals.decide_appeal(actor=judge, appeal=appeal, decision="admit")
        tender.process.refresh_from_db()
        assert tender.process.status == ProcessStatus.SUSPENDED  # admitted: still running
        appeals.decide_appeal(
            actor=judge, appeal=appeal, decision="unfounded", resolution="Experiencia acreditada."
        )
    award.refresh_from_db()
    assert award.status == Award.Status.CONSENTED
    appeal.refresh_from_db()
    assert appeal.resolved_by == judge and appeal.status == Appeal.Status.UNFOUNDED


def test_founded_sends_the_process_back_to_evaluation_then_a_new_award_and_standstill():
    tender, award, people, appeal, moment = _filed()
    judge = tribunal_member()
    day = moment + timedelta(days=2)
    with clock.pinned(day):
        appeals.decide_appeal(actor=judge, appeal=appeal, decision="admit")
        appeals.decide_appeal(
            actor=judge, appeal=appeal, decision="founded", resolution="Experiencia no acreditada."
        )
    award.refresh_from_db()
    tender.process.refresh_from_db()
    assert award.status == Award.Status.REVOKED
    assert tender.process.status == ProcessStatus.CALLED
    assert tender.process.history.filter(action="reevaluate").count() == 1
    first, _second = committee(tender)
    criterion = tender.process.criteria.get(kind="technical")
    with clock.pinned(day):
        with raises_domain("reason_required"):
            evaluation.start_evaluation(actor=first, process=tender.process)
        draft = evaluation.start_evaluation(
            actor=first, process=tender.process, reason="Recurso fundado"
        )
        assert draft.version == 2
        for entry in draft.entries.select_related("opened_bid"):
            winner = entry.opened_bid.lead_supplier_id == people[1][0].pk
            evaluation.record_entry(
                actor=first,
                entry=entry,
                admissible=True,
                scores={criterion.pk: "60" if winner else "30"},
            )
        evaluation.publish_evaluation(actor=first, process=tender.process)
        published = evaluation.published_evaluation(tender.process)
        new = awards.qualify(
            actor=first,
            process=tender.process,
            entry=awards.next_to_qualify(published, None),
            passed=True,
        )
    assert new.supplier_id == people[1][0].pk and new.status == Award.Status.AWARDED
    assert new.standstill_ends > award.standstill_ends
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.AWARDED


def test_withdrawal_by_the_appellant_resumes():
    tender, award, people, appeal, moment = _filed()
    with clock.pinned(moment), pytest.raises(PermissionDenied):
        appeals.decide_appeal(actor=people[0][1], appeal=appeal, decision="withdraw")
    with clock.pinned(moment):
        appeals.decide_appeal(actor=people[1][1], appeal=appeal, decision="withdraw")
    tender.process.refresh_from_db()
    assert tender.process.status != ProcessStatus.SUSPENDED
    award.refresh_from_db()
    assert award.status == Award.Status.CONSENTED


def test_who_resolves():
    tender, _award, _people, appeal, moment = _filed(small=True)
    entity = tender.process.entity
    member, _second = committee(tender)
    head_in_committee = head_of(entity)
    CommitteeMember.objects.filter(user=member).update(user=head_in_committee)
    refused = [
        head_in_committee,
        head_of(EntityFactory()),
        staff_of(entity),
        tribunal_member(),  # below the threshold it is the entity's head
    ]
    with clock.pinned(moment):
        for user in refused:
            assert not appeals.may_resolve(user, appeal)
            with pytest.raises(PermissionDenied):
                appeals.decide_appeal(actor=user, appeal=appeal, decision="admit")
        head = head_of(entity)
        assert appeals.may_resolve(head, appeal)
        assert list(appeals.resolvable_appeals(head)) == [appeal]
        assert not appeals.resolvable_appeals(head_in_committee).exists()
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.FILED


def test_staff_cannot_resume_while_an_appeal_is_open():
    from procurement.services import processes

    tender, _award, _people, _appeal, moment = _filed()
    with clock.pinned(moment), raises_domain("appeal_open"):
        processes.resume(actor=tender.staff, process=tender.process, reason="Resuelto")


def test_an_appeal_past_its_legal_term_shows_overdue():
    from django.test import Client

    from core.workdays import WorkingCalendar
    from procurement.rules import APPEAL_RESOLUTION_WORKING_DAYS

    tender, _award, _people, appeal, moment = _filed()
    expected = WorkingCalendar().add_working_days(
        moment.date(), APPEAL_RESOLUTION_WORKING_DAYS["tribunal"]
    )
    assert appeal.due_on == expected
    with clock.pinned(clock.local(appeal.due_on)):
        assert not appeal.is_overdue
    with clock.pinned(clock.local(appeal.due_on) + timedelta(days=1)):
        assert appeal.is_overdue
        page = Client().get(f"/procesos/{tender.process.identifier}/").content.decode()
        assert 'data-code="overdue"' in page
