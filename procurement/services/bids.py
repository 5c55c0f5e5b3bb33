"""Sealed bids: who may bid (bid_refusal), the price rule (priced_items), the draft envelope
(upload_draft_document, discard_draft_document), submission and replacement (submit_bid),
withdrawal (withdraw_bid) and bids received on paper (record_paper_bid), plus the read helpers
pages need before the opening (own_bid, bid_count, ledger_rows, draft_documents).

Every receipted action follows one path (`_receive`): the content is built and sealed, the
bid's rows are written, then the instant of receipt is read from the database clock inside
the transaction; if it is after the bid deadline, everything rolls back, a WARNING is logged
(process and instants, never the bidder) and DomainError(code="late") is raised. Otherwise the
version is stored with its receipt hash, appended to the public ledger, audited (no actor, no
identity: identifier, receipt hash, kind) and announced to the bidder alone.

Consortia need each member's own consent: a user of the member supplier confirms, on the
process's bid page, that it takes part in the consortium a given lead leads
(give_consortium_consent; stored as blind tags of member and lead, no identity). The lead's
submission naming a member that has not consented to it is refused with
consortium_not_confirmed, the same refusal whatever that member does in the process, so a
lead cannot probe who has bid. A member that consented cannot bid alone, lead, or consent to
another lead; it withdraws its consent (withdraw_consortium_consent) only while no bid in
force includes it. The unique member tag per process (BidMemberTag) stays as the database's
backstop.

Nothing here decrypts a bid: only procurement/services/opening.py may (procurement.sealing).

Public API (for the supplier and staff pages):

    refusal = bid_refusal(process, supplier, members=None)      # DomainError | None
    offer = priced_items(process, {item_id: Decimal}, items=None)  # PricedOffer (lines, total)
    doc = upload_draft_document(user, process, supplier, upload, title=..., confidential=False)
    discard_draft_document(user, process, supplier, doc.pk)
    receipt = submit_bid(user, process, supplier, prices=..., documents=[doc.pk, ...],
                         members=[(supplier, Decimal("60"), True), (other, Decimal("40"), False)])
    receipt = withdraw_bid(user, process, supplier)
    receipt = record_paper_bid(staff_user, process, supplier, prices=..., uploads=[...])
    receipt.as_json()     # the full receipt, shown and offered for download once
    give_consortium_consent(member_user, process, member, lead)
    withdraw_consortium_consent(member_user, process, member)
    consent_refusal(process, member, lead=None); own_consent(process, member) -> OwnConsent
    own_bid(process, supplier) -> Bid | None; own_paper_bid(process, supplier)
    paper_bid_refusal(process, supplier, members=None); bid_count(process); ledger_rows(process)
    envelope_documents(process, supplier); leads_bid(process, supplier, bid)
    bidder_state(process, supplier)   # all of the above a bidder's page shows, read once
"""

import logging
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.permissions import require_entity_staff, require_supplier_user
from core import audit, clock, signing
from core.codelists import Stage
from core.errors import DomainError
from core.formatting import day as _day
from notifications import events
from notifications.models import Audience, EventKind

from .. import receipts, sealing
from ..calendar_rules import deadline_text
from ..documents import check_document
from ..models import (
    Bid,
    BidMemberTag,
    BidVersion,
    ConsortiumConsent,
    Participant,
    ProcessSealKey,
    ProcessStatus,
    ProcurementProcess,
    ReceiptLedgerEntry,
    SealedDocument,
)
from ..models.bids import sealed_document_path
from .participation import supplier_refusals

logger = logging.getLogger("procurement.bids")

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
MAX_UNIT_PRICE = Decimal("1000000000000")  # S/ 10^12: beyond any real unit price
MAX_DRAFT_DOCUMENTS = 30

# (supplier, participation share in %, is the lead)
Member = tuple[object, Decimal, bool]


# --- eligibility ---------------------------------------------------------------------------


def _bids_stage(process: ProcurementProcess):
    # Ordered by position alone: the model's ordering ("process", ...) would join the
    # process row only to sort the stages of one process.
    return process.stages.filter(stage=Stage.BIDS).order_by("position").first()


def _bids_stage_and_now(process: ProcurementProcess):
    """(the bids stage or None, the clock's instant), read in one statement: the stage row
    with the database's clock beside it (clock.now_expression), as two statements would
    read them one after the other."""
    expression = clock.now_expression()
    if expression is None:
        return _bids_stage(process), clock.now()
    stage = (
        process.stages.filter(stage=Stage.BIDS)
        .order_by("position")
        .annotate(clock_read_at=expression)
        .first()
    )
    if stage is None:
        return None, clock.now()
    return stage, stage.clock_read_at


_UNREAD = object()


def _window_refusal(process: ProcurementProcess, now, stage=_UNREAD) -> DomainError | None:
    """`stage` is the process's bids stage when the caller has read it already (None when
    it has none)."""
    if process.status != ProcessStatus.CALLED:
        return DomainError(
            _("The process is %(status)s: it does not receive bids now.")
            % {"status": str(process.get_status_display()).lower()},
            code="not_called",
        )
    if stage is _UNREAD:
        stage = _bids_stage(process)
    if stage is None:
        return DomainError(
            _("This process has no bid stage in its calendar."), code="no_bids_stage"
        )
    if not stage.has_begun(now):
        return DomainError(
            _("Bids are received from %(date)s.") % {"date": _day(stage.start)},
            code="bids_not_open",
        )
    if stage.has_closed(now):
        return DomainError(
            _("The bid deadline was %(date)s: bids are no longer received.")
            % {"date": deadline_text(stage)},
            code="late",
        )
    return None


