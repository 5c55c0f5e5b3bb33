"""Submitting, replacing, withdrawing bids; the deadline; consortia; SME-only; paper bids."""

import logging
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from core import clock
from core.errors import DomainError
from core.models import AuditEntry
from procurement.models import (
    Bid,
    BidMemberTag,
    BidVersion,
    ConsortiumConsent,
    ReceiptLedgerEntry,
    SealedDocument,
)
from procurement.receipts import instant, verify_ledger
from procurement.services import bids
from tests.domain import raises_domain
from tests.factories import EntityFactory, SupplierFactory, staff_of, user_of
from tests.procurement.bidding import called_tender, classify, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def tender():
    return called_tender()


def test_a_bid_is_sealed_receipted_and_ledgered(tender):
    supplier, user = tender.bidder()
    receipt = tender.submit(user, supplier)
    assert receipt.position == 1 and receipt.kind == "bid" and not receipt.paper
    assert receipt.content["version"] == 1
    assert receipt.content["lead"]["ruc"] == supplier.ruc
    assert receipt.content["user"]["id"] == user.pk
    assert receipt.content["total"] == "2000.00"  # 2 items x quantity 100 x S/ 10.00
    bid = bids.own_bid(tender.process, supplier)
    assert bid.status == Bid.Status.SUBMITTED and bid.current_version.number == 1
    assert bids.bid_count(tender.process) == 1
    assert [e.receipt_hash for e in bids.ledger_rows(tender.process)] == [receipt.receipt_hash]
    assert bids.own_bid(tender.process, SupplierFactory()) is None
    assert verify_ledger().ok


def test_late_by_one_second_is_refused_logged_and_not_receipted(tender, caplog):
    supplier, user = tender.bidder()
    with clock.pinned(tender.during):
        document = bids.upload_draft_document(
            user, tender.process, supplier, pdf(), title="Propuesta"
        )
    late = tender.deadline + timedelta(seconds=1)
    caplog.set_level(logging.WARNING, logger="procurement.bids")
    with raises_domain("late"), clock.pinned(late):
        bids.submit_bid(
            user, tender.process, supplier, prices=tender.prices(), documents=[document.pk]
        )
    assert not BidVersion.objects.exists() and not ReceiptLedgerEntry.objects.exists()
    assert not Bid.objects.exists()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert tender.process.identifier in message and "Late" in message
    assert supplier.ruc not in message and user.email not in message
    assert supplier.legal_name not in message
    # At the deadline itself it is still in time.
    with clock.pinned(tender.deadline):
        receipt = bids.submit_bid(
            user, tender.process, supplier, prices=tender.prices(), documents=[document.pk]
        )
    assert receipt.received_at == instant(tender.deadline)


def test_replacement_is_version_two_and_both_receipts_are_kept(tender):
    supplier, user = tender.bidder()
    first = tender.submit(user, supplier)
    second = tender.submit(user, supplier, prices=tender.prices(Decimal("9.50")))
    assert second.content["version"] == 2
    assert first.receipt_hash != second.receipt_hash
    bid = bids.own_bid(tender.process, supplier)
    assert list(bid.versions.values_list("number", "receipt_hash")) == [
        (1, first.receipt_hash),
        (2, second.receipt_hash),
    ]
    assert bid.current_version.number == 2
    assert list(ReceiptLedgerEntry.objects.values_list("position", "receipt_hash")) == [
        (1, first.receipt_hash),
        (2, second.receipt_hash),
    ]
    assert Bid.objects.count() == 1 and bids.bid_count(tender.process) == 1


