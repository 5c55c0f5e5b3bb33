"""The opening of sealed bids: two committee members after the deadline, the act with what
the bids said (members, shares, amounts, paper, withdrawn, unreadable), its PDF and pages."""

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.utils import translation

from core import clock
from notifications.models import Event, EventKind
from procurement import document_store
from procurement.models import (
    BidOpening,
    BidVersion,
    CommitteeMember,
    OpenedBid,
    ProcessDocument,
    SealedDocument,
)
from procurement.services import bids, opening
from tests.domain import raises_domain
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    admin_user,
    auditor,
    staff_of,
    user_of,
)
from tests.procurement.bidding import called_tender, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def tender():
    return called_tender()


def members_of(tender):
    first = tender.staff
    second = CommitteeMember.objects.exclude(user=first).get(process=tender.process).user
    return first, second


def after(tender, seconds=1):
    """`seconds` into the day the calendar announces the opening (after the deadline)."""
    day = opening.opening_day_stage(tender.process).opens_at
    return max(tender.deadline, day) + timedelta(seconds=seconds)


def open_bids(tender, *, observer="", at=None):
    first, second = members_of(tender)
    with clock.pinned(at or after(tender)):
        opening.start_opening(actor=first, process=tender.process, observer=observer)
        return opening.confirm_opening(actor=second, process=tender.process)


def test_the_opening_is_refused_one_second_before_the_deadline(tender):
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    first, _second = members_of(tender)
    with clock.pinned(tender.deadline - timedelta(seconds=1)), raises_domain("before_deadline"):
        opening.start_opening(actor=first, process=tender.process)
    with clock.pinned(tender.deadline), raises_domain("before_deadline"):
        opening.start_opening(actor=first, process=tender.process)
    assert not BidOpening.objects.exists()
    with clock.pinned(after(tender)):
        started = opening.start_opening(actor=first, process=tender.process)
    assert started.status == BidOpening.Status.PENDING


def test_the_opening_waits_for_the_announced_opening_day(tender):
    """Right after the deadline (the evening before the calendar's opening day) the bids
    stay sealed: observers were told the opening day."""
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    # The bid stage closes at 17:00 of its last day; the opening day is the next one.
    type(tender.bids_stage).objects.filter(pk=tender.bids_stage.pk).update(closing_time="17:00")
    tender.bids_stage.refresh_from_db()
    first, _second = members_of(tender)
    day = tender.process.stages.get(stage="apertura").opens_at
    assert day > tender.deadline + timedelta(hours=6)
    for moment in [tender.deadline + timedelta(seconds=1), day - timedelta(seconds=1)]:
        with clock.pinned(moment), raises_domain("before_opening_day"):
            opening.start_opening(actor=first, process=tender.process)
    assert open_bids(tender, at=day).status == BidOpening.Status.COMPLETED


def test_one_member_alone_cannot_open(tender):
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    first, _second = members_of(tender)
    with clock.pinned(after(tender)):
        opening.start_opening(actor=first, process=tender.process)
        with raises_domain("same_member"):
            opening.confirm_opening(actor=first, process=tender.process)
        with raises_domain("opening_pending"):
            opening.start_opening(actor=first, process=tender.process)
    assert not OpenedBid.objects.exists()
    assert not ProcessDocument.objects.filter(kind=ProcessDocument.Kind.ACT).exists()


def test_only_the_committee_opens(tender):
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    first, _second = members_of(tender)
    outsiders = [
        staff_of(EntityFactory()),  # another entity's staff
        user,  # a supplier
        auditor(),
        admin_user(),
    ]
    with clock.pinned(after(tender)):
        for outsider in outsiders:
            with pytest.raises(PermissionDenied):
                opening.start_opening(actor=outsider, process=tender.process)
        colleague = staff_of(tender.process.entity)  # same entity, not in the committee
        with pytest.raises(PermissionDenied):
            opening.start_opening(actor=colleague, process=tender.process)
        opening.start_opening(actor=first, process=tender.process)
        for outsider in [*outsiders, colleague]:
            with pytest.raises(PermissionDenied):
                opening.confirm_opening(actor=outsider, process=tender.process)
    assert BidOpening.objects.get().status == BidOpening.Status.PENDING