def _consortium_refusal(supplier, members: Sequence[Member]) -> DomainError | None:
    """Shares > 0 with at most 2 decimals adding to exactly 100, at least two different
    suppliers, exactly one lead, and the lead is the supplier submitting."""
    if len(members) < 2:
        return DomainError(
            _("A consortium has at least two members."), field="members", code="consortium_size"
        )
    ids = [member.pk for member, _share, _lead in members]
    if len(set(ids)) != len(ids):
        return DomainError(
            _("A supplier appears twice in the consortium."),
            field="members",
            code="consortium_duplicate_member",
        )
    leads = [member for member, _share, is_lead in members if is_lead]
    if len(leads) != 1:
        return DomainError(
            _("A consortium has exactly one lead member."), field="members", code="consortium_lead"
        )
    if leads[0].pk != supplier.pk:
        return DomainError(
            _("The consortium's lead member must be the supplier that submits the bid."),
            field="members",
            code="consortium_lead",
        )
    total = Decimal(0)
    for _member, share, _lead in members:
        try:
            share = Decimal(share)
        except (InvalidOperation, TypeError, ValueError):
            share = Decimal(-1)
        if not share.is_finite() or share <= 0 or share.as_tuple().exponent < -2:
            return DomainError(
                _("Each member's share is a percentage above 0 with at most 2 decimals."),
                field="members",
                code="consortium_shares",
            )
        total += share
    if total != HUNDRED:
        return DomainError(
            _("The members' shares add up to %(total)s%%; they must add up to exactly 100%%.")
            % {"total": total},
            field="members",
            code="consortium_shares",
        )
    return None


def _consent_of(process: ProcurementProcess, supplier) -> ConsortiumConsent | None:
    """The supplier's own consent to take part in another supplier's consortium, if any."""
    key = sealing.existing_process_key(process)
    if key is None:
        return None
    return ConsortiumConsent.objects.filter(
        process=process, member_tag=sealing.tag(key, supplier.pk)
    ).first()


def _consented_elsewhere() -> DomainError:
    return DomainError(
        _(
            "Your company confirmed that it takes part in a consortium led by another supplier "
            "in this process: it cannot bid on its own or lead a consortium. Withdraw that "
            "confirmation first."
        ),
        code="consented_member",
    )


def member_consent_refusal(process: ProcurementProcess, supplier, member) -> DomainError | None:
    """The refusal when `member` has not confirmed, itself, that it takes part in the
    consortium `supplier` leads in this process (give_consortium_consent), or None. The same
    whatever else the member does in the process (bids alone, in another consortium, or not
    at all): the lead learns nothing."""
    key = sealing.existing_process_key(process)
    confirmed = key is not None and (
        ConsortiumConsent.objects.filter(
            process=process,
            member_tag=sealing.tag(key, member.pk),
            lead_tag=sealing.tag(key, supplier.pk),
        ).exists()
    )
    if confirmed:
        return None
    return DomainError(
        _(
            "%(ruc)s has not confirmed that it takes part in your consortium: one of "
            "its users confirms it on this process's bid page, naming your RUC."
        )
        % {"ruc": member.ruc},
        field="members",
        code="consortium_not_confirmed",
    )


def _unconfirmed_member_refusal(
    process: ProcurementProcess, supplier, members: Sequence[Member]
) -> DomainError | None:
    """Every member other than the lead must have confirmed, itself, that it takes part in
    this lead's consortium (member_consent_refusal; the process key read once)."""
    with sealing.keys_remembered():
        for member, _share, is_lead in members:
            if not is_lead and (refusal := member_consent_refusal(process, supplier, member)):
                return refusal
    return None


def _participants(supplier, members: Sequence[Member] | None) -> list:
    return [member for member, _share, _lead in members] if members else [supplier]


def bid_refusal(
    process: ProcurementProcess, supplier, *, members: Sequence[Member] | None = None
) -> DomainError | None:
    """Why `supplier` (alone, or leading `members`) cannot bid in `process` now, or None: the
    process is called and the database clock is within its bids stage; the supplier is a
    registered participant and has not consented to take part in another supplier's
    consortium; every member may act in processes (registry in force, ownership settled); in
    an SME-only process every member is a micro or small enterprise (Law 28015 art. 21); a
    consortium's shares add up to 100% with one lead, and every other member has confirmed,
    itself, that it takes part in this lead's consortium (give_consortium_consent). Nothing
    here depends on other bids: a lead cannot learn from a refusal whether a supplier it
    names has bid. Pages ask the same."""
    return _bid_refusal(process, supplier, members, clock.now(), _UNREAD)


def _bid_refusal(process, supplier, members, now, stage, consent=_UNREAD) -> DomainError | None:
    """bid_refusal at `now`, with the bids stage (and the supplier's own consent) when the
    caller has read them already."""
    refusal = _window_refusal(process, now, stage)
    if refusal is not None:
        return refusal
    if not Participant.objects.filter(process=process, supplier=supplier).exists():
        return DomainError(_("Register as participant first."), code="not_participant")
    if consent is _UNREAD:
        consent = _consent_of(process, supplier)
    if consent is not None:
        return _consented_elsewhere()
    if members:
        refusal = _consortium_refusal(supplier, members)
        if refusal is None:
            refusal = _unconfirmed_member_refusal(process, supplier, members)
        if refusal is not None:
            return refusal
    return _members_refusal(process, supplier, members, timezone.localdate(now))


def member_reasons(process: ProcurementProcess, supplier, member, day) -> list[DomainError]:
    """Every reason `member` cannot take part on `day` in the bid `supplier` submits (itself
    alone or a consortium it leads), each worded for the lead when the member is another
    company: it may act in processes, and is an SME that day in a process reserved for SMEs
    (participation.supplier_refusals). The bid's refusal and the process page's consortium
    check read them here."""
    if member.pk == supplier.pk:
        return supplier_refusals(process, member, day)
    reasons = supplier_refusals(process, member, day, named=True)
    worded = []
    for error in reasons:
        if error.code == "sme_only":
            message = _("Consortium member %(ruc)s: %(reason)s")
        else:
            message = _("Consortium member %(ruc)s cannot take part: %(reason)s")
        worded.append(
            DomainError(
                message % {"ruc": member.ruc, "reason": error.message},
                field="members",
                code=error.code,
            )
        )
    return worded


def _members_refusal(
    process: ProcurementProcess, supplier, members: Sequence[Member] | None, day
) -> DomainError | None:
    """Every supplier of the bid may act in processes on `day`, and is an SME on that day
    when the process is reserved for SMEs (member_reasons: the first reason of the first
    member that has one)."""
    for member in _participants(supplier, members):
        reasons = member_reasons(process, supplier, member, day)
        if not reasons:
            continue
        error = reasons[0]
        if error.code == "sme_only" and member.pk == supplier.pk:
            return DomainError(error.message, field="members" if members else None, code="sme_only")
        return error
    return None