def test_withdrawal_is_a_receipted_version_and_frees_the_supplier(tender):
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    with clock.pinned(tender.during):
        receipt = bids.withdraw_bid(user, tender.process, supplier)
    assert receipt.kind == "withdrawal" and receipt.content["version"] == 2
    bid = bids.own_bid(tender.process, supplier)
    assert bid.status == Bid.Status.WITHDRAWN
    assert bid.current_version.kind == BidVersion.Kind.WITHDRAWAL
    assert list(ReceiptLedgerEntry.objects.values_list("kind", flat=True)) == ["bid", "withdrawal"]
    assert bids.bid_count(tender.process) == 0
    assert not BidMemberTag.objects.filter(bid=bid).exists()
    with raises_domain("no_bid"), clock.pinned(tender.during):
        bids.withdraw_bid(user, tender.process, supplier)
    with raises_domain("late"), clock.pinned(tender.deadline + timedelta(seconds=1)):
        bids.withdraw_bid(user, tender.process, supplier)
    # It may bid again before the deadline: version 3.
    again = tender.submit(user, supplier)
    assert again.content["version"] == 3 and bids.bid_count(tender.process) == 1


def test_only_the_suppliers_users_submit(tender):
    supplier, _user = tender.bidder()
    for intruder in [user_of(SupplierFactory()), tender.staff]:
        with pytest.raises(PermissionDenied), clock.pinned(tender.during):
            bids.submit_bid(intruder, tender.process, supplier, prices={}, documents=[])


def test_unregistered_supplier_and_foreign_documents_are_refused(tender):
    outsider = SupplierFactory()
    with raises_domain("not_participant"), clock.pinned(tender.during):
        bids.upload_draft_document(
            user_of(outsider), tender.process, outsider, pdf(), title="Propuesta"
        )
    supplier, user = tender.bidder()
    other, other_user = tender.bidder()
    with clock.pinned(tender.during):
        theirs = bids.upload_draft_document(
            other_user, tender.process, other, pdf(), title="Propuesta"
        )
        with raises_domain("document_unknown", field="documents"):
            bids.submit_bid(
                user, tender.process, supplier, prices=tender.prices(), documents=[theirs.pk]
            )
        with raises_domain("documents_required", field="documents"):
            bids.submit_bid(user, tender.process, supplier, prices=tender.prices(), documents=[])
        bids.discard_draft_document(other_user, tender.process, other, theirs.pk)
    assert not SealedDocument.objects.exists()


def test_price_rule(tender):
    items = list(tender.process.items.order_by("pk"))
    offer = bids.priced_items(tender.process, {items[0].pk: "10.00", items[1].pk: "0.01"})
    assert offer.lines[0].unit_price == Decimal("10.00")
    assert offer.total == sum(line.line_total for line in offer.lines)
    expected = (Decimal("10.00") * items[0].quantity).quantize(Decimal("0.01"))
    assert offer.lines[0].line_total == expected
    for bad in ["0", "-1", "10.001", "abc", "NaN", "1e30"]:
        with raises_domain("price_invalid", field="prices"):
            bids.priced_items(tender.process, {items[0].pk: bad, items[1].pk: "1"})
    with raises_domain("price_missing", field="prices"):
        bids.priced_items(tender.process, {items[0].pk: "1"})
    with raises_domain("price_unknown_item", field="prices"):
        bids.priced_items(tender.process, {items[0].pk: "1", items[1].pk: "1", 999999: "1"})


