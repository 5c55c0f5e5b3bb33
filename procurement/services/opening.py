"""The opening of sealed bids: the ONLY code that decrypts a bid (procurement.sealing.unseal
and unseal_file; tests/procurement/test_bids_sealing.py checks that nothing else calls them).

Two different members of the process's selection committee act: one starts the opening
(`start_opening`, naming the observer or notary if any), a second confirms it within
OPENING_CONFIRM_MINUTES (`confirm_opening`). Both are refused unless the process is called,
its bid deadline has passed by the database clock, and it has bids in force. The
confirmation, in one transaction, decrypts the current version of every bid, checks it
against its receipt hash, records what it reveals (procurement.models.opening), publishes the
opening act as an immutable PDF document with its SHA-256, audits and announces it. A bid
whose ciphertext or a document of which fails authentication (or no longer matches its
receipt) is recorded as unreadable, with its receipt hash: the opening never crashes on it.

Procedure types with no opening stage (Comparación de Precios, Selección de Consultores
Individuales) and Contratación Directa open the same way; the act calls it the unsealing at
the start of the evaluation.

    opening = start_opening(actor=member, process=process, observer="Notaria Pérez")
    opening = confirm_opening(actor=other_member, process=process)
    opening_refusal(process)      # DomainError | None: why it cannot be opened now
    current_opening(process)      # the pending (even if expired) or completed one, or None
"""

import hashlib
import json
import logging
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import DecimalValidator
from django.db import DataError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import audit, clock, formatting, pdf
from core.codelists import Stage
from core.errors import DomainError
from notifications import events
from notifications.models import Audience, EventKind
from suppliers.models import Supplier
from suppliers.services.sme_standing import sme_standing_on

from .. import document_store, receipts, red_flags, sealing
from ..calendar_rules import bid_deadline_passed, deadline_text, stages_of
from ..documents import ALLOWED
from ..models import (
    Bid,
    BidOpening,
    BidVersion,
    OpenedBid,
    OpenedBidDocument,
    OpenedBidLine,
    OpenedBidMember,
    ProcessDocument,
    ProcessItem,
    ProcessStatus,
    ProcurementProcess,
    SealedDocument,
)
from .bids import _version_aad as version_aad
from .committee import require_committee_member
from .processes.documents import publish_document

logger = logging.getLogger("procurement.opening")


def confirm_minutes() -> int:
    return max(1, int(getattr(settings, "OPENING_CONFIRM_MINUTES", 30)))


def at_evaluation(process: ProcurementProcess) -> bool:
    """A type with no opening stage unseals its bids at the start of the evaluation."""
    return Stage.OPENING not in stages_of(process.procedure_type)


def current_opening(process: ProcurementProcess) -> BidOpening | None:
    """The process's completed opening, or its pending one (which may have expired)."""
    return (
        BidOpening.objects.filter(
            process=process, status__in=[BidOpening.Status.PENDING, BidOpening.Status.COMPLETED]
        )
        .select_related("started_by", "confirmed_by", "act")
        .first()
    )


def bids_in_force(process: ProcurementProcess) -> int:
    return Bid.objects.filter(process=process, status=Bid.Status.SUBMITTED).count()


def deadline_passed(process: ProcurementProcess, now=None) -> bool:
    return bid_deadline_passed(process, now or clock.now())


def opening_day_stage(process: ProcurementProcess):
    """The calendar stage whose first day the bids are opened on: the opening (apertura), or
    for a type without one the evaluation (the unsealing starts it); None when the type has
    neither (Contratación Directa: after the deadline)."""
    wanted = Stage.EVALUATION if at_evaluation(process) else Stage.OPENING
    return process.stages.filter(stage=wanted).first()


def standing_day(process: ProcurementProcess, confirmed_at) -> date:
    """The day a bidder's SME standing is judged on for the local bonus: the first day of
    the opening's stage (opening_day_stage), or, for a type without one, the day the act is
    confirmed."""
    stage = opening_day_stage(process)
    return timezone.localdate(confirmed_at) if stage is None else stage.start