def test_an_unconfirmed_opening_expires_and_can_be_started_again(tender, settings):
    settings.OPENING_CONFIRM_MINUTES = 30
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    first, second = members_of(tender)
    start = after(tender)
    with clock.pinned(start):
        started = opening.start_opening(actor=first, process=tender.process)
    assert started.confirm_by == start + timedelta(minutes=30)
    with clock.pinned(start + timedelta(minutes=31)), raises_domain("opening_expired"):
        opening.confirm_opening(actor=second, process=tender.process)
    assert not OpenedBid.objects.exists()
    with clock.pinned(start + timedelta(minutes=32)):
        again = opening.start_opening(actor=second, process=tender.process, observer="Notaria")
        assert BidOpening.objects.get(pk=started.pk).status == BidOpening.Status.EXPIRED
        done = opening.confirm_opening(actor=first, process=tender.process)
    assert done.pk == again.pk and done.status == BidOpening.Status.COMPLETED
    assert done.started_by == second and done.confirmed_by == first
    with clock.pinned(start + timedelta(minutes=40)), raises_domain("already_opened"):
        opening.start_opening(actor=first, process=tender.process)


def test_no_bids_no_opening_and_the_process_page_says_so(tender):
    first, _second = members_of(tender)
    with clock.pinned(after(tender)):
        with raises_domain("no_bids"):
            opening.start_opening(actor=first, process=tender.process)
        page = Client().get(f"/procesos/{tender.process.identifier}/")
    assert "ready to be declared deserted" in page.content.decode() or "desierto" in (
        page.content.decode()
    )


def test_the_act_reveals_what_was_submitted(tender):
    lead, lead_user = tender.bidder()
    partner = SupplierFactory()
    tender.consent(partner, lead)
    members = [(lead, Decimal("60"), True), (partner, Decimal("40"), False)]
    tender.submit(lead_user, lead, members=members, prices=tender.prices(Decimal("12.34")))
    alone, alone_user = tender.bidder()
    tender.submit(alone_user, alone, prices=tender.prices(Decimal("11.00")))
    tender.submit(alone_user, alone, prices=tender.prices(Decimal("10.50")))  # replaced
    paper, _paper_user = tender.bidder()
    with clock.pinned(tender.during):
        bids.record_paper_bid(
            tender.staff,
            tender.process,
            paper,
            prices=tender.prices(Decimal("9.99")),
            uploads=[pdf("escaneo", name="escaneo.pdf")],
        )
    gone, gone_user = tender.bidder()
    tender.submit(gone_user, gone)
    with clock.pinned(tender.during):
        withdrawal = bids.withdraw_bid(gone_user, tender.process, gone)

    done = open_bids(tender, observer="Notaria Pérez")
    assert done.status == BidOpening.Status.COMPLETED and done.observer == "Notaria Pérez"
    by_lead = {b.lead_supplier_id: b for b in done.bids.all()}
    assert set(by_lead) == {lead.pk, alone.pk, paper.pk, gone.pk}

    consortium = by_lead[lead.pk]
    assert consortium.status == OpenedBid.Status.VALID and not consortium.paper
    assert {(m.supplier_id, m.share, m.is_lead) for m in consortium.members.all()} == {
        (lead.pk, Decimal("60.00"), True),
        (partner.pk, Decimal("40.00"), False),
    }
    # 2 items x quantity 100 x S/ 12.34
    assert consortium.total == Decimal("2468.00")
    assert {(line.unit_price, line.line_total) for line in consortium.lines.all()} == {
        (Decimal("12.34"), Decimal("1234.00"))
    }
    assert by_lead[alone.pk].version == 2 and by_lead[alone.pk].total == Decimal("2100.00")
    assert by_lead[paper.pk].paper and by_lead[paper.pk].total == Decimal("1998.00")
    assert by_lead[gone.pk].status == OpenedBid.Status.WITHDRAWN
    assert by_lead[gone.pk].receipt_hash == withdrawal.receipt_hash
    assert by_lead[gone.pk].total is None
    documents = list(consortium.documents.all())
    assert len(documents) == 1 and documents[0].filename == "oferta.pdf"
    with document_store.open_verified(documents[0].file, documents[0].sha256) as handle:
        assert b"oferta" in handle.read()

    act = done.act
    assert act.kind == ProcessDocument.Kind.ACT and act.process == tender.process
    stored = default_storage.open(act.file.name).read()
    assert hashlib.sha256(stored).hexdigest() == act.sha256 and stored.startswith(b"%PDF-1.4")
    for text in [
        lead.ruc,
        partner.ruc,
        paper.ruc,
        consortium.receipt_hash,
        withdrawal.receipt_hash,
        "Notaria Pérez",
    ]:
        assert text.encode("cp1252") in stored, text
    assert b"en papel" in stored and b"Retirada" in stored

    event = Event.objects.get(kind=EventKind.PROCESS_BIDS_OPENED)
    assert event.audience == "public"
    assert event.payload == {"identifier": tender.process.identifier, "bid_count": 4}


