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
    return tender.deadline + timedelta(seconds=seconds)


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


def _flip_sealed_version(version: BidVersion):
    sealed = bytearray(bytes(version.sealed))
    sealed[-5] ^= 1
    with connection.cursor() as cursor:
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