def test_the_price_rule_with_the_items_the_caller_read(tender):
    """The submission's page reads the process's items for its form and hands them to the
    service (one read): the same offer as the service's own read, and an item of another
    process is as unknown as a made-up one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    items = list(tender.process.items.order_by("pk"))
    prices = {items[0].pk: "10.00", items[1].pk: "0.01"}
    with CaptureQueriesContext(connection) as queries:
        offer = bids.priced_items(tender.process, prices, items=items)
    assert len(queries) == 0
    assert offer == bids.priced_items(tender.process, prices)
    other = list(called_tender().process.items.order_by("pk"))
    with raises_domain("price_unknown_item", field="prices"):
        bids.priced_items(tender.process, {other[0].pk: "1"}, items=other)
    with raises_domain("price_unknown_item", field="prices"):
        bids.priced_items(tender.process, {**prices, other[0].pk: "1"}, items=items + other)


def test_a_process_called_by_items_takes_an_offer_for_some_items(tender):
    """Called by items (each item a lot), a bidder may price one item and leave the other."""
    items = list(tender.process.items.order_by("pk"))
    type(tender.process).objects.filter(pk=tender.process.pk).update(award_by_items=True)
    tender.process.refresh_from_db()
    offer = bids.priced_items(tender.process, {items[0].pk: "10.00", items[1].pk: ""})
    assert [line.item_id for line in offer.lines] == [items[0].pk]
    with raises_domain("price_missing", field="prices"):
        bids.priced_items(tender.process, {items[0].pk: "", items[1].pk: ""})


def _consortium(tender, share_a="60", share_b="40", lead_a=True, lead_b=False):
    lead, lead_user = tender.bidder()
    partner = SupplierFactory()
    members = [(lead, Decimal(share_a), lead_a), (partner, Decimal(share_b), lead_b)]
    return lead, lead_user, partner, members


def test_consortium_shares_and_lead(tender):
    cases = [
        ({"share_a": "60", "share_b": "30"}, "consortium_shares"),
        ({"share_a": "100", "share_b": "0"}, "consortium_shares"),
        ({"share_a": "60.001", "share_b": "39.999"}, "consortium_shares"),
        ({"lead_a": False}, "consortium_lead"),
        ({"lead_b": True}, "consortium_lead"),
        ({"lead_a": False, "lead_b": True}, "consortium_lead"),  # lead is not the submitter
    ]
    for overrides, code in cases:
        lead, user, _partner, members = _consortium(tender, **overrides)
        with raises_domain(code, field="members"):
            tender.submit(user, lead, members=members)
    lead, user, partner, members = _consortium(tender, share_a="60.5", share_b="39.5")
    with raises_domain("consortium_not_confirmed", field="members"):
        tender.submit(user, lead, members=members)
    tender.consent(partner, lead)
    receipt = tender.submit(user, lead, members=members)
    assert [(m["ruc"], m["share"], m["lead"]) for m in receipt.content["members"]] == [
        (lead.ruc, "60.50", True),
        (partner.ruc, "39.50", False),
    ]
    assert BidMemberTag.objects.filter(bid=bids.own_bid(tender.process, lead)).count() == 2
    assert bids.own_bid(tender.process, partner) == bids.own_bid(tender.process, lead)


def test_consortium_members_must_be_allowed_to_act(tender):
    lead, user = tender.bidder()
    expired = SupplierFactory(registry_valid_until=tender.bids_stage.start - timedelta(days=1))
    tender.consent(expired, lead)
    with raises_domain("registry_not_in_force", field="members"):
        tender.submit(
            user, lead, members=[(lead, Decimal(50), True), (expired, Decimal(50), False)]
        )
    provisional = SupplierFactory(ownership_provisional=True)
    tender.consent(provisional, lead)
    with raises_domain("ownership_under_review", field="members"):
        tender.submit(
            user, lead, members=[(lead, Decimal(50), True), (provisional, Decimal(50), False)]
        )


def test_a_supplier_cannot_bid_alone_and_in_a_consortium(tender):
    alone, alone_user = tender.bidder()
    tender.submit(alone_user, alone)
    lead, lead_user = tender.bidder()
    with raises_domain("consortium_not_confirmed", field="members"):
        tender.submit(
            lead_user, lead, members=[(lead, Decimal(70), True), (alone, Decimal(30), False)]
        )
    # A supplier with its own bid in force cannot consent to another lead (its own state).
    with raises_domain("own_bid_in_force"):
        tender.consent(alone, lead, user=alone_user)
    # The database holds the rule too, whatever the service does.
    other_bid = Bid.objects.create(process=tender.process, bidder_tag="f" * 64)
    alone_tag = BidMemberTag.objects.get(bid=bids.own_bid(tender.process, alone)).tag
    with pytest.raises(IntegrityError), transaction.atomic():
        BidMemberTag.objects.create(process=tender.process, bid=other_bid, tag=alone_tag)


def test_sme_only_refuses_a_non_sme_alone_or_in_a_consortium():
    tender = called_tender(sme_only=True)
    # Registered while small; classified medium since: judged at the bid, not at registration.
    medium, medium_user = tender.bidder(size_class="small")
    classify(medium, "medium", tender.during.year - 1, source="review")
    with raises_domain("sme_only"), clock.pinned(tender.during):
        bids.upload_draft_document(medium_user, tender.process, medium, pdf(), title="Propuesta")
    small, small_user = tender.bidder(size_class="small")
    large = SupplierFactory(size_class="")
    classify(large, "medium", tender.during.year - 1)
    tender.consent(large, small)
    with raises_domain("sme_only", field="members"):
        tender.submit(
            small_user, small, members=[(small, Decimal(50), True), (large, Decimal(50), False)]
        )
    micro = SupplierFactory(size_class="")
    classify(micro, "micro", tender.during.year - 2)
    tender.consent(micro, small)
    receipt = tender.submit(
        small_user, small, members=[(small, Decimal(50), True), (micro, Decimal(50), False)]
    )
    assert receipt.position == 1


def test_paper_bid_is_recorded_by_entity_staff_stamped_now(tender):
    supplier, _user = tender.bidder()
    with clock.pinned(tender.during) as now:
        receipt = bids.record_paper_bid(
            tender.staff, tender.process, supplier, prices=tender.prices(), uploads=[pdf()]
        )
        for intruder in [staff_of(EntityFactory()), user_of(supplier)]:
            with pytest.raises(PermissionDenied):
                bids.record_paper_bid(
                    intruder, tender.process, supplier, prices=tender.prices(), uploads=[]
                )
    assert receipt.paper and receipt.content["paper"] and receipt.content["user"]["role"] == "staff"
    assert receipt.received_at == instant(now)
    entry = ReceiptLedgerEntry.objects.get()
    assert entry.paper and bids.own_paper_bid(tender.process, supplier).paper
    assert len(receipt.content["documents"]) == 1
    with raises_domain("late"), clock.pinned(tender.deadline + timedelta(seconds=1)):
        bids.record_paper_bid(
            tender.staff, tender.process, SupplierFactory(), prices=tender.prices(), uploads=[]
        )


def test_the_receipt_binds_the_documents_hashes_the_user_and_the_supplier(tender):
    import hashlib

    supplier, user = tender.bidder()
    upload = pdf("propuesta firmada")
    expected = hashlib.sha256(upload.read()).hexdigest()
    upload.seek(0)
    with clock.pinned(tender.during):
        document = bids.upload_draft_document(
            user, tender.process, supplier, upload, title="Propuesta", confidential=True
        )
        [(listed, manifest)] = bids.draft_documents(tender.process, supplier)
        receipt = bids.submit_bid(
            user, tender.process, supplier, prices=tender.prices(), documents=[document.pk]
        )
    assert listed.pk == document.pk and manifest["sha256"] == expected
    [entry] = receipt.content["documents"]
    assert entry["id"] == str(document.pk) and entry["sha256"] == expected
    assert entry["confidential"] and entry["filename"] == "oferta.pdf"
    assert entry["content_type"] == "application/pdf" and entry["size"] == upload.size
    assert receipt.content["lead"] == {
        "id": supplier.pk,
        "ruc": supplier.ruc,
        "legal_name": supplier.legal_name,
    }
    assert receipt.content["user"]["email"] == user.email
    assert bids.draft_documents(tender.process, supplier) == []  # it left the draft envelope


def test_a_discarded_draft_leaves_no_file(tender, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    supplier, user = tender.bidder()
    with clock.pinned(tender.during):
        document = bids.upload_draft_document(
            user, tender.process, supplier, pdf(), title="Propuesta"
        )
        assert default_storage.exists(document.file)
        with django_capture_on_commit_callbacks(execute=True):
            bids.discard_draft_document(user, tender.process, supplier, document.pk)
        with raises_domain("document_unknown"):
            bids.discard_draft_document(user, tender.process, supplier, document.pk)
        with raises_domain("document_unknown"):
            bids.discard_draft_document(user, tender.process, supplier, "not-a-uuid")
    assert not default_storage.exists(document.file)


def test_bids_are_refused_before_the_stage_and_outside_a_called_process(tender):
    supplier, user = tender.bidder()
    with raises_domain("bids_not_open"), clock.pinned(tender.during - timedelta(days=1)):
        bids.upload_draft_document(user, tender.process, supplier, pdf(), title="Propuesta")
    tender.process.status = "suspendido"
    tender.process.save(update_fields=["status"])
    with clock.pinned(tender.during):
        refusal = bids.bid_refusal(tender.process, supplier)
    assert refusal is not None and refusal.code == "not_called"


def test_a_paper_bid_neither_meets_nor_reveals_the_suppliers_electronic_bid(tender):
    """Staff recording a paper bid learn nothing of the supplier's electronic bid: the same
    outcome whether it bid online or not, and the electronic bid stays as it was."""
    online, online_user = tender.bidder()
    electronic = tender.submit(online_user, online)
    offline, _offline_user = tender.bidder()
    with clock.pinned(tender.during):
        for supplier in (online, offline):
            assert bids.paper_bid_refusal(tender.process, supplier) is None
            receipt = bids.record_paper_bid(
                tender.staff, tender.process, supplier, prices=tender.prices(Decimal("1.00"))
            )
            assert receipt.paper and receipt.content["version"] == 1
    kept = bids.own_bid(tender.process, online)
    assert not kept.paper and kept.current_version.receipt_hash == electronic.receipt_hash
    assert bids.own_paper_bid(tender.process, online).paper
    assert BidVersion.objects.count() == 3 and ReceiptLedgerEntry.objects.count() == 3
    # A bid recorded on paper may be replaced on paper (a new envelope at the desk).
    with clock.pinned(tender.during):
        again = bids.record_paper_bid(
            tender.staff, tender.process, offline, prices=tender.prices(Decimal("9.00"))
        )
    assert again.content["version"] == 2 and again.paper


def test_a_paper_consortium_does_not_need_the_portals_consent_nor_reveal_it(tender):
    """The paper envelope holds the signed consortium promise: a member's consent on the
    portal (or its absence, or its own electronic bid) changes nothing for staff."""
    lead, _lead_user = tender.bidder()
    member, member_user = tender.bidder()
    tender.submit(member_user, member)
    members = [(lead, Decimal("70"), True), (member, Decimal("30"), False)]
    with clock.pinned(tender.during):
        assert bids.paper_bid_refusal(tender.process, lead, members=members) is None
        receipt = bids.record_paper_bid(
            tender.staff, tender.process, lead, prices=tender.prices(), members=members
        )
    assert [m["id"] for m in receipt.content["members"]] == [lead.pk, member.pk]
    # The member's electronic bid is untouched: still its own bid in force.
    assert bids.own_bid(tender.process, member).status == "submitted"


@pytest.mark.parametrize("written", ["1e3", "١٠٠", "1,000.00", "10.001", "-5", "0", "NaN", "1_000"])
def test_the_service_refuses_prices_not_written_as_plain_digits(tender, written):
    item = tender.process.items.order_by("pk").first()
    prices = {**tender.prices(), item.pk: written}
    with raises_domain("price_invalid", field="prices"):
        bids.priced_items(tender.process, prices)
    assert bids.priced_items(tender.process, {**prices, item.pk: " 1000.5 "}).lines[
        0
    ].unit_price == Decimal("1000.5")


def _refusal(tender, user, lead, member):
    with clock.pinned(tender.during):
        try:
            tender.submit(
                user, lead, members=[(lead, Decimal(70), True), (member, Decimal(30), False)]
            )
        except DomainError as error:
            return (error.code, error.field, error.message.replace(member.ruc, "<RUC>"))
    raise AssertionError("the consortium bid was accepted")


def test_a_lead_cannot_probe_whether_a_supplier_has_bid(tender):
    """Naming a supplier that bids alone, one that is in another consortium and one that
    does not bid at all gets exactly the same refusal: the lead learns nothing."""
    alone, alone_user = tender.bidder()
    tender.submit(alone_user, alone)
    other_lead, other_user = tender.bidder()
    partner = SupplierFactory()
    tender.consent(partner, other_lead)
    tender.submit(other_user, other_lead, members=[(other_lead, 50, True), (partner, 50, False)])
    idle, _idle_user = tender.bidder()
    prober, prober_user = tender.bidder()
    answers = {_refusal(tender, prober_user, prober, s) for s in (alone, partner, idle)}
    assert len(answers) == 1
    code, field, message = answers.pop()
    assert (code, field) == ("consortium_not_confirmed", "members")
    assert message.startswith("<RUC> ")  # names the supplier named, and nothing else


def test_consent_is_given_by_the_member_s_own_users_only(tender):
    lead, _lead_user = tender.bidder()
    member = SupplierFactory()
    stranger = user_of(SupplierFactory())
    with clock.pinned(tender.during), pytest.raises(PermissionDenied):
        bids.give_consortium_consent(stranger, tender.process, member, lead)
    with clock.pinned(tender.during), pytest.raises(PermissionDenied):
        bids.give_consortium_consent(_lead_user, tender.process, member, lead)
    assert not ConsortiumConsent.objects.exists()


def test_a_member_that_consented_cannot_bid_alone_nor_join_another(tender):
    lead, lead_user = tender.bidder()
    member, member_user = tender.bidder()
    tender.consent(member, lead, user=member_user)
    consent = ConsortiumConsent.objects.get()
    # Blind tags only: 64 hex digits of an HMAC, never the RUC nor the supplier's id.
    assert member.ruc not in repr(vars(consent))
    assert re.fullmatch(r"[0-9a-f]{64}", consent.member_tag) and consent.member_tag != str(
        member.pk
    )
    with raises_domain("consented_member"):
        tender.submit(member_user, member)
    other, _other_user = tender.bidder()
    with raises_domain("already_consented"):
        tender.consent(member, other, user=member_user)
    with raises_domain("consent_self", field="lead"), clock.pinned(tender.during):
        bids.give_consortium_consent(lead_user, tender.process, lead, lead)
    # Included in the lead's bid in force: the consent cannot be withdrawn.
    tender.submit(lead_user, lead, members=[(lead, 60, True), (member, 40, False)])
    assert bids.own_consent(tender.process, member).included
    assert bids.own_consent(tender.process, member).lead == lead
    with raises_domain("consent_in_use"), clock.pinned(tender.during):
        bids.withdraw_consortium_consent(member_user, tender.process, member)
    # The lead replaces its bid alone: the member may withdraw, then bid on its own.
    tender.submit(lead_user, lead)
    with clock.pinned(tender.during):
        bids.withdraw_consortium_consent(member_user, tender.process, member)
    assert not ConsortiumConsent.objects.exists()
    assert tender.submit(member_user, member).content["lead"]["ruc"] == member.ruc
    # Naming it again is refused: it no longer consents.
    with raises_domain("consortium_not_confirmed", field="members"):
        tender.submit(lead_user, lead, members=[(lead, 60, True), (member, 40, False)])
    entries = AuditEntry.objects.filter(action__startswith="bid.consortium").order_by("sequence")
    assert [(e.action, e.actor_id, e.data) for e in entries] == [
        ("bid.consortium_consent_given", None, {"identifier": tender.process.identifier}),
        ("bid.consortium_consent_withdrawn", None, {"identifier": tender.process.identifier}),
    ]