def _stage_reads_of_the_confirmation(tender, bids: int) -> int:
    """The queries of the calendar's stages the confirmation of an opening of `bids` bids
    makes (and that each bid's standing was recorded)."""
    from django.test.utils import CaptureQueriesContext

    from procurement.models import ProcessStage

    bidders = [tender.bidder() for _n in range(bids)]
    for supplier, user in bidders:
        tender.submit(user, supplier)
    first, second = members_of(tender)
    with clock.pinned(after(tender)):
        opening.start_opening(actor=first, process=tender.process)
        with CaptureQueriesContext(connection) as queries:
            done = opening.confirm_opening(actor=second, process=tender.process)
    assert {supplier.ruc for supplier, _user in bidders} == {
        ruc for bid in done.bids.all() for ruc in bid.size_classes
    }
    stages = f'FROM "{ProcessStage._meta.db_table}"'
    return sum(1 for query in queries.captured_queries if stages in query["sql"])


def test_the_opening_reads_the_standing_day_once_not_per_bid():
    """The day the bidders' SME standing is judged on (opening.standing_day) is one for
    the whole act: read once, however many bids it unseals."""
    assert _stage_reads_of_the_confirmation(called_tender(), 3) == (
        _stage_reads_of_the_confirmation(called_tender(), 1)
    )


def test_a_supplier_in_two_bids_counts_once_the_last_received(tender):
    """A paper and an electronic bid of the same supplier are sealed apart; the opening
    counts the one received last and marks the earlier superseded, in the act too."""
    both, both_user = tender.bidder()
    tender.submit(both_user, both, prices=tender.prices(Decimal("10.00")))
    with clock.pinned(tender.during + timedelta(minutes=5)):
        bids.record_paper_bid(
            tender.staff, tender.process, both, prices=tender.prices(Decimal("8.00"))
        )
    # A consortium on paper with a member that also bid alone online, later.
    lead, _lead_user = tender.bidder()
    member, member_user = tender.bidder()
    with clock.pinned(tender.during + timedelta(minutes=10)):
        bids.record_paper_bid(
            tender.staff,
            tender.process,
            lead,
            prices=tender.prices(Decimal("7.00")),
            members=[(lead, Decimal("50"), True), (member, Decimal("50"), False)],
        )
    tender.submit(member_user, member, at=tender.during + timedelta(minutes=20))

    done = open_bids(tender)
    opened = {(b.lead_supplier_id, b.paper): b for b in done.bids.all()}
    online_both, paper_both = opened[(both.pk, False)], opened[(both.pk, True)]
    assert online_both.status == OpenedBid.Status.SUPERSEDED
    assert online_both.superseded_by == paper_both
    assert paper_both.status == OpenedBid.Status.VALID
    consortium, alone = opened[(lead.pk, True)], opened[(member.pk, False)]
    assert consortium.status == OpenedBid.Status.SUPERSEDED
    assert consortium.superseded_by == alone and alone.status == OpenedBid.Status.VALID
    with translation.override("en"):
        lines = opening.act_lines(tender.process, done, list(done.bids.order_by("position")))
    assert any(f"superseded by bid {paper_both.position}," in line for line in lines)
    assert any(f"superseded by bid {alone.position}," in line for line in lines)