def standing_at_opening(suppliers, day: date) -> dict:
    """What the act records of the bidder's standing (OpenedBid.size_classes and
    .domiciles): each supplier's size class on the standing day (standing_day, read once
    an opening) by sme_standing_on, and its domicile, as they are when the bids are opened.
    The evaluation reads these, never the supplier's record of a later day: a supplier that
    grows or moves after the opening does not change a table started, or redone, later."""
    return {
        "size_classes": {s.ruc: sme_standing_on(s, day).size_class for s in suppliers},
        "domiciles": {s.ruc: s.domicile_id for s in suppliers},
    }


def opening_refusal(process: ProcurementProcess, now=None) -> DomainError | None:
    """Why the bids of `process` cannot be opened now, or None: the process is called, the
    bid deadline has passed by the database clock, it was not opened yet, and it has bids in
    force (a process with none is ready to be declared deserted instead)."""
    now = now or clock.now()
    if BidOpening.objects.filter(process=process, status=BidOpening.Status.COMPLETED).exists():
        return DomainError(_("The bids of this process have been opened."), code="already_opened")
    if process.status != ProcessStatus.CALLED:
        return DomainError(
            _("The process is %(status)s: its bids are not opened now.")
            % {"status": str(process.get_status_display()).lower()},
            code="not_called",
        )
    stage = process.stages.filter(stage=Stage.BIDS).first()
    if stage is None:
        return DomainError(
            _("This process has no bid stage in its calendar."), code="no_bids_stage"
        )
    if not stage.has_closed(now):
        return DomainError(
            _("The bids are opened after the bid deadline, %(deadline)s.")
            % {"deadline": deadline_text(stage)},
            code="before_deadline",
        )
    public_stage = opening_day_stage(process)
    if public_stage is not None and not public_stage.has_begun(now):
        return DomainError(
            _(
                "The bids are opened in public on the day the calendar announces, %(date)s: "
                "observers and bidders expect it then."
            )
            % {"date": formatting.day(public_stage.start)},
            code="before_opening_day",
        )
    if bids_in_force(process) == 0:
        return DomainError(
            _(
                "No bids were received by the deadline: there is nothing to open, and the "
                "process is ready to be declared deserted."
            ),
            code="no_bids",
        )
    return None


@dataclass(frozen=True)
class OpeningState:
    """Where a process stands with its bids, for the pages: "sealed" (no opening yet),
    "pending" (started, waiting for a second member), "expired" (started, not confirmed in
    time) or "opened"."""

    phase: str
    opening: BidOpening | None
    bid_count: int
    deadline_passed: bool

    @property
    def no_bids(self) -> bool:
        """The deadline passed with no bid in force: ready to be declared deserted."""
        return self.phase != "opened" and self.deadline_passed and self.bid_count == 0


def opening_state(process: ProcurementProcess, now=None) -> OpeningState:
    now = now or clock.now()
    found = current_opening(process)
    if found is None:
        phase = "sealed"
    elif found.status == BidOpening.Status.COMPLETED:
        phase = "opened"
    else:
        phase = "pending" if found.confirm_by >= now else "expired"
    return OpeningState(phase, found, bids_in_force(process), deadline_passed(process, now))


def _locked(process: ProcurementProcess) -> ProcurementProcess:
    return ProcurementProcess.objects.select_for_update().get(pk=process.pk)


