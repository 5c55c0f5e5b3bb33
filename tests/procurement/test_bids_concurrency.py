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