def _flip_sealed_version(version: BidVersion):
    sealed = bytearray(bytes(version.sealed))
    sealed[-5] ^= 1
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks before ALTER TABLE
        cursor.execute(
            "ALTER TABLE procurement_bidversion DISABLE TRIGGER procurement_bidversion_append_only"
        )
        cursor.execute(
            "UPDATE procurement_bidversion SET sealed = %s WHERE id = %s",
            [bytes(sealed), version.pk],
        )
        cursor.execute(
            "ALTER TABLE procurement_bidversion ENABLE TRIGGER procurement_bidversion_append_only"
        )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_a_tampered_ciphertext_is_reported_unreadable_with_its_receipt(tender):
    good, good_user = tender.bidder()
    tender.submit(good_user, good)
    bad, bad_user = tender.bidder()
    bad_receipt = tender.submit(bad_user, bad)
    _flip_sealed_version(BidVersion.objects.get(receipt_hash=bad_receipt.receipt_hash))
    broken_file, broken_user = tender.bidder()
    file_receipt = tender.submit(broken_user, broken_file, marker="documento-roto")
    version = BidVersion.objects.get(receipt_hash=file_receipt.receipt_hash)
    document = SealedDocument.objects.get(bid=version.bid)
    path = Path(default_storage.path(document.file))
    raw = bytearray(path.read_bytes())
    raw[40] ^= 1
    path.write_bytes(bytes(raw))

    done = open_bids(tender)
    opened = {b.receipt_hash: b for b in done.bids.all()}
    assert opened[bad_receipt.receipt_hash].status == OpenedBid.Status.UNREADABLE
    assert opened[file_receipt.receipt_hash].status == OpenedBid.Status.UNREADABLE
    assert "document" in opened[file_receipt.receipt_hash].problem
    assert not opened[file_receipt.receipt_hash].documents.exists()
    valid = [b for b in opened.values() if b.status == OpenedBid.Status.VALID]
    assert [b.lead_supplier for b in valid] == [good]
    stored = default_storage.open(done.act.file.name).read()
    assert bad_receipt.receipt_hash.encode() in stored
    assert file_receipt.receipt_hash.encode() in stored
    assert stored.count(b"ILEGIBLE") == 2


# --- the calendar once bids are in -----------------------------------------------------------


def _dates(process):
    return {s.stage: (s.start, s.end) for s in process.stages.all()}


def _later_by_a_working_day(process):
    from core.workdays import WorkingCalendar

    cal = WorkingCalendar()
    order = [s.stage for s in process.stages.order_by("position")]
    dates = _dates(process)
    moved = {}
    for stage in order:
        start, end = dates[stage]
        if order.index(stage) > order.index("ofertas"):
            start = cal.add_working_days(start, 1)
        if order.index(stage) >= order.index("ofertas") or stage == "registro":
            end = cal.add_working_days(end, 1)
        moved[stage] = (start, end)
    return moved


def test_with_bids_in_the_deadline_only_moves_later_and_bidders_are_told(tender):
    from datetime import time

    from procurement.services import processes

    supplier, user = tender.bidder()
    first = tender.submit(user, supplier)
    old_deadline = tender.deadline
    with clock.pinned(tender.during):
        with raises_domain("deadline_earlier_with_bids", field="calendar"):
            processes.set_calendar(
                tender.staff,
                tender.process,
                _dates(tender.process),
                reason="Adelanto",
                closing_times={"ofertas": time(12, 0)},  # the same day, earlier
            )
        processes.set_calendar(
            tender.staff, tender.process, _later_by_a_working_day(tender.process), reason="Prórroga"
        )
    stage = tender.process.stages.get(stage="ofertas")
    assert stage.closes_at > old_deadline
    event = Event.objects.get(kind=EventKind.PROCESS_BID_DEADLINE_MOVED)
    assert event.audience == "participants"
    assert event.payload == {
        "identifier": tender.process.identifier,
        "deadline": stage.closes_at.isoformat(),
    }
    # The bid in force is still current, and it can be replaced after the old deadline.
    bid = bids.own_bid(tender.process, supplier)
    assert bid.current_version.receipt_hash == first.receipt_hash
    second = tender.submit(user, supplier, at=old_deadline + timedelta(hours=1))
    bid.refresh_from_db()
    assert bid.current_version.receipt_hash == second.receipt_hash
    assert bid.current_version.number == 2