@transaction.atomic
def start_opening(*, actor, process: ProcurementProcess, observer: str = "") -> BidOpening:
    """A committee member starts the opening; a second member must confirm it within
    OPENING_CONFIRM_MINUTES. A pending opening that expired unconfirmed is marked expired
    and a new one starts."""
    require_committee_member(actor, process)
    process = _locked(process)
    now = clock.now()
    refusal = opening_refusal(process, now)
    if refusal is not None:
        raise refusal
    observer = " ".join((observer or "").split())
    if len(observer) > 200 or "\x00" in observer:
        raise DomainError(
            _("Name the observer or notary in at most 200 characters."),
            field="observer",
            code="observer_invalid",
        )
    pending = (
        BidOpening.objects.select_for_update()
        .filter(process=process, status=BidOpening.Status.PENDING)
        .first()
    )
    if pending is not None:
        if pending.confirm_by >= now:
            raise DomainError(
                _(
                    "%(name)s started the opening at %(time)s: a second committee member "
                    "confirms it until %(until)s."
                )
                % {
                    "name": pending.started_by.full_name or pending.started_by.email,
                    "time": formatting.moment(pending.started_at),
                    "until": formatting.moment(pending.confirm_by),
                },
                code="opening_pending",
            )
        pending.status = BidOpening.Status.EXPIRED
        pending.save(update_fields=["status"])
        audit.record(None, "process.opening_expired", pending, {"identifier": process.identifier})
    opening = BidOpening.objects.create(
        process=process,
        started_by=actor,
        started_at=now,
        confirm_by=now + timedelta(minutes=confirm_minutes()),
        observer=observer,
        at_evaluation=at_evaluation(process),
    )
    audit.record(
        actor,
        "process.opening_started",
        opening,
        {
            "identifier": process.identifier,
            "observer": observer,
            "confirm_by": opening.confirm_by,
        },
    )
    # The other members are asked to confirm at once (the window is short): dispatched on
    # commit, and by the periodic dispatch if the broker is down then.
    events.record(
        EventKind.PROCESS_OPENING_STARTED,
        opening,
        entity=process.entity,
        process=process,
        payload={
            "identifier": process.identifier,
            "started_by": actor.pk,
            "confirm_by": opening.confirm_by,
        },
    )
    transaction.on_commit(events.request_dispatch, robust=True)
    return opening


@transaction.atomic
def confirm_opening(*, actor, process: ProcurementProcess) -> BidOpening:
    """A second committee member confirms the pending opening within its window: every bid
    is unsealed and the act published, in this one transaction."""
    require_committee_member(actor, process)
    process = _locked(process)
    now = clock.now()
    refusal = opening_refusal(process, now)
    if refusal is not None:
        raise refusal
    opening = (
        BidOpening.objects.select_for_update()
        .filter(process=process, status=BidOpening.Status.PENDING)
        .select_related("started_by")
        .first()
    )
    if opening is None:
        raise DomainError(
            _("No opening is waiting for confirmation: a committee member starts it first."),
            code="no_pending_opening",
        )
    if opening.confirm_by < now:
        raise DomainError(
            _(
                "The opening started at %(time)s was not confirmed by %(until)s: it expired. "
                "Start it again."
            )
            % {
                "time": formatting.moment(opening.started_at),
                "until": formatting.moment(opening.confirm_by),
            },
            code="opening_expired",
        )
    if opening.started_by_id == actor.pk:
        raise DomainError(
            _("A second, different committee member confirms the opening."),
            code="same_member",
        )
    opened = _unseal_all(process, opening, standing_day(process, now))
    opening.status = BidOpening.Status.COMPLETED
    opening.confirmed_by = actor
    opening.confirmed_at = now
    opening.act = _publish_act(actor, process, opening, opened)
    opening.save(update_fields=["status", "confirmed_by", "confirmed_at", "act"])
    counts = {status: sum(1 for b in opened if b.status == status) for status in OpenedBid.Status}
    audit.record(
        actor,
        "process.bids_opened",
        opening,
        {
            "identifier": process.identifier,
            "started_by": opening.started_by_id,
            "bids": len(opened),
            "valid": counts[OpenedBid.Status.VALID],
            "withdrawn": counts[OpenedBid.Status.WITHDRAWN],
            "unreadable": counts[OpenedBid.Status.UNREADABLE],
            "superseded": counts[OpenedBid.Status.SUPERSEDED],
            "act_sha256": opening.act.sha256,
        },
    )
    for item in opened:
        if item.status == OpenedBid.Status.UNREADABLE:
            logger.error(
                "Opening of %s: the bid with receipt %s is unreadable (%s).",
                process.identifier,
                item.receipt_hash,
                item.problem,
            )
    events.record(
        EventKind.PROCESS_BIDS_OPENED,
        opening,
        entity=process.entity,
        process=process,
        audience=Audience.PUBLIC,
        payload={"identifier": process.identifier, "bid_count": len(opened)},
    )
    red_flags.refresh_process(process)
    return opening