def paper_bid_refusal(
    process: ProcurementProcess, supplier, *, members: Sequence[Member] | None = None
) -> DomainError | None:
    """Why staff cannot record now a bid `supplier` (alone, or leading `members`) handed in on
    paper, or None: the same window, registration, registry, sanctions and SME rules as an
    electronic bid and the same consortium shape; the members' consent is the signed
    consortium promise in the envelope, not the portal's. Nothing here looks at the
    supplier's electronic bids or consents, so recording a paper bid reveals nothing of them
    to the entity; when a supplier is in more than one bid, the opening counts the last
    received (procurement.services.opening.superseded_bids)."""
    now = clock.now()
    refusal = _window_refusal(process, now)
    if refusal is not None:
        return refusal
    if not Participant.objects.filter(process=process, supplier=supplier).exists():
        return DomainError(_("Register as participant first."), code="not_participant")
    if members:
        refusal = _consortium_refusal(supplier, members)
        if refusal is not None:
            return refusal
    return _members_refusal(process, supplier, members, timezone.localdate(now))


def withdrawal_refusal(process: ProcurementProcess, supplier) -> DomainError | None:
    """Why `supplier` cannot withdraw its bid now, or None: only inside the bid stage, and
    only a bid in force that it leads (or bids alone with). Nothing else of the supplier's
    standing matters: a supplier whose registry lapsed may still take its bid back."""
    refusal = _window_refusal(process, clock.now())
    if refusal is not None:
        return refusal
    key = sealing.existing_process_key(process)
    mine = key and Bid.objects.filter(
        process=process, bidder_tag=sealing.tag(key, supplier.pk), status=Bid.Status.SUBMITTED
    )
    if not mine or not mine.exists():
        return _no_bid_to_withdraw()
    return None


def _no_bid_to_withdraw() -> DomainError:
    return DomainError(_("Your company has no bid in force to withdraw."), code="no_bid")


# --- consortium consent --------------------------------------------------------------------


@dataclass(frozen=True)
class OwnConsent:
    """What a member's own users see of its consent: when, to which lead (None when the lead
    cannot be named: it is matched among the process's participants only) and whether the
    lead's bid in force includes the member."""

    created_at: object
    lead: object
    included: bool


def consent_refusal(process: ProcurementProcess, member, lead=None) -> DomainError | None:
    """Why `member` cannot confirm now that it takes part in `lead`'s consortium, or None:
    only inside the bids stage; not to itself; not when it already confirmed (one lead per
    process) or has its own bid in force (alone or leading): all its own state."""
    refusal = _window_refusal(process, clock.now())
    if refusal is not None:
        return refusal
    if lead is not None and lead.pk == member.pk:
        return DomainError(
            _("Name the RUC of the consortium's lead, not your own."),
            field="lead",
            code="consent_self",
        )
    if _consent_of(process, member) is not None:
        return _already_consented()
    key = sealing.existing_process_key(process)
    own = key and BidMemberTag.objects.filter(process=process, tag=sealing.tag(key, member.pk))
    if own and own.exists():
        return _own_bid_in_force()
    return None


def _already_consented() -> DomainError:
    return DomainError(
        _(
            "Your company already confirmed that it takes part in a consortium in this "
            "process; withdraw that confirmation first to join another one."
        ),
        code="already_consented",
    )


def _own_bid_in_force() -> DomainError:
    return DomainError(
        _(
            "Your company has its own bid in force in this process: withdraw it first to "
            "take part in another supplier's consortium."
        ),
        code="own_bid_in_force",
    )


@transaction.atomic
def give_consortium_consent(actor, process: ProcurementProcess, member, lead) -> ConsortiumConsent:
    """A user of `member` confirms that it takes part in the consortium `lead` leads in this
    process: the lead may then name it in its bid. Stored as blind tags only; the audit entry
    names neither supplier nor user. A member that consented cannot bid alone or lead."""
    require_supplier_user(actor, member)
    process = _locked_process(process)
    refusal = consent_refusal(process, member, lead)
    if refusal is not None:
        raise refusal
    key = sealing.process_key(process)
    try:
        with transaction.atomic():
            consent = ConsortiumConsent.objects.create(
                process=process,
                member_tag=sealing.tag(key, member.pk),
                lead_tag=sealing.tag(key, lead.pk),
            )
    except IntegrityError:
        raise DomainError(
            _("Your company already confirmed that it takes part in a consortium."),
            code="already_consented",
        ) from None
    audit.record(None, "bid.consortium_consent_given", consent, {"identifier": process.identifier})
    return consent


@transaction.atomic
def withdraw_consortium_consent(actor, process: ProcurementProcess, member) -> None:
    """Withdraw the member's consent, inside the bids stage and only while no bid in force
    includes it (the lead replaces its bid without the member, or withdraws it, first): a
    bid in force never names a member that no longer consents."""
    require_supplier_user(actor, member)
    process = _locked_process(process)
    refusal = _window_refusal(process, clock.now())
    if refusal is not None:
        raise refusal
    key = sealing.existing_process_key(process)
    consent = None
    if key is not None:
        member_tag = sealing.tag(key, member.pk)
        consent = (
            ConsortiumConsent.objects.select_for_update()
            .filter(process=process, member_tag=member_tag)
            .first()
        )
    if consent is None:
        raise DomainError(
            _("Your company has not confirmed taking part in a consortium here."),
            code="no_consent",
        )
    if BidMemberTag.objects.filter(process=process, tag=member_tag).exists():
        raise DomainError(
            _(
                "The consortium's bid in force includes your company: its lead must replace "
                "the bid without your company, or withdraw it, before you withdraw your "
                "confirmation."
            ),
            code="consent_in_use",
        )
    pk = consent.pk
    consent.delete()
    audit.record(
        None,
        "bid.consortium_consent_withdrawn",
        ("procurement.consortiumconsent", pk),
        {"identifier": process.identifier},
    )


def own_consent(process: ProcurementProcess, member) -> OwnConsent | None:
    """The member's own consent, for its users' page: the lead is found among the process's
    registered participants by its blind tag (a lead must register to bid). Callers check
    the user acts for the member."""
    key = sealing.existing_process_key(process)
    if key is None:
        return None
    member_tag = sealing.tag(key, member.pk)
    consent = ConsortiumConsent.objects.filter(process=process, member_tag=member_tag).first()
    if consent is None:
        return None
    included = BidMemberTag.objects.filter(
        process=process, tag=member_tag, bid__bidder_tag=consent.lead_tag
    ).exists()
    return _own_consent(process, key, consent, included)