def test_without_bids_the_deadline_may_move_earlier(tender):
    from datetime import time

    from procurement.services import processes

    with clock.pinned(tender.during):
        processes.set_calendar(
            tender.staff,
            tender.process,
            _dates(tender.process),
            reason="Adelanto",
            closing_times={"ofertas": time(12, 0)},
        )
    assert not Event.objects.filter(kind=EventKind.PROCESS_BID_DEADLINE_MOVED).exists()


# --- pages ---------------------------------------------------------------------------------


def test_the_act_page_before_during_and_after(tender):
    supplier, user = tender.bidder()
    with clock.pinned(tender.during):
        public = bids.upload_draft_document(
            user, tender.process, supplier, pdf("publico"), title="Propuesta técnica"
        )
        secret = bids.upload_draft_document(
            user,
            tender.process,
            supplier,
            pdf("secreto", name="estados.pdf"),
            title="Estados financieros",
            confidential=True,
        )
        receipt = bids.submit_bid(
            user,
            tender.process,
            supplier,
            prices=tender.prices(Decimal("77.77")),
            documents=[public.pk, secret.pk],
        )
    url = f"/procesos/{tender.process.identifier}/apertura/"
    anonymous = Client()
    with clock.pinned(tender.during):
        before = anonymous.get(url).content.decode()
    assert receipt.receipt_hash in before and f"/recibos/{receipt.receipt_hash}/" in before
    assert supplier.legal_name not in before and "7777" not in before and "77,77" not in before
    assert 'http-equiv="refresh"' not in before

    first, second = members_of(tender)
    with clock.pinned(after(tender)):
        opening.start_opening(actor=first, process=tender.process, observer="Notaria Pérez")
        during = anonymous.get(url).content.decode()
        assert '<meta http-equiv="refresh" content="10">' in during
        assert 'data-phase="pending"' in during and supplier.legal_name not in during
        process_page = anonymous.get(f"/procesos/{tender.process.identifier}/").content.decode()
        assert url in process_page
        opening.confirm_opening(actor=second, process=tender.process)
        page = anonymous.get(url).content.decode()
    assert 'http-equiv="refresh"' not in page
    done = BidOpening.objects.get(status=BidOpening.Status.COMPLETED)
    for text in [
        supplier.legal_name,
        supplier.ruc,
        receipt.receipt_hash,
        "Notaria Pérez",
        done.act.sha256,
        f"/procesos/{tender.process.identifier}/documentos/{done.act.pk}/",
    ]:
        assert text in page, text
    assert "15\xa0554,00" in page or "15 554,00" in page  # 2 items x 100 x S/ 77.77
    documents = {d.title: d for d in done.bids.get().documents.all()}
    public_url = f"{url}documentos/{documents['Propuesta técnica'].pk}/"
    secret_url = f"{url}documentos/{documents['Estados financieros'].pk}/"
    assert public_url in page and secret_url not in page
    download = anonymous.get(public_url)
    body = b"".join(download.streaming_content)
    assert download.status_code == 200 and b"publico" in body
    assert download["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    assert anonymous.get(secret_url).status_code == 404
    member = Client()
    member.force_login(second)
    assert member.get(secret_url).status_code == 200
    act = anonymous.get(f"/procesos/{tender.process.identifier}/documentos/{done.act.pk}/")
    assert hashlib.sha256(b"".join(act.streaming_content)).hexdigest() == done.act.sha256


def test_the_committee_page_starts_and_confirms_once(tender):
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    first, second = members_of(tender)
    url = f"/gestion/procesos/{tender.process.pk}/apertura/"
    one, two, colleague, stranger = Client(), Client(), Client(), Client()
    one.force_login(first)
    two.force_login(second)
    colleague.force_login(staff_of(tender.process.entity))
    stranger.force_login(staff_of(EntityFactory()))
    token = "ab" * 16
    with clock.pinned(tender.deadline - timedelta(seconds=1)):
        early = one.post(url, {"action": "start", "observer": "", "form_token": token})
    assert early.status_code == 400 and 'data-code="before_deadline"' in early.content.decode()
    assert not BidOpening.objects.exists()
    with clock.pinned(after(tender)):
        assert stranger.get(url).status_code == 403
        assert stranger.post(url, {"action": "start"}).status_code == 403
        assert colleague.post(url, {"action": "start"}).status_code == 403
        page = one.get(url)
        assert page.status_code == 200 and "observer" in page.content.decode()
        data = {"action": "start", "observer": "Veeduría ciudadana", "form_token": token}
        assert one.post(url, data).status_code == 302
        assert one.post(url, data).status_code == 302  # the same form sent twice
        assert BidOpening.objects.count() == 1
        again = one.post(url, {"action": "confirm", "form_token": "cd" * 16})
        assert again.status_code == 400 and BidOpening.objects.get().status == "pending"
        confirm = {"action": "confirm", "form_token": "ef" * 16}
        assert two.post(url, confirm).status_code == 302
        assert two.post(url, confirm).status_code == 302
        late = two.post(url, {"action": "confirm", "form_token": "12" * 16})
        assert late.status_code == 400
    done = BidOpening.objects.get()
    assert done.status == "completed" and done.observer == "Veeduría ciudadana"
    assert ProcessDocument.objects.filter(kind=ProcessDocument.Kind.ACT).count() == 1
    workspace = one.get(f"/gestion/procesos/{tender.process.pk}/").content.decode()
    assert url in workspace


def test_a_type_without_opening_stage_calls_it_the_unsealing():
    from procurement.services.opening import at_evaluation

    tender = called_tender(items=1)
    assert not at_evaluation(tender.process)  # LP has an opening stage
    tender.process.procedure_type = "COMPRE"
    assert at_evaluation(tender.process)
    tender.process.procedure_type = "CD"
    assert at_evaluation(tender.process)


def _called_compre():
    """A called Comparación de Precios (no opening stage in its calendar) with one bid."""
    from core.workdays import WorkingCalendar
    from procurement.models import Participant
    from procurement.services import processes
    from tests.factories import (
        designate_committee_of_two,
        last_working_day_until_today,
        process_from_plan,
        published_plan,
    )
    from tests.procurement.bidding import Tender

    version, staff = published_plan(
        items=[{"description": "Bolígrafos", "estimated_value": Decimal("60000")}]
    )
    process = process_from_plan(staff, version, procedure_type="COMPRE", description="Útiles")
    cal = WorkingCalendar()
    add = cal.add_working_days
    call = last_working_day_until_today()
    bids_end = add(call, 8)
    evaluation = (add(bids_end, 1), add(bids_end, 3))
    award = add(evaluation[1], 1)
    standstill = (add(award, 1), add(award, 8))
    contract = (add(standstill[1], 1), add(standstill[1], 5))
    processes.set_calendar(
        staff,
        process,
        {
            "convocatoria": (call, call),
            "ofertas": (add(call, 1), bids_end),
            "evaluacion": evaluation,
            "buena_pro": (award, award),
            "consentimiento": standstill,
            "contrato": contract,
        },
    )
    designate_committee_of_two(staff, process)
    with clock.pinned(call):
        process = processes.publish_call(actor=staff, process=process)
    tender = Tender(process, staff, process.stages.get(stage="ofertas"))
    supplier = SupplierFactory()
    user = user_of(supplier)
    Participant.objects.create(
        process=process, supplier=supplier, registered_at=tender.during, registered_by=user
    )
    return tender, tender.submit(user, supplier)


def test_a_type_without_opening_stage_unseals_the_same_way_at_evaluation():
    tender, receipt = _called_compre()
    done = open_bids(tender)
    assert done.at_evaluation and done.status == BidOpening.Status.COMPLETED
    assert done.bids.get().receipt_hash == receipt.receipt_hash
    stored = default_storage.open(done.act.file.name).read()
    assert b"Acta de desellado" in stored and "evaluación".encode("cp1252") in stored


def test_a_long_act_continues_on_numbered_pages():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core import pdf as writer
    from procurement.documents import check_document
    from tests.procurement.test_seed_documents import xref_offsets_hold

    lines = [f"Línea {n}: oferta, constancia {'ab' * 16}" for n in range(200)]
    content = writer.document("Acta de apertura LP-SM-1-2026-X-1", lines)
    assert b"/Count 5" in content and xref_offsets_hold(content)
    assert b"Acta de apertura LP-SM-1-2026-X-1 \x97 5/5" in content  # the foot of the last page
    assert content.count(b" Tj T*") == 200
    assert content == writer.document("Acta de apertura LP-SM-1-2026-X-1", lines)
    assert check_document(SimpleUploadedFile("acta.pdf", content)).extension == "pdf"