# --- unsealing -----------------------------------------------------------------------------


class _Unreadable(Exception):
    """A bid that fails authentication or no longer matches its receipt."""


@dataclass
class _Revealed:
    content: dict
    documents: list[tuple[dict, str]] = field(default_factory=list)  # (manifest, stored name)


def _unseal_version(key: bytes, bid: Bid, version: BidVersion) -> dict:
    try:
        plain = sealing.unseal(key, version.sealed, version_aad(bid, version.number))
    except sealing.SealBroken as error:
        raise _Unreadable(_("its content fails authentication")) from error
    try:
        data = json.loads(plain)
        content, nonce = data["content"], data["nonce"]
    except (ValueError, KeyError, TypeError) as error:
        raise _Unreadable(_("its content is not a bid")) from error
    expected = receipts.receipt_hash(content, receipts.instant(version.received_at), nonce)
    if expected != version.receipt_hash or content.get("version") != version.number:
        raise _Unreadable(_("its content does not match its receipt"))
    return content


def _extension(manifest: dict) -> str:
    name = str(manifest.get("filename") or "")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return extension if extension in ALLOWED else "bin"


def _unseal_document(key: bytes, bid: Bid, manifest: dict) -> str:
    """Decrypt one document of the bid, check it against the SHA-256 and size its receipt
    binds, and store it in the content-addressed store; returns the stored name."""
    try:
        document_id = uuid.UUID(str(manifest["id"]))
    except (KeyError, ValueError) as error:
        raise _Unreadable(_("a document of it is not identified")) from error
    document = SealedDocument.objects.filter(pk=document_id, bid=bid).first()
    if document is None:
        raise _Unreadable(_("a document of it is missing"))
    digest, size = hashlib.sha256(), 0
    with tempfile.SpooledTemporaryFile(max_size=8 * sealing.CHUNK) as plain:
        try:
            for chunk in sealing.unseal_file(key, document_id, document.file):
                digest.update(chunk)
                size += len(chunk)
                plain.write(chunk)
        except sealing.SealBroken as error:
            raise _Unreadable(_("a document of it fails authentication")) from error
        except OSError as error:
            raise _Unreadable(_("a document of it is missing")) from error
        sha256 = digest.hexdigest()
        if sha256 != manifest.get("sha256") or size != manifest.get("size"):
            raise _Unreadable(_("a document of it does not match its receipt"))
        plain.seek(0)
        return document_store.store(
            File(plain, name=f"{sha256}.{_extension(manifest)}"),
            sha256=sha256,
            extension=_extension(manifest),
        )


def _reveal(key: bytes | None, bid: Bid, version: BidVersion) -> _Revealed:
    if key is None:
        raise _Unreadable(_("the process has no seal key"))
    content = _unseal_version(key, bid, version)
    revealed = _Revealed(content)
    if version.kind == BidVersion.Kind.SUBMISSION:
        for manifest in content.get("documents") or []:
            revealed.documents.append((manifest, _unseal_document(key, bid, manifest)))
    return revealed