def _own_consent(process, key: bytes, consent: ConsortiumConsent, included: bool) -> OwnConsent:
    lead = None
    for participant in Participant.objects.filter(process=process).select_related("supplier"):
        if sealing.tag(key, participant.supplier_id) == consent.lead_tag:
            lead = participant.supplier
            break
    return OwnConsent(consent.created_at, lead, included)


# --- prices --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    item_id: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class PricedOffer:
    lines: list[PricedLine]
    total: Decimal


_PRICE_WRITING = re.compile(r"[0-9]+(\.[0-9]+)?")


def _price(value) -> Decimal | None:
    """A positive price below MAX_UNIT_PRICE with at most 2 decimals; a text must be plain
    ASCII digits with an optional decimal point (no exponent, no other scripts' digits, no
    thousands separators), as Decimal would otherwise read "1e3" or "١٠٠"."""
    if isinstance(value, str) and not _PRICE_WRITING.fullmatch(value.strip()):
        return None
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not price.is_finite() or price <= 0 or price >= MAX_UNIT_PRICE:
        return None
    if price.as_tuple().exponent < -2:
        return None
    return price


def priced_items(
    process: ProcurementProcess, prices: dict, *, items: Iterable | None = None
) -> PricedOffer:
    """The economic offer: a unit price > 0 with at most 2 decimals per item; each line total
    is unit price x quantity rounded half-up to cents, the bid total their sum. A process
    called as a whole needs every item priced; one called by items (award_by_items), one or
    more. Unknown items are refused. `items`: the process's items when the caller read them
    already (a process's items are written with it and never change; one of another process
    counts as unknown)."""
    if items is None:
        items = process.items.order_by("pk")
    items = {item.pk: item for item in items if item.process_id == process.pk}
    chosen: dict[int, Decimal] = {}
    for key, value in (prices or {}).items():
        try:
            item_id = int(key)
        except (TypeError, ValueError):
            item_id = None
        if item_id not in items:
            raise DomainError(
                _("The offer prices an item that is not in this process."),
                field="prices",
                code="price_unknown_item",
            )
        if value in (None, ""):
            continue
        price = _price(value)
        if price is None:
            raise DomainError(
                _("Item %(item)s: the unit price must be above 0 with at most 2 decimals.")
                % {"item": items[item_id].description},
                field="prices",
                code="price_invalid",
            )
        chosen[item_id] = price
    by_items = process.award_by_items
    missing = [item for pk, item in items.items() if pk not in chosen]
    if not chosen or (missing and not by_items):
        raise DomainError(
            ngettext(
                "Price every item of the process: %(count)s item has no price.",
                "Price every item of the process: %(count)s items have no price.",
                len(missing),
            )
            % {"count": len(missing)}
            if not by_items
            else _("Price at least one item."),
            field="prices",
            code="price_missing",
        )
    lines = [
        PricedLine(
            pk,
            items[pk].description,
            items[pk].quantity,
            price,
            (price * items[pk].quantity).quantize(CENT, rounding=ROUND_HALF_UP),
        )
        for pk, price in sorted(chosen.items())
    ]
    return PricedOffer(lines, sum((line.line_total for line in lines), Decimal("0.00")))


# --- the draft envelope --------------------------------------------------------------------


def _seal_upload(process, key: bytes, owner_tag: str, upload, *, title: str, confidential: bool):
    """Check an upload as process documents are checked, encrypt it as it is read and store
    only the ciphertext; returns the SealedDocument (not yet part of a bid)."""
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise DomainError(
            _("Give the document a title (up to 200 characters)."), field="title", code="title"
        )
    checked = check_document(upload)
    document_id = uuid.uuid4()
    upload.seek(0)
    stored = sealing.seal_file(
        key, document_id, upload.chunks(), sealed_document_path(process.pk, document_id)
    )
    if stored.sha256 != checked.sha256:
        _delete_files([stored.name])
        raise DomainError(
            _("The file changed while it was read."), field="file", code="file_changed"
        )
    meta = {
        "filename": checked.filename,
        "content_type": checked.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "title": title,
        "confidential": bool(confidential),
    }
    try:
        return SealedDocument.objects.create(
            id=document_id,
            process=process,
            owner_tag=owner_tag,
            file=stored.name,
            sealed_meta=sealing.seal_json(key, meta, sealing.document_meta_aad(document_id)),
        )
    except BaseException:
        _delete_files([stored.name])
        raise


