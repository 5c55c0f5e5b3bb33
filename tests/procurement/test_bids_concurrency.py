"""Concurrent bidders in two processes: every submission gets its own receipt and ledger
position, and the chain never forks (the advisory lock serialises ledger writers)."""

import threading

import pytest
from django.db import connection

from procurement.models import ReceiptLedgerEntry
from procurement.receipts import verify_ledger
from tests.procurement.bidding import called_tender


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_chain_without_forks():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises every writer anyway")
    tenders = [called_tender(items=1), called_tender(items=1)]
    bidders = [(tender, *tender.bidder()) for tender in tenders for _ in range(3)]
    receipts, errors = [], []
    start = threading.Barrier(len(bidders))

    def bid(tender, supplier, user):
        try:
            start.wait(timeout=30)
            for _round in range(2):  # a submission and a replacement
                receipts.append(tender.submit(user, supplier))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=bid, args=args) for args in bidders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(receipts) == 2 * len(bidders)
    positions = sorted(receipt.position for receipt in receipts)
    assert positions == list(range(1, len(receipts) + 1))
    assert ReceiptLedgerEntry.objects.count() == len(receipts)
    report = verify_ledger()
    assert report.ok and report.checked == len(receipts)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirmations_open_once_with_one_act():
    """Two confirmations of the same pending opening at the same moment (a double click, or
    two members): the process lock lets one unseal and publish; the other is refused."""
    from core import clock
    from core.errors import DomainError
    from procurement.models import BidOpening, CommitteeMember, ProcessDocument
    from procurement.services import opening

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises every writer anyway")
    tender = called_tender(items=1)
    for _ in range(2):
        tender.submit(*reversed(tender.bidder()))
    starter = tender.staff
    second = CommitteeMember.objects.exclude(user=starter).get(process=tender.process).user
    moment = opening.opening_day_stage(tender.process).opens_at
    with clock.pinned(moment):
        opening.start_opening(actor=starter, process=tender.process)
    outcomes = []
    start = threading.Barrier(2)

    def confirm():
        try:
            start.wait(timeout=30)
            with clock.pinned(moment):
                opening.confirm_opening(actor=second, process=tender.process)
            outcomes.append("opened")
        except DomainError as error:
            outcomes.append(error.code)
        except Exception as error:  # noqa: BLE001 - reported below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["already_opened", "opened"], outcomes
    assert BidOpening.objects.filter(status=BidOpening.Status.COMPLETED).count() == 1
    assert ProcessDocument.objects.filter(kind=ProcessDocument.Kind.ACT).count() == 1


@pytest.mark.django_db(transaction=True)
def test_bidders_do_not_wait_for_each_other_but_a_change_of_the_process_waits_for_them():
    """A bid in flight holds the process under a shared lock: another bidder of the same
    process is received meanwhile, while a status change (FOR UPDATE, as the calendar
    amendment and the opening take) waits until the bid is stored."""
    from django.db import OperationalError, transaction

    from core import clock
    from procurement.services import bids
    from procurement.services.processes.status import suspend_for_appeal

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises every writer anyway")
    tender = called_tender(items=1)
    waiting, waiting_user = tender.bidder()
    holding, release = threading.Event(), threading.Event()

    def bid_in_flight():
        try:
            with transaction.atomic():
                bids._process_for_bidders(tender.process)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=bid_in_flight)
    thread.start()
    try:
        assert holding.wait(timeout=10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
            receipt = tender.submit(waiting_user, waiting)
        assert receipt.position == 1
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            with clock.pinned(tender.during):
                suspend_for_appeal(actor=tender.staff, process=tender.process, reason="Recurso")
    finally:
        release.set()
        thread.join(timeout=30)
    tender.process.refresh_from_db()
    assert tender.process.status == "convocado"


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_the_first_submission_gives_two_versions_not_an_error():
    """Two first submissions of one bidder at once: the unique bid row makes the second wait
    for the first, then it is received as the next version."""
    from core import clock
    from procurement.models import Bid
    from procurement.services import bids
    from tests.procurement.bidding import pdf

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises every writer anyway")
    tender = called_tender(items=1)
    supplier, user = tender.bidder()
    with clock.pinned(tender.during):
        document = bids.upload_draft_document(user, tender.process, supplier, pdf(), title="P")
    received, errors = [], []
    start = threading.Barrier(2)

    def submit():
        try:
            start.wait(timeout=30)
            with clock.pinned(tender.during):
                received.append(
                    bids.submit_bid(
                        user,
                        tender.process,
                        supplier,
                        prices=tender.prices(),
                        documents=[document.pk],
                    )
                )
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(r.content["version"] for r in received) == [1, 2]
    assert Bid.objects.filter(process=tender.process).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_opening_and_a_calendar_amendment_wait_for_a_bid_received_at_the_deadline(
    monkeypatch,
):
    """A bid received at the last instant and still being stored holds the process under
    its shared lock: a calendar amendment and the opening (both FOR UPDATE) wait until it
    commits, so the opening cannot unseal while a bid judged in time is still arriving,
    and then opens it."""
    from datetime import timedelta

    from django.db import OperationalError, transaction

    from core import clock
    from procurement import receipts as ledger
    from procurement.models import CommitteeMember, OpenedBid
    from procurement.receipts import instant as receipts_instant
    from procurement.services import opening, processes

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises every writer anyway")
    tender = called_tender(items=1)
    supplier, user = tender.bidder()
    tender.submit(user, supplier)  # its draft documents and a first version, before
    storing, release = threading.Event(), threading.Event()
    original = ledger.append_to_ledger

    def paused_append(**kwargs):
        if not release.is_set():
            storing.set()  # the version is written, the transaction still open
            release.wait(timeout=30)
        return original(**kwargs)

    monkeypatch.setattr(ledger, "append_to_ledger", paused_append)
    received, errors = [], []

    def last_instant_bid():
        try:
            received.append(tender.submit(user, supplier, at=tender.deadline))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=last_instant_bid)
    thread.start()
    try:
        assert storing.wait(timeout=30)
        stages = {s.stage: (s.start, s.end) for s in tender.process.stages.all()}
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            with clock.pinned(tender.during):
                processes.set_calendar(tender.staff, tender.process, stages, reason="Prórroga")
        opens_at = max(tender.deadline, opening.opening_day_stage(tender.process).opens_at)
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            with clock.pinned(opens_at + timedelta(seconds=1)):
                opening.start_opening(actor=tender.staff, process=tender.process)
    finally:
        release.set()
        thread.join(timeout=60)
    assert not errors, errors
    assert received[0].content["version"] == 2
    assert received[0].received_at == receipts_instant(tender.deadline)
    second = CommitteeMember.objects.exclude(user=tender.staff).get(process=tender.process).user
    with clock.pinned(opens_at + timedelta(seconds=2)):
        opening.start_opening(actor=tender.staff, process=tender.process)
        opening.confirm_opening(actor=second, process=tender.process)
    opened = OpenedBid.objects.get(opening__process=tender.process)
    assert opened.receipt_hash == received[0].receipt_hash