def _decimal(value, model=OpenedBid, name: str = "total") -> Decimal:
    """The number as the act will store it in `model.name`: anything else (not a finite
    number, more digits than the column holds) makes the bid unreadable, never a failed
    opening."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError) as error:
        raise _Unreadable(_("its content is not a bid")) from error
    column = model._meta.get_field(name)
    try:
        DecimalValidator(column.max_digits, column.decimal_places)(number)
    except ValidationError as error:
        raise _Unreadable(_("its content is not a bid")) from error
    return number


@dataclass
class _Read:
    """What a bid's current version says once checked against the process: its lead, its
    members (supplier, entry, share), its priced lines, its documents; or why it cannot be
    read (`problem`)."""

    bid: Bid
    version: BidVersion
    position: int
    problem: str = ""
    content: dict = field(default_factory=dict)
    lead: Supplier | None = None
    members: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    documents: list = field(default_factory=list)

    @property
    def withdrawn(self) -> bool:
        return self.version.kind == BidVersion.Kind.WITHDRAWAL

    @property
    def counts(self) -> bool:
        return not self.problem and not self.withdrawn

    @property
    def supplier_ids(self) -> set[int]:
        return {supplier.pk for supplier, _entry, _share in self.members} or {self.lead.pk}


def _check(process, read: _Read, revealed: _Revealed, items: dict) -> None:
    """Fill `read` from the revealed content. Raises _Unreadable when the content does not
    fit the process (unknown supplier or item)."""
    content = revealed.content
    lead_entry = content.get("lead") or {}
    lead = Supplier.objects.filter(pk=lead_entry.get("id")).first()
    if lead is None:
        raise _Unreadable(_("its bidder is unknown"))
    members, lines = [], []
    if not read.withdrawn:
        for entry in content.get("members") or []:
            supplier = Supplier.objects.filter(pk=entry.get("id")).first()
            if supplier is None:
                raise _Unreadable(_("a member of it is unknown"))
            members.append(
                (supplier, entry, _decimal(entry.get("share"), OpenedBidMember, "share"))
            )
        for entry in content.get("prices") or []:
            item = items.get(entry.get("item"))
            if item is None:
                raise _Unreadable(_("it prices an item that is not in the process"))
            lines.append(
                (
                    item,
                    _decimal(entry.get("quantity"), OpenedBidLine, "quantity"),
                    _decimal(entry.get("unit_price"), OpenedBidLine, "unit_price"),
                    _decimal(entry.get("line_total"), OpenedBidLine, "line_total"),
                )
            )
        _decimal(content.get("total"))
    read.content, read.lead, read.members, read.lines = content, lead, members, lines
    read.documents = revealed.documents


def _status(read: _Read, superseded_by: OpenedBid | None) -> str:
    if read.problem:
        return OpenedBid.Status.UNREADABLE
    if read.withdrawn:
        return OpenedBid.Status.WITHDRAWN
    return OpenedBid.Status.SUPERSEDED if superseded_by else OpenedBid.Status.VALID


def _write(opening, read: _Read, superseded_by: OpenedBid | None, day: date) -> OpenedBid:
    """Record the bid as its opening revealed it (immutable once written)."""
    bid, version, content = read.bid, read.version, read.content
    common = {
        "opening": opening,
        "bid": bid,
        "position": read.position,
        "receipt_hash": version.receipt_hash,
        "version": version.number,
        "received_at": version.received_at,
        "status": _status(read, superseded_by),
    }
    if read.problem:
        return OpenedBid.objects.create(**common, paper=bid.paper, problem=read.problem[:200])
    lead_entry = content.get("lead") or {}
    suppliers = [supplier for supplier, _entry, _share in read.members] or [read.lead]
    standing = {} if read.withdrawn else standing_at_opening(suppliers, day)
    opened = OpenedBid.objects.create(
        **common,
        **standing,
        paper=bool(content.get("paper", bid.paper)),
        superseded_by=superseded_by,
        lead_supplier=read.lead,
        lead_ruc=str(lead_entry.get("ruc") or read.lead.ruc)[:11],
        lead_name=str(lead_entry.get("legal_name") or read.lead.legal_name)[:255],
        total=None if read.withdrawn else _decimal(content.get("total")),
    )
    OpenedBidMember.objects.bulk_create(
        [
            OpenedBidMember(
                opened_bid=opened,
                supplier=supplier,
                ruc=str(entry.get("ruc") or supplier.ruc)[:11],
                legal_name=str(entry.get("legal_name") or supplier.legal_name)[:255],
                share=share,
                is_lead=bool(entry.get("lead")),
            )
            for supplier, entry, share in read.members
        ]
    )
    OpenedBidLine.objects.bulk_create(
        [
            OpenedBidLine(
                opened_bid=opened,
                item=item,
                description=item.description,
                quantity=quantity,
                unit_price=unit_price,
                line_total=line_total,
            )
            for item, quantity, unit_price, line_total in read.lines
        ]
    )
    OpenedBidDocument.objects.bulk_create(
        [
            OpenedBidDocument(
                opened_bid=opened,
                title=str(manifest.get("title") or manifest.get("filename") or "")[:200],
                filename=str(manifest.get("filename") or "")[:200],
                content_type=str(manifest.get("content_type") or "application/octet-stream")[:100],
                size=int(manifest.get("size") or 0),
                sha256=str(manifest.get("sha256")),
                confidential=bool(manifest.get("confidential")),
                file=stored,
            )
            for manifest, stored in read.documents
        ]
    )
    return opened


def superseded_bids(reads: list[_Read]) -> dict[int, int]:
    """A supplier takes part in one bid per process. When it is in more than one counting
    bid (one handed in on paper and one sent electronically, sealed apart so that recording
    either reveals nothing of the other), the last received counts, as a replacement does:
    an earlier counting bid that shares a supplier with a later counting bid is superseded
    by it. Returns {position of the superseded bid: position of the bid that counts}."""
    counting: dict[int, int] = {}  # supplier id -> position of the latest counting bid
    superseded = {}
    for read in sorted(reads, key=lambda r: (r.version.received_at, r.position), reverse=True):
        if not read.counts:
            continue
        later = next((counting[s] for s in sorted(read.supplier_ids) if s in counting), None)
        if later is not None:
            superseded[read.position] = later
            continue
        for supplier_id in read.supplier_ids:
            counting[supplier_id] = read.position
    return superseded


def _unseal_all(process: ProcurementProcess, opening: BidOpening, day: date) -> list[OpenedBid]:
    """Every bid's current version, numbered in the order received: decrypted, checked
    against its receipt and the process, then recorded (the latest first, so that an earlier
    bid can name the one that supersedes it) with its bidder's standing on `day`
    (standing_at_opening); unreadable ones recorded as such with their receipt hash."""
    key = sealing.existing_process_key(process)
    bids = (
        Bid.objects.select_for_update()
        .filter(process=process, current_version__isnull=False)
        .select_related("current_version")
        .order_by("current_version__received_at", "pk")
    )
    items = {item.pk: item for item in ProcessItem.objects.filter(process=process)}
    reads = []
    for position, bid in enumerate(bids, start=1):
        read = _Read(bid=bid, version=bid.current_version, position=position)
        try:
            _check(process, read, _reveal(key, bid, read.version), items)
        except _Unreadable as error:
            read.problem = str(error)
        except (ValueError, TypeError, DataError):
            read.problem = _("its content is not a bid")
        reads.append(read)
    superseded = superseded_bids(reads)
    written: dict[int, OpenedBid] = {}
    for read in reversed(reads):
        later = superseded.get(read.position)
        written[read.position] = _write(opening, read, written[later] if later else None, day)
    return [written[read.position] for read in reads]


# --- the act -------------------------------------------------------------------------------


def _who(user) -> str:
    return f"{user.full_name} ({user.email})" if user.full_name else user.email


def _instant(moment) -> str:
    local = timezone.localtime(moment)
    zone = _("Lima time")
    return f"{local:%d/%m/%Y %H:%M:%S} ({zone}; {receipts.instant(moment)})"


def act_lines(
    process: ProcurementProcess, opening: BidOpening, opened: list[OpenedBid]
) -> list[str]:
    """The text of the opening act, in the active language."""
    what = (
        _("Unsealing of the bids at the start of the evaluation")
        if opening.at_evaluation
        else _("Public opening of the bids")
    )
    lines = [
        f"{what}.",
        _("Process: %(identifier)s — %(description)s")
        % {"identifier": process.identifier, "description": process.description},
        _("Entity: %(name)s (RUC %(ruc)s)")
        % {"name": process.entity.name, "ruc": process.entity.ruc},
        _("Procedure: %(type)s") % {"type": process.get_procedure_type_display()},
        _("Opened at: %(instant)s") % {"instant": _instant(opening.confirmed_at)},
        _("Started by committee member: %(who)s, at %(instant)s")
        % {"who": _who(opening.started_by), "instant": _instant(opening.started_at)},
        _("Confirmed by committee member: %(who)s") % {"who": _who(opening.confirmed_by)},
        _("Observer or notary: %(name)s") % {"name": opening.observer or _("none named")},
        _("Bids received (current versions): %(count)s") % {"count": len(opened)},
        "",
    ]
    for bid in opened:
        kind = _("on paper") if bid.paper else _("electronic")
        status = bid.get_status_display()
        if bid.status == OpenedBid.Status.UNREADABLE:
            lines.append(
                _("%(n)s. UNREADABLE bid (%(kind)s): %(problem)s.")
                % {"n": bid.position, "kind": kind, "problem": bid.problem}
            )
        elif bid.status == OpenedBid.Status.SUPERSEDED:
            lines.append(
                _(
                    "%(n)s. %(name)s (RUC %(ruc)s) — %(kind)s — superseded by bid %(later)s, "
                    "received later with the same supplier: the last received counts"
                )
                % {
                    "n": bid.position,
                    "name": bid.lead_name,
                    "ruc": bid.lead_ruc,
                    "kind": kind,
                    "later": bid.superseded_by.position,
                }
            )
        else:
            lines.append(
                f"{bid.position}. {bid.lead_name} (RUC {bid.lead_ruc}) — {kind} — {status}"
            )
        members = list(bid.members.all())
        if len(members) > 1:
            lines.append(
                "   "
                + _("Consortium: %(members)s")
                % {
                    "members": "; ".join(
                        f"{m.legal_name} (RUC {m.ruc}) {formatting.quantity(m.share)} %"
                        + (" — " + _("lead") if m.is_lead else "")
                        for m in members
                    )
                }
            )
        for line in bid.lines.all():
            lines.append(
                "   "
                + _("%(item)s: %(quantity)s x %(unit)s, line total %(total)s")
                % {
                    "item": line.description,
                    "quantity": formatting.quantity(line.quantity),
                    "unit": formatting.money(line.unit_price),
                    "total": formatting.money(line.line_total),
                }
            )
        if bid.total is not None:
            lines.append(
                "   " + _("Total offered: %(total)s") % {"total": formatting.money(bid.total)}
            )
        for document in bid.documents.all():
            lines.append(
                "   "
                + _("Document: %(name)s, %(size)s bytes, SHA-256 %(sha)s%(confidential)s")
                % {
                    "name": document.filename,
                    "size": document.size,
                    "sha": document.sha256,
                    "confidential": " (" + _("confidential") + ")" if document.confidential else "",
                }
            )
        lines.append(
            "   "
            + _("Version %(version)s received at %(instant)s")
            % {"version": bid.version, "instant": _instant(bid.received_at)}
        )
        lines.append("   " + _("Receipt: %(hash)s") % {"hash": bid.receipt_hash})
        lines.append("")
    lines.append(
        _(
            "Every receipt can be verified at /recibos/<receipt>/ with the portal's public key "
            "(/recibos/clave-publica.pem)."
        )
    )
    return lines


def _publish_act(actor, process, opening, opened: list[OpenedBid]) -> ProcessDocument:
    with translation.override(settings.LANGUAGE_CODE or "es"):
        lines = act_lines(process, opening, opened)
        title = _("Opening act") if not opening.at_evaluation else _("Unsealing act")
        content = pdf.document(f"{title} {process.identifier}", lines)
        upload = SimpleUploadedFile(
            f"acta-apertura-{process.identifier}.pdf", content, content_type="application/pdf"
        )
        return publish_document(
            actor,
            process,
            kind=ProcessDocument.Kind.ACT,
            title=f"{title} {process.identifier}",
            upload=upload,
            announce=False,
        )
