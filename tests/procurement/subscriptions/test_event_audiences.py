"""Who hears of each event of a process (issue 13, "From event to notice"): its news reach
its participants and followers, the staff hear what they must act on, nobody else hears
anything, and no notice carries a sealed detail (a price, a bidder) before the opening."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from core import clock
from notifications import dispatch, events
from notifications.models import Audience, Event, EventKind, Notice
from procurement.models import Contract
from procurement.services import awards, contracts, evaluation, opening
from procurement.subscriptions.follows import follow_process
from procurement.subscriptions.process_notices import UNTOLD
from tests.factories import EntityFactory, SupplierFactory, UserFactory, head_of, staff_of, user_of
from tests.procurement.bidding import called_tender
from tests.procurement.evaluating import (
    committee,
    consent,
    stage_start,
    tender_in,
    unit_prices,
)

pytestmark = pytest.mark.django_db


def _dispatch(capture):
    with capture(execute=True):
        return dispatch.dispatch_pending()


def _to(mailoutbox) -> set[str]:
    return {address for message in mailoutbox for address in message.to}


def test_every_kind_is_told_by_a_handler_or_untold_on_purpose():
    handled = set(dispatch.handled_kinds())
    assert handled.isdisjoint(UNTOLD)
    assert set(EventKind.values) == handled | set(UNTOLD)


PARTICIPANTS_AND_FOLLOWERS = "news"
COMMITTEE = "committee"

# Each kind of the list, how its service records it (audiences: appeals and
# contracts are recorded twice, once for the participants and once for the public), its
# payload, and who must hear of it.
AUDIENCES = [
    (EventKind.PROCESS_CALENDAR_AMENDED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_DOCUMENT_PUBLISHED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_ANSWERS_PUBLISHED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (
        EventKind.PROCESS_INTEGRATED_BASES_PUBLISHED,
        [Audience.PUBLIC],
        {},
        {PARTICIPANTS_AND_FOLLOWERS},
    ),
    (EventKind.PROCESS_BIDS_OPENED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_AWARDED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_DESERTED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_CANCELLED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_ANNULLED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_RESTARTED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (
        EventKind.APPEAL_FILED,
        [Audience.PARTICIPANTS, Audience.PUBLIC],
        {"resolver": "entity_head", "due_on": "2030-03-15"},
        {PARTICIPANTS_AND_FOLLOWERS, COMMITTEE, "head"},
    ),
    (
        EventKind.APPEAL_RESOLVED,
        [Audience.PARTICIPANTS, Audience.PUBLIC],
        {"resolver": "entity_head"},
        {PARTICIPANTS_AND_FOLLOWERS},
    ),
    (EventKind.PROCESS_CONSENTED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS, COMMITTEE}),
    # Suspended or resumed by an appeal: told by the appeal's own event, not twice ...
    (EventKind.PROCESS_SUSPENDED, [Audience.PUBLIC], {"appeal": 7}, set()),
    (EventKind.PROCESS_RESUMED, [Audience.PUBLIC], {"appeal": 7}, set()),
    # ... by the entity's staff: told as such.
    (EventKind.PROCESS_SUSPENDED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_RESUMED, [Audience.PUBLIC], {}, {PARTICIPANTS_AND_FOLLOWERS}),
    (EventKind.PROCESS_QUESTION_SUBMITTED, [Audience.STAFF], {}, {COMMITTEE}),
    (EventKind.PROCESS_NO_BIDS, [Audience.STAFF], {}, {COMMITTEE}),
    (
        EventKind.CONTRACT_SIGNED,
        [Audience.PARTICIPANTS, Audience.PUBLIC],
        {"number": "C-7", "amount": "1000.00"},
        {PARTICIPANTS_AND_FOLLOWERS},
    ),
    (
        EventKind.CONTRACT_AMENDED,
        [Audience.PARTICIPANTS, Audience.PUBLIC],
        {"number": "C-7", "kind": "adicional", "amendment_amount": "200.00"},
        {PARTICIPANTS_AND_FOLLOWERS},
    ),
    (
        EventKind.CONTRACT_ENDED,
        [Audience.PARTICIPANTS, Audience.PUBLIC],
        {"number": "C-7", "action": "terminate", "reason": "Incumplimiento"},
        {PARTICIPANTS_AND_FOLLOWERS},
    ),
]


def test_each_kind_reaches_its_audience_once_and_nobody_else(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    process = tender.process
    _supplier, participant = tender.bidder()
    follower = UserFactory(email="periodista@diario.pe")
    follow_process(actor=follower, process=process)
    head = head_of(process.entity)
    members = set(process.committee_members.values_list("user__email", flat=True))
    # Nobody of these takes part in, follows or runs this process.
    outsiders = {
        UserFactory().email,
        user_of(SupplierFactory()).email,  # a supplier that did not register
        staff_of(process.entity).email,  # the entity's staff, not on the committee
        staff_of(EntityFactory()).email,
    }
    other = called_tender(items=1)
    follow_process(actor=UserFactory(email="otro@diario.pe"), process=other.process)
    outsiders |= {"otro@diario.pe", other.bidder()[1].email}
    _dispatch(django_capture_on_commit_callbacks)
    expected_of = {
        PARTICIPANTS_AND_FOLLOWERS: {participant.email, follower.email},
        COMMITTEE: members,
        "head": {head.email},
    }

    for kind, audiences, payload, who in AUDIENCES:
        mailoutbox.clear()
        with transaction.atomic():
            for audience in audiences:
                events.record(
                    kind,
                    process,
                    entity=process.entity,
                    audience=audience,
                    payload={"identifier": process.identifier, **payload},
                )
        _dispatch(django_capture_on_commit_callbacks)
        expected = set().union(*(expected_of[w] for w in who))
        assert _to(mailoutbox) == expected, kind
        assert len(mailoutbox) == len(expected), kind  # once each, however many copies
        assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mailoutbox), kind
        assert not _to(mailoutbox) & outsiders, kind
        assert Notice.objects.filter(event__kind=kind).count() == len(expected), kind


def test_contract_news_says_how_it_ended_in_the_recipients_language(
    django_capture_on_commit_callbacks, mailoutbox
):
    tender = called_tender(items=1)
    _supplier, participant = tender.bidder()
    english = UserFactory(email="reader@press.org", language="en")
    follow_process(actor=english, process=tender.process)
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()
    with transaction.atomic():
        events.record(
            EventKind.CONTRACT_ENDED,
            tender.process,
            payload={"number": "C-7", "action": "terminate", "reason": "Incumplimiento"},
        )
    _dispatch(django_capture_on_commit_callbacks)
    to_reader = next(m for m in mailoutbox if m.to == [english.email])
    to_participant = next(m for m in mailoutbox if m.to == [participant.email])
    assert to_reader.subject == f"{tender.process.identifier}: Contract terminated (resolved)"
    assert "The contract C-7 was terminated (resolved)." in to_reader.body
    assert "Incumplimiento" in to_reader.body
    assert "El contrato C-7 fue resuelto." in to_participant.body
    assert to_participant.subject.endswith("Contrato resuelto")


def test_from_the_opening_to_the_contract_through_the_services(
    django_capture_on_commit_callbacks, mailoutbox
):
    """The opening act, the award, the consent and the contract's signature, amendment and
    completion, as the services record them: each reaches the participants and followers
    (and the consent the committee, whose standstill ended); no notice before the opening
    carries a price or names a bidder."""
    tender = tender_in("080101")
    process = tender.process
    people = [tender.bidder(size_class="micro", domicile_id="080101") for _n in range(2)]
    follower = UserFactory(email="periodista@diario.pe")
    follow_process(actor=follower, process=process)
    outsider = UserFactory(email="nadie@correo.pe")
    news = {follower.email} | {user.email for _s, user in people}
    members = set(process.committee_members.values_list("user__email", flat=True))
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()

    for n, (supplier, user) in enumerate(people):
        tender.submit(user, supplier, prices=unit_prices(tender, f"{8765 + n}"))
    first, second = committee(tender)

    with clock.pinned(tender.deadline + timedelta(minutes=1)):
        _dispatch(django_capture_on_commit_callbacks)  # the receipts
    assert {m.to[0] for m in mailoutbox} == {user.email for _s, user in people}
    stage = opening.opening_day_stage(process)
    with clock.pinned(max(tender.deadline, stage.opens_at) + timedelta(seconds=1)):
        with django_capture_on_commit_callbacks(execute=True):
            opening.start_opening(actor=first, process=process)
        _dispatch(django_capture_on_commit_callbacks)  # the second member is asked
    assert _to(mailoutbox[-1:]) == {second.email}
    # The bids' line totals and unit prices as any e-mail could write them.
    sealed = ["8\xa0765,00", "8,765.00", "8765.00", "87,65", "87.65"]
    sealed += ["8\xa0766,00", "8,766.00", "8766.00", "87,66", "87.66"]
    sealed += [s.legal_name for s, _u in people] + [s.ruc for s, _u in people]
    for message in mailoutbox:
        text = message.body + message.alternatives[0][0]
        assert not [secret for secret in sealed if secret in text], message.subject
    mailoutbox.clear()

    with clock.pinned(max(tender.deadline, stage.opens_at) + timedelta(seconds=2)):
        opening.confirm_opening(actor=second, process=process)
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == news
    assert "apertura" in mailoutbox[0].body
    mailoutbox.clear()

    criterion = process.criteria.get(kind="technical")
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=process)
        for entry in draft.entries.all():
            evaluation.record_entry(
                actor=first, entry=entry, admissible=True, scores={criterion.pk: "50"}
            )
        evaluation.publish_evaluation(actor=first, process=process)
        mailoutbox.clear()
    with clock.pinned(stage_start(tender, "buena_pro")):
        award = awards.qualify(
            actor=first,
            process=process,
            entry=awards.next_to_qualify(evaluation.published_evaluation(process), None),
            passed=True,
        )
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == news
    assert Event.objects.filter(kind=EventKind.PROCESS_AWARDED).exists()
    mailoutbox.clear()

    award = consent(award)
    with clock.pinned(clock.local(award.consented_on)):
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == news | members
    to_member = next(m for m in mailoutbox if m.to == [first.email])
    assert "contrato" in to_member.body and f"/gestion/procesos/{process.pk}/" in to_member.body
    mailoutbox.clear()

    with clock.pinned(clock.local(award.consented_on) + timedelta(days=2)):
        contract = contracts.sign_contract(
            actor=tender.staff,
            award=award,
            number="CONTRATO-001-2026",
            signed_on=award.consented_on + timedelta(days=1),
            term_days=60,
            guarantee=Contract.Guarantee.PERFORMANCE_BOND,
        )
        contracts.amend_contract(
            actor=tender.staff,
            contract=contract,
            kind="adicional",
            amount=Decimal("100"),
            reason="Mayor cantidad",
            signed_on=contract.signed_on,
        )
        contracts.complete_contract(
            actor=tender.staff,
            contract=contract,
            completed_on=contract.signed_on,
            final_amount=contract.amount + 100,
        )
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == news
    assert len(mailoutbox) == 3 * len(news)  # signed, amended, completed: once each
    bodies = {m.subject: m.body for m in mailoutbox if m.to == [follower.email]}
    text = "\n".join(bodies.values())
    assert "El contrato CONTRATO-001-2026 fue suscrito por S/" in text
    assert "Mayor cantidad" in text and "culminado" in text
    assert outsider.email not in _to(mailoutbox)


def test_questions_answers_bases_and_an_amended_document_through_the_services(
    django_capture_on_commit_callbacks, mailoutbox
):
    """A question reaches the committee alone, naming nobody; the answers, the integrated
    bases and a document's amendment (with its reason) reach the participants and
    followers, as the services record them."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from procurement.services import participation, processes

    def pdf(name):
        return SimpleUploadedFile(name, b"%PDF-1.7\n%%EOF\n" + name.encode())

    tender = called_tender(items=1)
    process = tender.process
    supplier, participant = tender.bidder()
    follower = UserFactory(email="periodista@diario.pe")
    follow_process(actor=follower, process=process)
    UserFactory(email="nadie@correo.pe")
    news = {participant.email, follower.email}
    members = set(process.committee_members.values_list("user__email", flat=True))
    stages = {s.stage: s for s in process.stages.all()}
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()

    with clock.pinned(clock.local(stages["consultas"].start)):
        question = participation.submit_question(
            participant, process, supplier, "¿Se acepta entrega parcial?"
        )
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == members
    assert all(supplier.legal_name not in m.body and supplier.ruc not in m.body for m in mailoutbox)
    mailoutbox.clear()

    participation.answer_question(tender.staff, question, "Sí, en dos entregas.")
    with clock.pinned(clock.local(stages["absolucion"].start)):
        participation.publish_answers(tender.staff, process, upload=pdf("absolucion.pdf"))
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == news and len(mailoutbox) == 2
    assert "absolución" in mailoutbox[0].body or "respuestas" in mailoutbox[0].body
    mailoutbox.clear()

    with clock.pinned(clock.local(stages["integracion"].start)):
        bases = participation.publish_integrated_bases(
            tender.staff, process, upload=pdf("bases-integradas.pdf")
        )
        _dispatch(django_capture_on_commit_callbacks)
        assert _to(mailoutbox) == news and len(mailoutbox) == 2
        mailoutbox.clear()
        processes.publish_document(
            tender.staff,
            process,
            kind=bases.kind,
            title="Bases integradas (fe de erratas)",
            upload=pdf("bases-integradas-2.pdf"),
            replaces=bases,
            reason="Corrige el anexo 3",
        )
        _dispatch(django_capture_on_commit_callbacks)
    assert _to(mailoutbox) == news and len(mailoutbox) == 2
    assert all("Corrige el anexo 3" in m.body for m in mailoutbox)


def test_an_appeal_names_itself_on_the_suspension_it_makes():
    """The services say which appeal suspended or resumed a process (the event's "appeal"),
    so the news is told once, by the appeal; the staff's own suspension names none."""
    from procurement.services.processes import status

    tender = called_tender(items=1)
    with transaction.atomic():
        status.suspend_for_appeal(
            actor=tender.staff, process=tender.process, reason="Medida cautelar"
        )
    suspended = Event.objects.get(kind=EventKind.PROCESS_SUSPENDED, process=tender.process)
    assert "appeal" not in suspended.payload
    with transaction.atomic():
        status.resume(actor=tender.staff, process=tender.process, reason="Levantada")
    resumed = Event.objects.get(kind=EventKind.PROCESS_RESUMED, process=tender.process)
    assert "appeal" not in resumed.payload
