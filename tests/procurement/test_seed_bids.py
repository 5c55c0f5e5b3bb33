"""The demo seed's bids (issue 9) agree with each process's moment: sealed bids only while
the deadline is ahead or the opening has not come, a completed opening with its act after
it, one chronological ledger of signed receipts, and the demo's two-person opening and SME
bidding set up for the printed accounts. Opening a seeded process through the real service
proves the seed seals exactly as the service does."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import User
from core import clock
from core.codelists import Stage
from core.models import AuditEntry
from procurement.demo.documents import has_files
from procurement.models import (
    Bid,
    BidOpening,
    BidVersion,
    OpenedBid,
    Participant,
    ProcessDocument,
    ProcessSealKey,
    ProcessStatus,
    ProcurementProcess,
    ReceiptLedgerEntry,
    SealedDocument,
    StatusChange,
)
from procurement.services.bids import bid_refusal
from procurement.services.opening import confirm_opening, opening_refusal, start_opening
from procurement.services.participation import sme_refusal
from suppliers.models import Supplier
from tests.seeding import seeded_once

pytestmark = pytest.mark.django_db
AFTER_OPENING = {ProcessStatus.AWARDED, ProcessStatus.CONSENTED, ProcessStatus.CONTRACTED}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """A small seed for today (so the demo processes' bid stages are relative to now)."""
    with django_db_blocker.unblock():  # the clock reads the database server
        today = clock.today().isoformat()
    with seeded_once(
        django_db_blocker, tmp_path_factory, "--processes", "150", "--seed", "5", "--today", today
    ) as seeded:
        yield seeded


def _deadline(process):
    return process.stages.get(stage=Stage.BIDS).closes_at


def test_bids_agree_with_each_process_moment_and_the_ledger_verifies(seeded):
    now = clock.now()
    processes = ProcurementProcess.objects.exclude(status=ProcessStatus.DRAFT)
    with_bids = processes.annotate(n=Count("bids")).filter(n__gt=0)
    assert with_bids.count() > 60
    opened = sealed = 0
    for process in with_bids.select_related("entity"):
        deadline = _deadline(process)
        opening = BidOpening.objects.filter(process=process).first()
        bids = list(Bid.objects.filter(process=process))
        ledger = set(
            ReceiptLedgerEntry.objects.filter(process=process).values_list(
                "receipt_hash", flat=True
            )
        )
        assert len(ledger) >= len(bids), process.identifier
        if deadline >= now:
            # Before the deadline: sealed bids only, no opening, nothing in plaintext.
            assert opening is None and process.status == ProcessStatus.CALLED
        if opening is None:
            sealed += 1
            assert ProcessSealKey.objects.filter(process=process).exists()
            versions = BidVersion.objects.filter(bid__process=process)
            assert set(versions.values_list("receipt_hash", flat=True)) == ledger
            for bid in bids:
                assert bid.current_version_id is not None
                assert bid.current_version.received_at <= deadline
                assert bid.status in (Bid.Status.SUBMITTED, Bid.Status.WITHDRAWN)
            assert not OpenedBid.objects.filter(bid__process=process).exists()
            continue
        opened += 1
        # Opened: completed by two different committee members minutes apart, after the
        # deadline, while still called; its act (when the process gets files) and every
        # opened bid's receipt is in the ledger for that process.
        assert opening.status == BidOpening.Status.COMPLETED
        assert opening.started_by_id != opening.confirmed_by_id
        assert deadline < opening.started_at < opening.confirmed_at <= now
        assert opening.confirmed_at - opening.started_at < opening.confirm_by - opening.started_at
        committee = dict(process.committee_members.values_list("role", "user_id"))
        assert opening.started_by_id == committee["president"]
        assert opening.confirmed_by_id == committee["member"]
        # While it was called: a suspension lifted before the opening does not count against
        # it (the seed opens after the resumption), one still running does.
        called, since = [], None
        for change in StatusChange.objects.filter(process=process).order_by("at"):
            if change.to_status == ProcessStatus.CALLED:
                since = since or change.at
            elif since is not None:
                called.append((since, change.at))
                since = None
        if since is not None:
            called.append((since, now))
        assert any(
            begin <= opening.started_at and opening.confirmed_at < end for begin, end in called
        ), process.identifier
        opened_bids = list(opening.bids.all())
        assert len(opened_bids) == len(bids)
        assert any(b.status == OpenedBid.Status.VALID for b in opened_bids)
        for item in opened_bids:
            assert item.receipt_hash in ledger, process.identifier
            assert item.received_at <= deadline
            if item.status == OpenedBid.Status.VALID:
                lines = list(item.lines.all())
                assert lines and sum(line.line_total for line in lines) == item.total
                for line in lines:
                    estimate = line.item.estimated_value / line.item.quantity
                    assert estimate * 8 / 10 <= line.unit_price <= estimate * 11 / 10 + 1
                members = list(item.members.all())
                assert sum(m.share for m in members) == 100
                assert [m.is_lead for m in members].count(True) == 1
        position = list(
            ProcurementProcess.objects.order_by("pk").values_list("pk", flat=True)
        ).index(process.pk)
        if has_files(position, process.identifier):
            assert opening.act is not None and opening.act.kind == ProcessDocument.Kind.ACT
            assert opening.act.published_at == opening.confirmed_at
    assert opened > 30 and sealed > 5
    # Processes past their opening: awarded and later ones were all opened.
    for process in processes.filter(status__in=AFTER_OPENING):
        assert BidOpening.objects.filter(process=process, status="completed").exists(), (
            process.identifier
        )
    # Some consortia, some paper, some replaced, some withdrawn.
    assert OpenedBid.objects.annotate(m=Count("members")).filter(m__gt=1).exists()
    assert ReceiptLedgerEntry.objects.filter(paper=True).exists()
    assert ReceiptLedgerEntry.objects.filter(kind="withdrawal").exists()
    assert (
        BidVersion.objects.filter(number=2).exists() or OpenedBid.objects.filter(version=2).exists()
    )
    # Participants registered before they bid.
    assert Participant.objects.count() >= Bid.objects.count()
    # Every member of a sealed electronic consortium bid consented to its lead first, as the
    # service requires (so the demo's lead can replace its bid), and every consent belongs to
    # one. Paper consortia bring their signed promise in the envelope instead.
    from procurement.models import BidMemberTag, ConsortiumConsent

    sealed_live = Bid.objects.filter(
        status=Bid.Status.SUBMITTED, process__seal_key__isnull=False, paper=False
    ).values_list("pk", "process_id", "bidder_tag")
    expected = set()
    for bid, process, lead_tag in sealed_live:
        for tag in BidMemberTag.objects.filter(bid=bid).values_list("tag", flat=True):
            if tag != lead_tag:
                expected.add((process, tag, lead_tag))
    consents = set(ConsortiumConsent.objects.values_list("process", "member_tag", "lead_tag"))
    assert consents == expected and expected, len(expected)
    # The ledger: positions ascending with the instants of receipt, nothing after `now`.
    instants = list(
        ReceiptLedgerEntry.objects.order_by("position").values_list("received_at", flat=True)
    )
    assert instants == sorted(instants) and instants[-1] <= now
    # Sealed documents are ciphertext only, one per electronic bid of a sealed process with files.
    assert SealedDocument.objects.exists()
    # Audit entries of receipts carry no bidder and no content.
    payloads = AuditEntry.objects.filter(action__in=["bid.received", "bid.withdrawn"])
    assert payloads.count() == ReceiptLedgerEntry.objects.count()
    for payload in payloads.values_list("data", flat=True)[:200]:
        assert set(payload) == {"identifier", "receipt_hash", "kind"}
    out = StringIO()
    call_command("verify_receipts", stdout=out)
    assert "OK" in out.getvalue()
    call_command("verify_audit", stdout=StringIO())


def test_demo_processes_open_with_two_members_and_demo_smes_may_bid(seeded):
    assert "Try the sealed bids" in seeded
    micro = Supplier.objects.get(memberships__user__email="proveedor.micro@demo.portal.pe")
    small = Supplier.objects.get(memberships__user__email="proveedor.pequena@demo.portal.pe")
    for acronym, local in [
        ("MINSA", "minsa"),
        ("GORE-CUSCO", "gorecusco"),
        ("MP-AREQUIPA", "mparequipa"),
    ]:
        processes = ProcurementProcess.objects.filter(
            entity__acronym=acronym, status=ProcessStatus.CALLED
        )
        # Bid stage open, the demo SMEs registered and allowed to bid (SME-only or not).
        bidding = [
            p
            for p in processes
            if Participant.objects.filter(process=p, supplier=micro).exists()
            and _deadline(p) > clock.now()
        ]
        assert bidding, acronym
        process = bidding[0]
        assert process.identifier in seeded
        for supplier in (micro, small):
            assert bid_refusal(process, supplier) is None, (acronym, supplier)
            # Their classifications make them SMEs today (SME-only processes accept them).
            assert sme_refusal(supplier, day=clock.today()) is None
        # Deadline passed, bids sealed and not opened: staff starts, staff2 confirms.
        waiting = [
            p
            for p in processes
            if opening_refusal(p) is None and not BidOpening.objects.filter(process=p).exists()
        ]
        assert waiting, acronym
        process = waiting[0]
        assert process.identifier in seeded
        staff = User.objects.get(email=f"staff.{local}@demo.portal.pe")
        staff2 = User.objects.get(email=f"staff2.{local}@demo.portal.pe")
        in_force = Bid.objects.filter(process=process, status=Bid.Status.SUBMITTED).count()
        assert in_force >= 2
        start_opening(actor=staff, process=process)
        opening = confirm_opening(actor=staff2, process=process)
        opening.refresh_from_db()
        assert opening.status == BidOpening.Status.COMPLETED and opening.act is not None
        opened = list(opening.bids.all())
        # Every seeded bid decrypts and matches its receipt: the seed seals like the service.
        assert opened and all(b.status != OpenedBid.Status.UNREADABLE for b in opened), [
            (b.status, b.problem) for b in opened
        ]
        ledger = set(
            ReceiptLedgerEntry.objects.filter(process=process).values_list(
                "receipt_hash", flat=True
            )
        )
        assert {b.receipt_hash for b in opened} <= ledger
        valid = [b for b in opened if b.status == OpenedBid.Status.VALID]
        assert len(valid) == in_force
        assert all(b.total and b.total > 0 for b in valid)
        electronic = [b for b in valid if not b.paper]
        if electronic:
            assert any(b.documents.exists() for b in electronic)
    call_command("verify_receipts", stdout=StringIO())