def _delete_files(names: Iterable[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("Could not remove the sealed file %s", name)


def _locked_process(process: ProcurementProcess) -> ProcurementProcess:
    """The process row locked against everyone else: for consents, which must not cross a
    bid naming the same supplier."""
    return ProcurementProcess.objects.select_for_update().get(pk=process.pk)


def _process_for_bidders(process: ProcurementProcess) -> ProcurementProcess:
    """The process row under a shared lock (PostgreSQL FOR SHARE) for the transaction of a
    bid: bidders of one process are received side by side (each bid has its own row lock and
    the one-bid-per-supplier rule is a unique constraint), while whatever changes the process
    (a calendar amendment, a status change, a consent, the opening: FOR UPDATE) waits for
    the bids in flight and they wait for it, so a bid is judged against the calendar and
    status it is stored under. SQLite serialises writers anyway."""
    if connection.vendor != "postgresql":
        return ProcurementProcess.objects.get(pk=process.pk)
    table = connection.ops.quote_name(ProcurementProcess._meta.db_table)
    query = f"SELECT * FROM {table} WHERE id = %s FOR SHARE"  # noqa: S608 - a model's table
    found = list(ProcurementProcess.objects.raw(query, [process.pk]))
    if not found:
        raise ProcurementProcess.DoesNotExist
    return found[0]


@transaction.atomic
def upload_draft_document(
    actor, process: ProcurementProcess, supplier, upload, *, title: str, confidential: bool = False
) -> SealedDocument:
    """Add a document to the supplier's draft technical envelope, encrypted as it is read
    (media holds only ciphertext), while the bid stage is open and the supplier may bid."""
    require_supplier_user(actor, supplier)
    process = _process_for_bidders(process)
    refusal = bid_refusal(process, supplier)
    if refusal is not None:
        raise refusal
    key = sealing.process_key(process)
    owner_tag = sealing.tag(key, supplier.pk)
    drafts = SealedDocument.objects.filter(process=process, owner_tag=owner_tag, bid__isnull=True)
    if drafts.count() >= MAX_DRAFT_DOCUMENTS:
        raise DomainError(
            ngettext(
                "The envelope holds at most %(count)s document.",
                "The envelope holds at most %(count)s documents.",
                MAX_DRAFT_DOCUMENTS,
            )
            % {"count": MAX_DRAFT_DOCUMENTS},
            field="file",
            code="too_many_documents",
        )
    document = _seal_upload(process, key, owner_tag, upload, title=title, confidential=confidential)
    try:
        audit.record(None, "bid.draft_document_added", document, {"identifier": process.identifier})
    except BaseException:
        # The transaction rolls back: its ciphertext file goes too (what a crash leaves
        # behind, document_store.prune_sealed_orphans removes).
        _delete_files([document.file])
        raise
    return document


@transaction.atomic
def discard_draft_document(actor, process: ProcurementProcess, supplier, document_id) -> None:
    """Remove a document from the supplier's draft envelope (one already sent with a bid
    stays: it belongs to a receipted version)."""
    require_supplier_user(actor, supplier)
    key = sealing.existing_process_key(process)
    document = None
    if key is not None:
        try:
            document = (
                SealedDocument.objects.select_for_update(of=("self",))
                .filter(
                    pk=uuid.UUID(str(document_id)),
                    process=process,
                    owner_tag=sealing.tag(key, supplier.pk),
                    bid__isnull=True,
                )
                .first()
            )
        except ValueError:
            document = None
    if document is None:
        raise DomainError(_("There is no such draft document."), code="document_unknown")
    name = document.file
    document.delete()
    audit.record(
        None,
        "bid.draft_document_discarded",
        ("procurement.sealeddocument", document_id),
        {"identifier": process.identifier},
    )
    transaction.on_commit(lambda: _delete_files([name]))


def draft_documents(process: ProcurementProcess, supplier) -> list[tuple[SealedDocument, dict]]:
    """The supplier's draft documents with their metadata (name, type, size, SHA-256, title,
    confidential), for its own envelope page. Callers check the user acts for the supplier."""
    key = sealing.existing_process_key(process)
    if key is None:
        return []
    documents = SealedDocument.objects.filter(
        process=process, owner_tag=sealing.tag(key, supplier.pk), bid__isnull=True
    ).order_by("created_at")
    return [(document, sealing.read_draft_manifest(key, document)) for document in documents]


def envelope_documents(
    process: ProcurementProcess, supplier
) -> list[tuple[SealedDocument, dict, bool]]:
    """The documents the supplier may send with its next version: its drafts and those its
    own bid already sent (a replacement may send them again), each with its metadata and
    whether it was already sent. Callers check the user acts for the supplier."""
    key = sealing.existing_process_key(process)
    if key is None:
        return []
    owner_tag = sealing.tag(key, supplier.pk)
    bid = Bid.objects.filter(process=process, bidder_tag=owner_tag).first()
    return _envelope(process, key, owner_tag, bid)


def _envelope(process, key: bytes, owner_tag: str, bid: Bid | None):
    documents = SealedDocument.objects.filter(process=process, owner_tag=owner_tag)
    documents = (
        documents.filter(Q(bid__isnull=True) | Q(bid=bid))
        if bid
        else documents.filter(bid__isnull=True)
    )
    return [
        (document, sealing.read_draft_manifest(key, document), document.bid_id is not None)
        for document in documents.order_by("created_at")
    ]


# --- receiving a version -------------------------------------------------------------------


def _supplier_entry(supplier) -> dict:
    return {"id": supplier.pk, "ruc": supplier.ruc, "legal_name": supplier.legal_name}


def _late(process: ProcurementProcess, received, closes_at, what: str) -> DomainError:
    logger.warning(
        "Late %s refused for process %s: received at %s, the bid deadline closed at %s.",
        what,
        process.identifier,
        receipts.instant(received),
        receipts.instant(closes_at),
    )
    return DomainError(
        _("The bid deadline was %(date)s: the submission arrived after it and was not received.")
        % {"date": deadline_text(_bids_stage(process))},
        code="late",
    )


def _raise_refusal(process, refusal: DomainError, what: str):
    if refusal.code == "late":
        stage = _bids_stage(process)
        raise _late(process, clock.now(), stage.closes_at, what)
    raise refusal


def _version_aad(bid: Bid, number: int) -> bytes:
    return b"bid-version:" + bid.pk.bytes + number.to_bytes(4, "big")


def _receive(
    *,
    process: ProcurementProcess,
    key: bytes,
    bid: Bid,
    content: dict,
    kind: str,
    paper: bool,
    written_files: list[str],
    stage=_UNREAD,
) -> receipts.SubmittedReceipt:
    """Seal the content, read the instant of receipt, refuse if late, store the version and
    its ledger entry, audit and announce. The caller holds the process and bid locks (and
    may give the bids stage it read under them). The bidder's event is written before the
    ledger entry: the ledger's and the audit trail's locks, which serialise every bid of the
    portal, are held from the ledger entry to the commit, so as little as possible follows
    them."""
    number = content["version"]
    nonce = secrets.token_hex(16)
    sealed = sealing.seal_json(key, {"content": content, "nonce": nonce}, _version_aad(bid, number))
    received = clock.now()
    if stage is _UNREAD:
        stage = _bids_stage(process)
    if stage.has_closed(received):
        _delete_files(written_files)
        raise _late(process, received, stage.closes_at, kind)
    received_text = receipts.instant(received)
    receipt_hash = receipts.receipt_hash(content, received_text, nonce)
    version = BidVersion.objects.create(
        bid=bid,
        number=number,
        kind=kind,
        received_at=received,
        receipt_hash=receipt_hash,
        sealed=sealed,
    )
    bid.current_version = version
    bid.paper = paper
    bid.status = (
        Bid.Status.WITHDRAWN if kind == BidVersion.Kind.WITHDRAWAL else Bid.Status.SUBMITTED
    )
    bid.save(update_fields=["current_version", "paper", "status"])
    ledger_kind = (
        ReceiptLedgerEntry.Kind.WITHDRAWAL
        if kind == BidVersion.Kind.WITHDRAWAL
        else ReceiptLedgerEntry.Kind.BID
    )
    events.record(
        EventKind.BID_RECEIVED,
        bid,
        entity=process.entity_id,  # its id: the process row read under the lock has no entity
        process=process,
        audience=Audience.BIDDER,
        payload={"identifier": process.identifier, "receipt": receipt_hash},
    )
    entry = receipts.append_to_ledger(
        process=process, receipt=receipt_hash, received_at=received, kind=ledger_kind, paper=paper
    )
    action = "bid.withdrawn" if kind == BidVersion.Kind.WITHDRAWAL else "bid.received"
    audit.record(
        None,
        action,
        entry,
        {"identifier": process.identifier, "receipt_hash": receipt_hash, "kind": ledger_kind},
    )
    return receipts.SubmittedReceipt(
        content=content,
        nonce=nonce,
        received_at=received_text,
        receipt_hash=receipt_hash,
        signature=entry.signature,
        key_id=signing.key_id(),
        position=entry.position,
        chain_hash=entry.chain_hash,
        kind=str(ledger_kind),
        paper=paper,
    )


def _tag(key: bytes, supplier_id: int, *, paper: bool) -> str:
    return sealing.paper_tag(key, supplier_id) if paper else sealing.tag(key, supplier_id)


def _bid_for(process, key: bytes, supplier, *, create: bool, paper: bool = False) -> Bid | None:
    bidder_tag = _tag(key, supplier.pk, paper=paper)
    # Lock the bid row only: Bid's default ordering would join (and lock) the process row,
    # which the bidders of the process share.
    mine = (
        Bid.objects.select_for_update(of=("self",))
        .filter(process=process, bidder_tag=bidder_tag)
        .order_by()
    )
    bid = mine.first()
    if bid is None and create:
        try:
            with transaction.atomic():
                bid = Bid.objects.create(process=process, bidder_tag=bidder_tag)
        except IntegrityError:
            # The same bidder's other request (a double click) created it first: the unique
            # constraint made this one wait for it; continue as its next version.
            bid = mine.get()
    return bid


def _next_number(bid: Bid) -> int:
    last = bid.versions.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def _set_member_tags(process, key: bytes, bid: Bid, suppliers: list, *, paper: bool) -> None:
    """One tag per supplier in the bid; the database refuses a supplier already in another
    live bid of the process (alone or in a consortium) received by the same channel. A
    backstop only for electronic bids: bid_refusal already requires each member's consent to
    this lead, and a supplier that consented cannot bid alone, so `already_bidding` is
    reached only by a race the process lock does not cover. Paper bids have tags of their
    own: the entity only ever meets the paper bids it recorded itself."""
    tags = [_tag(key, member.pk, paper=paper) for member in suppliers]
    rows = BidMemberTag.objects.filter(Q(tag__in=tags) | Q(bid=bid), process=process).values_list(
        "bid_id", "tag"
    )
    held, taken = set(), False
    for bid_id, tag in rows:
        if bid_id == bid.pk:
            held.add(tag)
        elif tag in tags:
            taken = True
    if taken:
        raise DomainError(
            _(
                "A supplier of this bid already takes part in another bid of this process: a "
                "supplier cannot bid twice, alone and in a consortium."
            ),
            field="members",
            code="already_bidding",
        )
    if held == set(tags):  # a replacement by the same members: their tags stand
        return
    BidMemberTag.objects.filter(bid=bid).delete()
    try:
        with transaction.atomic():
            BidMemberTag.objects.bulk_create(
                [BidMemberTag(process=process, bid=bid, tag=tag) for tag in tags]
            )
    except IntegrityError:
        raise DomainError(
            _("A supplier of this bid already takes part in another bid of this process."),
            field="members",
            code="already_bidding",
        ) from None


def _content(
    *,
    process,
    version: int,
    kind: str,
    supplier,
    actor,
    paper: bool,
    members: Sequence[Member] | None = None,
    offer: PricedOffer | None = None,
    documents: list[dict] | None = None,
) -> dict:
    content = {
        "process": process.identifier,
        "process_id": process.pk,
        "version": version,
        "kind": str(kind),
        "paper": paper,
        "lead": _supplier_entry(supplier),
        "user": {"id": actor.pk, "email": actor.email, "role": "staff" if paper else "supplier"},
    }
    if kind == BidVersion.Kind.SUBMISSION:
        content["members"] = [
            {**_supplier_entry(member), "share": receipts.money(share), "lead": bool(lead)}
            for member, share, lead in (members or [(supplier, HUNDRED, True)])
        ]
        content["documents"] = sorted(documents or [], key=lambda d: d["id"])
        content["prices"] = [
            {
                "item": line.item_id,
                "quantity": str(line.quantity),
                "unit_price": receipts.money(line.unit_price),
                "line_total": receipts.money(line.line_total),
            }
            for line in offer.lines
        ]
        content["total"] = receipts.money(offer.total)
    return content


def _document_entries(key: bytes, documents: Iterable[SealedDocument]) -> list[dict]:
    return [
        {"id": str(document.pk), **sealing.read_draft_manifest(key, document)}
        for document in documents
    ]


def _submit_version(
    process,
    key: bytes,
    bid: Bid,
    supplier,
    actor,
    *,
    members,
    offer: PricedOffer,
    documents: list,
    paper: bool = False,
    written_files: list[str] | None = None,
    stage=_UNREAD,
) -> receipts.SubmittedReceipt:
    """The common end of an electronic and a paper submission: the member tags, the sealed
    content of the next version and its receipt."""
    _set_member_tags(process, key, bid, _participants(supplier, members), paper=paper)
    content = _content(
        process=process,
        version=_next_number(bid),
        kind=BidVersion.Kind.SUBMISSION,
        supplier=supplier,
        actor=actor,
        paper=paper,
        members=members,
        offer=offer,
        documents=_document_entries(key, documents),
    )
    return _receive(
        process=process,
        key=key,
        bid=bid,
        content=content,
        kind=BidVersion.Kind.SUBMISSION,
        paper=paper,
        written_files=written_files or [],
        stage=stage,
    )


@transaction.atomic
def submit_bid(
    actor,
    process: ProcurementProcess,
    supplier,
    *,
    prices: dict,
    documents: Sequence,
    members: Sequence[Member] | None = None,
    items: Sequence | None = None,
) -> receipts.SubmittedReceipt:
    """Submit the supplier's bid (alone, or as the lead of `members`), or replace its bid with
    a new version: the last version counts, every receipt is kept. The documents are ids of
    the supplier's draft documents (or of those its current version sent). Refused as
    bid_refusal says, and as late if the instant of receipt is after the deadline. `items`:
    the process's items when the caller read them already (priced_items)."""
    require_supplier_user(actor, supplier)
    with sealing.keys_remembered():
        process = _process_for_bidders(process)
        # Read once: no calendar amendment changes it while this transaction shares the
        # process's lock (set_calendar takes it FOR UPDATE first).
        stage, now = _bids_stage_and_now(process)
        refusal = _bid_refusal(process, supplier, members, now, stage)
        if refusal is not None:
            _raise_refusal(process, refusal, "bid")
        return _submit_electronic(
            actor,
            process,
            supplier,
            stage,
            prices=prices,
            documents=documents,
            members=members,
            items=items,
        )


def _submit_electronic(actor, process, supplier, stage, *, prices, documents, members, items):
    offer = priced_items(process, prices, items=items)
    key = sealing.process_key(process)
    owner_tag = sealing.tag(key, supplier.pk)
    bid = _bid_for(process, key, supplier, create=True)
    try:
        ids = {uuid.UUID(str(pk)) for pk in documents}
    except ValueError:
        ids = None
    chosen = list(
        SealedDocument.objects.select_for_update(of=("self",))
        .filter(pk__in=ids or [], process=process, owner_tag=owner_tag)
        .filter(Q(bid__isnull=True) | Q(bid=bid))
    )
    if ids is None or len(chosen) != len(ids):
        raise DomainError(
            _("A document of the bid is not in your envelope."),
            field="documents",
            code="document_unknown",
        )
    if not chosen:
        raise DomainError(
            _("Add at least one document to the technical envelope."),
            field="documents",
            code="documents_required",
        )
    if any(document.bid_id is None for document in chosen):
        SealedDocument.objects.filter(pk__in=[d.pk for d in chosen], bid__isnull=True).update(
            bid=bid
        )
    return _submit_version(
        process,
        key,
        bid,
        supplier,
        actor,
        members=members,
        offer=offer,
        documents=chosen,
        stage=stage,
    )


@transaction.atomic
def withdraw_bid(actor, process: ProcurementProcess, supplier) -> receipts.SubmittedReceipt:
    """Withdraw the supplier's bid before the deadline: recorded as a version of kind
    withdrawal, with its own receipt and ledger entry; its members are free to bid again."""
    require_supplier_user(actor, supplier)
    process = _process_for_bidders(process)
    refusal = withdrawal_refusal(process, supplier)
    if refusal is not None:
        _raise_refusal(process, refusal, "withdrawal")
    key = sealing.existing_process_key(process)
    bid = _bid_for(process, key, supplier, create=False)
    if bid is None or bid.status != Bid.Status.SUBMITTED:  # withdrawn meanwhile
        raise _no_bid_to_withdraw()
    BidMemberTag.objects.filter(bid=bid).delete()
    content = _content(
        process=process,
        version=_next_number(bid),
        kind=BidVersion.Kind.WITHDRAWAL,
        supplier=supplier,
        actor=actor,
        paper=False,
    )
    return _receive(
        process=process,
        key=key,
        bid=bid,
        content=content,
        kind=BidVersion.Kind.WITHDRAWAL,
        paper=False,
        written_files=[],
    )


@transaction.atomic
def record_paper_bid(
    actor,
    process: ProcurementProcess,
    supplier,
    *,
    prices: dict,
    uploads: Sequence = (),
    members: Sequence[Member] | None = None,
) -> receipts.SubmittedReceipt:
    """Staff of the entity record a bid received on paper at its desk: stamped with the
    database clock when recorded (no backdating), sealed and receipted like an electronic
    one and marked paper. The same eligibility applies to the bidder; committee membership
    is not required. `uploads` are the scanned documents (titled by their file names).
    Refused only as paper_bid_refusal says: a paper bid is a bid of its own (its own blind
    tag), never merged with nor refused because of the supplier's electronic bid; a second
    paper envelope of the same supplier replaces the first."""
    require_entity_staff(actor, process)
    process = _process_for_bidders(process)
    refusal = paper_bid_refusal(process, supplier, members=members)
    if refusal is not None:
        _raise_refusal(process, refusal, "paper bid")
    offer = priced_items(process, prices)
    key = sealing.process_key(process)
    owner_tag = sealing.paper_tag(key, supplier.pk)
    bid = _bid_for(process, key, supplier, create=True, paper=True)
    written: list[str] = []
    try:
        sealed_documents = []
        for upload in uploads:
            document = _seal_upload(
                process,
                key,
                owner_tag,
                upload,
                title=upload.name or "documento",
                confidential=False,
            )
            written.append(document.file)
            sealed_documents.append(document)
        SealedDocument.objects.filter(pk__in=[d.pk for d in sealed_documents]).update(bid=bid)
        return _submit_version(
            process,
            key,
            bid,
            supplier,
            actor,
            members=members,
            offer=offer,
            documents=sealed_documents,
            paper=True,
            written_files=written,
        )
    except BaseException:
        # The transaction rolls back: its ciphertext files go too.
        _delete_files(written)
        raise


# --- reading before the opening ------------------------------------------------------------


def own_bid(process: ProcurementProcess, supplier) -> Bid | None:
    """The bid `supplier` leads or takes part in, found by its blind tag, or None. Callers
    check that the user acts for the supplier."""
    key = sealing.existing_process_key(process)
    if key is None:
        return None
    supplier_tag = sealing.tag(key, supplier.pk)
    member = BidMemberTag.objects.filter(process=process, tag=supplier_tag).select_related("bid")
    found = member.first()
    if found is not None:
        return found.bid
    return Bid.objects.filter(process=process, bidder_tag=supplier_tag).first()


def bidder_state(process: ProcurementProcess, supplier, *, envelope: bool = True) -> dict:
    """What the bidder's own page shows and offers, read once (one clock reading, one bids
    stage, one key, one look at its bids): the answers of own_bid ("bid"), leads_bid
    ("leads"), bid_refusal ("refusal"), withdrawal_refusal ("withdraw_refusal"), own_consent
    ("consent"), consent_refusal with no lead ("consent_refusal"), own_paper_bid
    ("paper_bid"), the bid's versions ("versions": rows of their receipts, never the sealed
    content) and,
    with `envelope`, envelope_documents ("envelope"). Callers check the user acts for the
    supplier."""
    with sealing.keys_remembered():
        stage, now = _bids_stage_and_now(process)
        window = _window_refusal(process, now, stage)
        key = sealing.existing_process_key(process)
        led = paper_bid = member = consent = None
        if key is not None:
            tag, paper = sealing.tag(key, supplier.pk), sealing.paper_tag(key, supplier.pk)
            # In one statement: the bid it leads (or bids alone with), the paper bid recorded
            # for it, and the bid whose members include it (own_bid's member tag; the tag is
            # unique in the process, so at most one).
            included_in = Exists(
                BidMemberTag.objects.filter(process=process, tag=tag, bid=OuterRef("pk"))
            )
            found = (
                Bid.objects.filter(Q(bidder_tag__in=[tag, paper]) | Q(included_in), process=process)
                .annotate(includes_supplier=included_in)
                .select_related("current_version")
                .defer("current_version__sealed")
                .order_by()
            )
            for one in found:
                if one.bidder_tag == tag:
                    led = one
                elif one.bidder_tag == paper:
                    paper_bid = one
                if one.includes_supplier:
                    member = one
            consent = ConsortiumConsent.objects.filter(process=process, member_tag=tag).first()
        bid = member if member is not None else led
        if window is not None:
            withdraw_refusal = window
        elif led is None or led.status != Bid.Status.SUBMITTED:
            withdraw_refusal = _no_bid_to_withdraw()
        else:
            withdraw_refusal = None
        if window is not None:
            consent_refused = window
        elif consent is not None:
            consent_refused = _already_consented()
        elif member is not None:
            consent_refused = _own_bid_in_force()
        else:
            consent_refused = None
        included = bool(consent and member and member.bidder_tag == consent.lead_tag)
        state = {
            "bid": bid,
            "leads": bool(bid is not None and led is not None and bid.pk == led.pk),
            "versions": _receipts_of(bid) if bid else [],
            "refusal": _bid_refusal(process, supplier, None, now, stage, consent),
            "withdraw_refusal": withdraw_refusal,
            "consent": _own_consent(process, key, consent, included) if consent else None,
            "consent_refusal": consent_refused,
            "paper_bid": paper_bid,
        }
        if envelope:
            state["envelope"] = _envelope(process, key, tag, led) if key is not None else []
        return state


def _receipts_of(bid: Bid) -> list:
    """The bid's versions, first to last, as rows of what a receipt shows (pk, number, kind,
    received_at, receipt_hash): never the sealed content, and no model built per version."""
    return list(
        bid.versions.order_by("number").values_list(
            "pk", "number", "kind", "received_at", "receipt_hash", named=True
        )
    )


def own_bids(participations) -> dict[tuple[int, int], Bid]:
    """own_bid, or else own_paper_bid, for many (process, supplier) pairs at once, in four
    queries whatever their number (the keys, the member tags, the bids): {(process id,
    supplier id): bid}. For a bidder's list of its bids."""
    pairs = {(p.process_id, p.supplier_id) for p in participations}
    if not pairs:
        return {}
    rows = ProcessSealKey.objects.filter(process_id__in={process for process, _ in pairs})
    keys = {row.process_id: sealing.unwrap_key(row.wrapped_key) for row in rows}
    tags, paper_tags = {}, {}
    for process, supplier in pairs:
        if process in keys:
            tags[(process, sealing.tag(keys[process], supplier))] = (process, supplier)
            paper_tags[(process, sealing.paper_tag(keys[process], supplier))] = (process, supplier)
    found: dict[tuple[int, int], Bid] = {}
    members = BidMemberTag.objects.filter(
        process_id__in=keys, tag__in=[tag for _, tag in tags]
    ).select_related("bid__current_version")
    for member in members:
        pair = tags.get((member.process_id, member.tag))
        if pair:
            found[pair] = member.bid
    bids = Bid.objects.filter(
        process_id__in=keys, bidder_tag__in=[tag for _, tag in tags | paper_tags]
    ).select_related("current_version")
    for bid in bids:  # a bid it leads or bids alone with, else the paper bid recorded for it
        key = (bid.process_id, bid.bidder_tag)
        if key in tags:
            found.setdefault(tags[key], bid)
    for bid in bids:
        key = (bid.process_id, bid.bidder_tag)
        if key in paper_tags:
            found.setdefault(paper_tags[key], bid)
    return found


def own_paper_bid(process: ProcurementProcess, supplier) -> Bid | None:
    """The bid the entity recorded on paper for `supplier` as lead, or None: shown to the
    supplier's own users only, read-only (the entity's desk replaces it)."""
    key = sealing.existing_process_key(process)
    if key is None:
        return None
    return Bid.objects.filter(
        process=process, bidder_tag=sealing.paper_tag(key, supplier.pk)
    ).first()


def leads_bid(process: ProcurementProcess, supplier, bid: Bid | None) -> bool:
    """Whether `bid` is the supplier's own (it leads it or bids alone), as opposed to a
    consortium bid another supplier leads with it as a member."""
    key = sealing.existing_process_key(process)
    return bool(key and bid and bid.bidder_tag == sealing.tag(key, supplier.pk))


def bid_count(process: ProcurementProcess) -> int:
    """How many bids are in force (submitted, not withdrawn): public before the opening."""
    return Bid.objects.filter(process=process, status=Bid.Status.SUBMITTED).count()


def ledger_rows(process: ProcurementProcess):
    """The process's ledger entries (receipt hashes, instants, kinds): public."""
    return ReceiptLedgerEntry.objects.filter(process=process).order_by("position")
