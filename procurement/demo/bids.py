"""Demo bids (issue 9), consistent with each process's moment relative to the seed's `until`:

- the bids of a process are received inside its bid stage, while it was called (not during a
  suspension, not after it was awarded, deserted, cancelled or annulled), and never after
  `until`: about 1 to 6 per process (one in direct contracting), some consortia (shares adding
  to 100 %, one lead), some on paper (recorded by the committee's president), some replaced by
  a later version, some withdrawn. Every version gets its receipt exactly as
  procurement.services.bids does it (the same canonical content, a random nonce, the receipt
  hash of procurement.receipts), and every receipt an entry in the public ledger;
- a process whose opening moment (the opening stage's first day after the deadline; the
  evaluation's, or the award's, for types without an opening stage) came while it was still
  called and before `until` has its completed opening: started by the committee's president,
  confirmed by the other member minutes later, the opened bids with their members and priced
  lines (amounts near the items' estimates), and the act as a PDF ProcessDocument (kind act)
  for the processes that get document files (procurement.demo.documents.has_files);
- the other processes with bids (deadline ahead, or passed and not opened yet, or left
  sealed by a cancellation, an annulment or a suspension) hold sealed bids only: a process
  data key wrapped by BID_MASTER_KEY, blind bidder and member tags, and each version's
  content sealed with AES-GCM (procurement.sealing) under the same associated data the
  service uses, so the opening service opens them; electronic bids in processes with files
  carry a sealed technical proposal (ciphertext only in media). No plaintext of them is
  written anywhere (not in audit payloads either).

Decision for opened processes: their sealed versions are not kept (the plaintext is public
after the opening, and a million processes would carry gigabytes of ciphertext for nothing):
the Bid rows (tagged under a throwaway key, no current version), the ledger and the opened
plaintext are. The ledger is written once, in the order of the instants of receipt across
all processes (positions ascending with time, as the live service appends them), chained and
signed with the portal key (`verify_receipts` checks it).

Participants: each bidder (lead and consortium members) is registered in the process before
its first version; the demo SMEs (proveedor.micro, proveedor.pequena) are registered in the
"bidding" demo process of each demo entity and bid there themselves. Suppliers without a demo
account submit through a representative account (representante.<ruc>@proveedores.demo...,
the demo password, not printed). Keys and nonces are random (os.urandom): the same seed gives
the same bids, prices and instants, but new ciphertexts and receipt hashes.
"""

import hashlib
import json
import os
import secrets
import time as time_module
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import translation

from accounts.models import Membership, Role, User
from core import pdf as core_pdf
from core.codelists import Stage
from suppliers.models import Supplier

from .. import receipts, sealing
from ..models import (
    Bid,
    BidMemberTag,
    BidOpening,
    BidVersion,
    CommitteeMember,
    ConsortiumConsent,
    Entity,
    OpenedBid,
    OpenedBidLine,
    OpenedBidMember,
    Participant,
    ProcessDocument,
    ProcessItem,
    ProcessSealKey,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
    ReceiptLedgerEntry,
    SealedDocument,
    StatusChange,
)
from ..models.bids import sealed_document_path
from . import pdf, workers
from .bulk_writers import CopyText, send_copy
from .documents import DOCUMENT_FIELDS, DocumentBuilder, has_files
from .phases import Phases
from .users import DEMO_DOMAIN, DEMO_ENTITIES

S = ProcessStatus
CHUNK = 2_000
CENT = Decimal("0.01")
HUNDRED = Decimal("100")
REPRESENTATIVE_DOMAIN = f"proveedores.{DEMO_DOMAIN}"
SME = ("micro", "small")
BID_COUNTS = [(0, 0.04), (1, 0.15), (2, 0.25), (3, 0.25), (4, 0.15), (5, 0.10), (6, 0.06)]
SHARES = {2: [(60, 40), (50, 50), (70, 30)], 3: [(50, 30, 20), (40, 30, 30)]}
# In a process open to every company, the chance that a bidder (or consortium member) is a
# medium or large firm: they are a tenth of the registry but bid far more often in the open
# processes worth most, so they win a real share of the value (about a third of the open
# processes' awards) and the demo's ranking has entities under the 40% SME share.
LARGER_BIDDER = 0.4
# The statuses reached by leaving "called" with these actions (the first one ends the bids).
LEAVING = {"award", "desert", "cancel", "annul", "suspend"}
PROPOSAL_TITLE = "Propuesta técnica"

BID_FIELDS = ["id", "process", "bidder_tag", "paper", "status", "created_at", "current_version"]
VERSION_FIELDS = ["id", "bid", "number", "kind", "received_at", "receipt_hash", "sealed"]
CONSENT_FIELDS = ["process", "member_tag", "lead_tag", "created_at"]
TAG_FIELDS = ["process", "bid", "tag"]
SEALED_DOC_FIELDS = ["id", "process", "bid", "owner_tag", "file", "sealed_meta", "created_at"]
KEY_FIELDS = ["process", "wrapped_key", "created_at"]
PARTICIPANT_FIELDS = ["process", "supplier", "registered_at", "registered_by", "fee_receipt"]
OPENING_FIELDS = [
    "id",
    "process",
    "status",
    "started_by",
    "started_at",
    "confirm_by",
    "confirmed_by",
    "confirmed_at",
    "observer",
    "at_evaluation",
    "act",
]
OPENED_FIELDS = [
    "id",
    "opening",
    "bid",
    "position",
    "receipt_hash",
    "version",
    "received_at",
    "paper",
    "status",
    "problem",
    "lead_supplier",
    "lead_ruc",
    "lead_name",
    "total",
]
MEMBER_FIELDS = ["opened_bid", "supplier", "ruc", "legal_name", "share", "is_lead"]
LINE_FIELDS = ["opened_bid", "item", "description", "quantity", "unit_price", "line_total"]
ACT_FIELDS = ["id", *DOCUMENT_FIELDS]  # the act is a process document with a known id
LEDGER_FIELDS = [
    "position",
    "receipt_hash",
    "process",
    "received_at",
    "kind",
    "paper",
    "signature",
    "previous_hash",
    "chain_hash",
]
RECEIPTS_TABLE = "seed_demo_receipts"


@dataclass
class BidReport:
    bids: int = 0
    versions: int = 0
    sealed_processes: int = 0
    openings: int = 0
    acts: int = 0
    participants: int = 0
    ledger: int = 0
    seconds: float = 0.0  # the bids' own part of the seed (the audit entries come later)
    demo: list[tuple[str, str, str]] = field(default_factory=list)  # (identifier, kind, note)


@dataclass(slots=True)
class _Supplier:
    pk: int
    ruc: str
    name: str
    valid_until: date
    size: str
    user: int
    email: str


@dataclass(slots=True)
class _Version:
    number: int
    kind: str  # BidVersion.Kind
    at: datetime
    content: dict
    nonce: str
    receipt_hash: str
    instant: str  # receipts.instant(at): ISO 8601 in UTC, as the receipt and the ledger write it
    # The content's prices as numbers, [(item, quantity, unit_price, line_total)], and total.
    priced: list[tuple] = field(default_factory=list)
    total: Decimal | None = None


@dataclass(slots=True)
class _Bid:
    id: uuid.UUID
    lead: _Supplier
    members: list[tuple[_Supplier, Decimal, bool]]
    paper: bool
    versions: list[_Version] = field(default_factory=list)
    document: tuple[uuid.UUID, dict] | None = None  # (id, manifest) of its sealed proposal

    @property
    def current(self) -> _Version:
        return self.versions[-1]

    @property
    def withdrawn(self) -> bool:
        return self.current.kind == BidVersion.Kind.WITHDRAWAL


class _Ids:
    """Ids allocated ahead (PostgreSQL: the table's sequence; elsewhere: after the maximum)."""

    BLOCK = 5_000

    def __init__(self, model):
        self.model = model
        self.next = None
        self.buffer: list[int] = []

    def reserve(self) -> list[int]:
        """A block of ids for one chunk, taken by this process in chunk order (PostgreSQL):
        the worker that builds the chunk starts from it, so which worker builds which chunk,
        and when, changes no id (unless a chunk needs more than a block)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [self.model._meta.db_table, self.BLOCK],
            )
            return [row[0] for row in cursor.fetchall()]

    def start_chunk(self, block: list[int]) -> None:
        self.buffer = block[::-1]  # popped from the end, ascending

    def take(self, count: int) -> list[int]:
        if not count:
            return []
        if workers.in_worker() or connection.vendor == "postgresql":
            if len(self.buffer) < count:  # one query per block of ids, not per process
                cursor = workers.worker_ids_cursor() if workers.in_worker() else connection.cursor()
                with cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                        "FROM generate_series(1, %s)",
                        [self.model._meta.db_table, max(count, self.BLOCK)],
                    )
                    fresh = [row[0] for row in cursor.fetchall()]
                self.buffer = fresh[::-1] + self.buffer  # popped from the end, ascending
            return [self.buffer.pop() for _ in range(count)]
        if self.next is None:
            last = self.model.objects.order_by("-pk").values_list("pk", flat=True).first()
            self.next = (last or 0) + 1
        ids = list(range(self.next, self.next + count))
        self.next += count
        return ids


def _pick(rng, weighted):
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


class BidBuilder:
    def __init__(
        self,
        rng,
        today: date,
        *,
        until: datetime,
        files_for_first: int,
        demo_processes: dict[int, str] | None = None,
        password: str = "",
        phases: Phases | None = None,
    ):
        self.rng = rng
        self.phases = phases or Phases()
        self.today = today
        self.until = until
        self.files_for_first = files_for_first
        self.demo = demo_processes or {}
        self.password = password
        self.lima = ZoneInfo(settings.TIME_ZONE)
        self.report = BidReport()
        self.documents = DocumentBuilder(today, files_for_first=files_for_first)
        self.ids = {model: _Ids(model) for model in (BidVersion, BidOpening, OpenedBid)}
        self.document_ids = _Ids(ProcessDocument)
        self.proposal = pdf.one_page(
            PROPOSAL_TITLE,
            ["Propuesta técnica de demostración generada por seed_demo; no tiene valor legal."],
            title=PROPOSAL_TITLE,
        )
        self.proposal_sha = hashlib.sha256(self.proposal).hexdigest()

    # --- suppliers and their accounts ---------------------------------------------------------

    def _load_suppliers(self) -> None:
        users = dict(
            Membership.objects.filter(role=Role.SUPPLIER_USER, supplier__isnull=False)
            .order_by("pk")
            .values_list("supplier_id", "user_id")
        )
        rows = list(
            Supplier.objects.order_by("pk").values_list(
                "pk", "ruc", "legal_name", "registry_valid_until", "size_class", "registered_at"
            )
        )
        missing = [row for row in rows if row[0] not in users]
        if missing and not self.password:  # the demo accounts' hash (procurement.demo.users)
            self.password = (
                User.objects.filter(email=f"admin@{DEMO_DOMAIN}")
                .values_list("password", flat=True)
                .first()
            ) or ""
        if missing:
            first = min(row[5] for row in missing)
            User.objects.bulk_create(
                [
                    User(
                        email=f"representante.{ruc}@{REPRESENTATIVE_DOMAIN}",
                        full_name=f"Representante de {name}"[:150],
                        password=self.password or "!seed_demo-representative",
                        email_verified_at=first,
                        date_joined=first,
                    )
                    for _pk, ruc, name, *_rest in missing
                ],
                batch_size=2000,
            )
            created = dict(
                User.objects.filter(email__endswith=f"@{REPRESENTATIVE_DOMAIN}").values_list(
                    "email", "pk"
                )
            )
            Membership.objects.bulk_create(
                [
                    Membership(
                        user_id=created[f"representante.{ruc}@{REPRESENTATIVE_DOMAIN}"],
                        role=Role.SUPPLIER_USER,
                        supplier_id=pk,
                    )
                    for pk, ruc, *_rest in missing
                ],
                batch_size=2000,
            )
            users.update(
                {
                    pk: created[f"representante.{ruc}@{REPRESENTATIVE_DOMAIN}"]
                    for pk, ruc, *_rest in missing
                }
            )
        emails = dict(User.objects.filter(pk__in=set(users.values())).values_list("pk", "email"))
        self.suppliers = [
            _Supplier(pk, ruc, name, valid, size, users[pk], emails[users[pk]])
            for pk, ruc, name, valid, size, _registered in rows
        ]
        self.smes = [s for s in self.suppliers if s.size in SME]
        self.larger = [s for s in self.suppliers if s.size not in SME]
        demo_users = dict(
            Membership.objects.filter(
                role=Role.SUPPLIER_USER, user__email__endswith=f"@{DEMO_DOMAIN}"
            ).values_list("user__email", "supplier_id")
        )
        by_pk = {s.pk: s for s in self.suppliers}
        self.demo_smes = [
            by_pk[demo_users[email]]
            for email in (f"proveedor.micro@{DEMO_DOMAIN}", f"proveedor.pequena@{DEMO_DOMAIN}")
            if email in demo_users
        ]

    def _load_captured(self) -> None:
        """The entity captured by one supplier (procurement.red_flags.recurrent_winner): of
        the fiscal year and entity (demo entities aside) whose history awards the most
        processes, every awarded one gets a single bid, from one SME (the one registered
        longest ahead), which therefore wins them all."""
        top = (
            StatusChange.objects.filter(action="award")
            .exclude(process__entity__acronym__in=DEMO_ENTITIES)
            .values("process__entity_id", "process__fiscal_year_id")
            .annotate(n=Count("process", distinct=True))
            .order_by("-n", "process__entity_id", "process__fiscal_year_id")
            .first()
        )
        candidates = [s for s in self.smes if s not in self.demo_smes]
        self.captured: set[int] = set()
        self.habitual = None
        if top is None or not candidates:
            return
        self.habitual = min(candidates, key=lambda s: (-s.valid_until.toordinal(), s.pk))
        self.captured = set(
            StatusChange.objects.filter(
                action="award",
                process__entity_id=top["process__entity_id"],
                process__fiscal_year_id=top["process__fiscal_year_id"],
            ).values_list("process_id", flat=True)
        )

    # --- the processes, chunk by chunk ---------------------------------------------------------

    def _chunks(self) -> Iterator[list[tuple[int, tuple]]]:
        rows = ProcurementProcess.objects.order_by("pk").values_list(
            "pk",
            "identifier",
            "status",
            "published_at",
            "procedure_type",
            "sme_only",
            "award_by_items",
            "description",
            "entity_id",
            "entity__name",
            "entity__ruc",
        )
        chunk = []
        for position, row in enumerate(rows.iterator(chunk_size=CHUNK)):
            if row[2] == S.DRAFT:
                continue
            chunk.append((position, row))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def build(self) -> BidReport:
        began = time_module.monotonic()
        self.acronyms = dict(Entity.objects.values_list("pk", "acronym"))
        self._load_suppliers()
        self._load_captured()
        self._create_receipts_table()
        self.stream_base = self.rng.getrandbits(64)  # each chunk's stream (workers.chunk_stream)
        parallel = workers.parallel_available()
        if parallel:
            sealing.wrap_key(os.urandom(32))  # the master key loaded (or made) before forking
        receipts.sign(receipts.GENESIS_HASH)  # so is the signing key (the workers sign)
        with translation.override(settings.LANGUAGE_CODE or "es"):
            workers.run_chunks(
                self._chunks(), self._read, self._build_chunk, self._write, parallel=parallel
            )
        with self.phases.phase("  of which the receipt ledger"):
            self._write_ledger()
        self.report.seconds = time_module.monotonic() - began
        return self.report

    def _read(self, chunk):
        """The chunk's processes with their stages, changes, items and committees, read by
        the chunk's range of ids (chunks follow the ids; the drafts in it are skipped): one
        index scan, where a list of thousands of ids costs more than the rows. Read as JSON
        text (one value per table): the worker that builds the chunk parses it, and this
        process (the serial part of the seed) neither loads nor pickles row by row."""
        if connection.vendor != "postgresql":
            return chunk, self._read_models(chunk), None
        with connection.cursor() as cursor:
            cursor.execute(_inputs_sql(), {"first": chunk[0][1][0], "last": chunk[-1][1][0]})
            texts = cursor.fetchone()
        return chunk, texts, [ids.reserve() for ids in self._all_ids()]

    def _all_ids(self) -> list[_Ids]:
        return [*self.ids.values(), self.document_ids]

    def _read_models(self, chunk):
        """What _read reads, through the models (SQLite: no JSON aggregates, no workers)."""
        ids = [row[0] for _position, row in chunk]
        span = (ids[0], ids[-1])
        stages: dict[int, dict] = {pk: {} for pk in ids}
        for pk, stage, start, end, closing in ProcessStage.objects.filter(
            process_id__gte=span[0], process_id__lte=span[1]
        ).values_list("process_id", "stage", "start", "end", "closing_time"):
            if pk in stages:
                stages[pk][stage] = (start, end, closing)
        changes: dict[int, list] = {pk: [] for pk in ids}
        for pk, at, action in (
            StatusChange.objects.filter(process_id__gte=span[0], process_id__lte=span[1])
            .order_by("at", "pk")
            .values_list("process_id", "at", "action")
        ):
            if pk in changes:
                changes[pk].append((at, action))
        items: dict[int, list] = {pk: [] for pk in ids}
        for pk, item, description, quantity, value in (
            ProcessItem.objects.filter(process_id__gte=span[0], process_id__lte=span[1])
            .order_by("pk")
            .values_list("process_id", "pk", "description", "quantity", "estimated_value")
        ):
            if pk in items:
                items[pk].append((item, description, quantity, value))
        committees: dict[int, dict] = {pk: {} for pk in ids}
        for pk, user, role, email, name in CommitteeMember.objects.filter(
            process_id__gte=span[0], process_id__lte=span[1]
        ).values_list("process_id", "user_id", "role", "user__email", "user__full_name"):
            if pk in committees:
                committees[pk][role] = SimpleNamespace(pk=user, email=email, full_name=name)
        return stages, changes, items, committees

    @staticmethod
    def _parsed(chunk, texts):
        """The inputs _read read, as the builder uses them (in the worker)."""
        ids = [row[0] for _position, row in chunk]
        stage_rows, change_rows, item_rows, committee_rows = (
            json.loads(text) if text else [] for text in texts
        )
        stages: dict[int, dict] = {pk: {} for pk in ids}
        for pk, stage, start, end, closing in stage_rows:
            if pk in stages:
                stages[pk][stage] = (
                    date.fromisoformat(start),
                    date.fromisoformat(end),
                    time.fromisoformat(closing) if closing else None,
                )
        changes: dict[int, list] = {pk: [] for pk in ids}
        for pk, at, action in change_rows:
            if pk in changes:
                changes[pk].append((datetime.fromisoformat(at), action))
        items: dict[int, list] = {pk: [] for pk in ids}
        for pk, item, description, quantity, value in item_rows:
            if pk in items:
                items[pk].append((item, description, _number(quantity), _number(value)))
        committees: dict[int, dict] = {pk: {} for pk in ids}
        for pk, user, role, email, name in committee_rows:
            if pk in committees:
                committees[pk][role] = SimpleNamespace(pk=user, email=email, full_name=name)
        return stages, changes, items, committees

    def _build_chunk(self, index: int, inputs) -> tuple["_Tables", BidReport]:
        """The chunk's rows and counts (in a worker process or this one)."""
        chunk, read, blocks = inputs
        if blocks is not None:
            for ids, block in zip(self._all_ids(), blocks, strict=True):
                ids.start_chunk(block)
        stages, changes, items, committees = (
            self._parsed(chunk, read) if isinstance(read[0], str | None) else read
        )
        self.rng = workers.chunk_stream(self.stream_base, index)
        report, self.report = self.report, BidReport()
        try:
            self._items = {item: d for rows in items.values() for item, d, _q, _v in rows}
            out = _Tables()
            for position, row in chunk:
                self._process(
                    out,
                    position,
                    row,
                    stages[row[0]],
                    changes[row[0]],
                    items[row[0]],
                    committees[row[0]],
                )
            if workers.in_worker():
                out.as_copy_text()
            return out, self.report
        finally:
            self.report = report

    def _write(self, built: tuple["_Tables", BidReport]) -> None:
        out, counted = built
        for name in ("bids", "versions", "sealed_processes", "openings", "acts"):
            setattr(self.report, name, getattr(self.report, name) + getattr(counted, name))
        self.report.demo.extend(counted.demo)
        with self.phases.phase("  of which writing bid rows"):
            out.write(self)

    # --- one process ---------------------------------------------------------------------------

    def _aware(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.lima)

    def _process(self, out, position, row, stages, changes, items, committee) -> None:
        (pk, identifier, status, published, procedure, sme_only, by_items, description,
         entity_id, entity_name, entity_ruc) = row  # fmt: skip
        bids_stage = stages.get(Stage.BIDS)
        if bids_stage is None or not items or published is None:
            return
        rng, demo = self.rng, self.demo.get(pk, "")
        opens = self._aware(bids_stage[0], time.min)
        closes = self._aware(bids_stage[1], bids_stage[2] or time.max)
        # Until when it was called, and when it was suspended meanwhile.
        stop, suspended, since = self.until, [], None
        for at, action in changes[1:]:
            if action == "resume" and since is not None:
                suspended.append((since, at))
                since = None
            elif action == "suspend" and since is None:
                since = at
            elif action in LEAVING:
                stop = min(stop, at)
                break
        if since is not None:
            stop = min(stop, since)
        start = max(opens, published + timedelta(minutes=30))
        end = min(closes, stop, self.until - timedelta(seconds=1))
        if end <= start + timedelta(minutes=10):
            return
        opening = (
            None if demo else self._opening_moment(identifier, stages, closes, stop, suspended)
        )
        files = has_files(position, identifier, self.files_for_first)
        if demo == "bidding":
            registered = max(published + timedelta(minutes=10), start - timedelta(days=1))
            for supplier in self.demo_smes:
                out.participants.append((pk, supplier.pk, registered, supplier.user, ""))
            self.report.demo.append(
                (
                    identifier,
                    demo,
                    "bid stage open: proveedor.micro and proveedor.pequena "
                    "are registered participants and may bid",
                )  # fmt: skip
            )
        leaves_by = next((a for _at, a in changes[1:] if a in LEAVING), None)
        count = _pick(rng, BID_COUNTS)
        if status == S.DESERTED and rng.random() < 0.4:
            count = 0
        elif procedure == "CD":
            count = 1
        if demo == "opening":
            count = max(count, 3)
        if count == 0 and leaves_by == "award":
            count = 1
        bidders = self._bidders(rng, count, sme_only, start.date(), demo)
        if pk in self.captured and not demo and self.habitual.valid_until >= start.date():
            bidders = [[(self.habitual, Decimal(100), True)]]
        if not bidders:
            return
        president, member = committee.get("president"), committee.get("member")
        process = SimpleNamespace(pk=pk, identifier=identifier)
        bids = []
        for index, members in enumerate(bidders):
            # An awarded process (and the demo's opening) has at least one bid in force.
            stands = index == 0 and (leaves_by == "award" or demo == "opening")
            bid = self._bid(rng, process, members, items, by_items, president, start, end,
                            suspended, procedure, files and opening is None, stands)  # fmt: skip
            if bid is not None:
                bids.append(bid)
                first = bid.versions[0].at
                for supplier, _share, _lead in members:
                    registered = max(published, first - timedelta(minutes=rng.randint(60, 6000)))
                    out.participants.append((pk, supplier.pk, registered, supplier.user, ""))
        if not bids:
            return
        for bid in bids:
            for version in bid.versions:
                # Signed here (a worker process, on PostgreSQL): each signature covers its
                # receipt hash alone; only the chain needs the order across processes.
                kind = "withdrawal" if version.kind == BidVersion.Kind.WITHDRAWAL else "bid"
                out.receipts.append(
                    (version.instant, version.receipt_hash, pk, identifier, kind, bid.paper,
                     receipts.sign(version.receipt_hash))
                )  # fmt: skip
        self.report.bids += len(bids)
        self.report.versions += sum(len(b.versions) for b in bids)
        live = [b for b in bids if not b.withdrawn]
        if opening is not None and live and president and member:
            self._opened(out, position, row, bids, opening, president, member, stages)
        else:
            self._sealed(out, pk, bids)
            if demo == "opening":
                local = self.acronyms.get(entity_id, "").lower().replace("-", "")
                note = (
                    f"{len(live)} sealed bids, deadline passed: staff.{local} starts the "
                    f"opening, staff2.{local} confirms"
                )
                self.report.demo.append((identifier, demo, note))

    def _opening_moment(self, identifier, stages, closes, stop, suspended) -> datetime | None:
        """When the committee opened the bids, or None if not (yet) by `until`. The minute
        comes from the identifier, not the id: ids differ between two seeds of one database,
        and whether the opening came before a suspension or the seed's moment must not."""
        stage = stages.get(Stage.OPENING) or stages.get(Stage.EVALUATION) or stages.get(Stage.AWARD)
        if stage is None:
            return None
        day = stage[0] if stage[0] > closes.date() else closes.date() + timedelta(days=1)
        spread = zlib.crc32(identifier.encode())
        moment = self._aware(day, time(10)) + timedelta(minutes=spread % 90, seconds=spread % 57)
        for begin, finish in suspended:
            if begin <= moment <= finish:
                moment = finish + timedelta(minutes=30)
        limit = min(stop, self.until) - timedelta(minutes=40)
        if moment > limit:
            if stop >= self.until:  # still called: the opening is due later
                return None
            moment = max(closes + timedelta(minutes=5), limit - timedelta(hours=1))
            if moment > limit or any(b <= moment <= f for b, f in suspended):
                return None
        return moment if moment > closes else None

    def _bidders(self, rng, count, sme_only, day, demo) -> list[list[tuple]]:
        """`count` bids' members [(supplier, share, is_lead)], no supplier twice."""
        pool = self.smes if sme_only else self.suppliers
        if not pool:
            return []
        taken = {s.pk for s in self.demo_smes} if demo == "bidding" else set()
        chosen = []
        for _n in range(count):
            size = 1
            if count > 1 and rng.random() < 0.12:
                size = rng.choice((2, 2, 3))
            members = []
            for _attempt in range(size * 8):
                drawn = pool
                if not sme_only and self.larger and rng.random() < LARGER_BIDDER:
                    drawn = self.larger
                supplier = drawn[rng.randrange(len(drawn))]
                if supplier.pk in taken or supplier.valid_until < day:
                    continue
                taken.add(supplier.pk)
                members.append(supplier)
                if len(members) == size:
                    break
            if not members:
                continue
            shares = rng.choice(SHARES[len(members)]) if len(members) > 1 else (100,)
            chosen.append(
                [
                    (s, Decimal(share), index == 0)
                    for index, (s, share) in enumerate(zip(members, shares, strict=True))
                ]
            )
        return chosen

    def _instants(self, rng, k, start, end, suspended) -> list[datetime] | None:
        span = (end - start).total_seconds()
        # Most bids come in the last part of the stage.
        moments = sorted(
            start
            + timedelta(
                seconds=span * (1 - rng.random() ** 2), microseconds=rng.randrange(1_000_000)
            )
            for _ in range(k)
        )
        moments = [min(m, end) for m in moments]
        if any(b <= m <= f for m in moments for b, f in suspended):
            return None
        return moments

    def _bid(self, rng, process, members, items, by_items, president, start, end, suspended,
             procedure, with_document, stands=False) -> _Bid | None:  # fmt: skip
        lead = members[0][0]
        paper = president is not None and rng.random() < 0.07
        kinds = [BidVersion.Kind.SUBMISSION]
        if rng.random() < 0.15:
            kinds.append(BidVersion.Kind.SUBMISSION)
        if procedure != "CD" and not stands and rng.random() < 0.07:
            kinds.append(BidVersion.Kind.WITHDRAWAL)
        moments = None
        for _attempt in range(6 if stands else 1):
            moments = self._instants(rng, len(kinds), start, end, suspended)
            if moments is not None:
                break
        if moments is None:
            return None
        bid = _Bid(uuid.uuid4(), lead, members, paper)
        if not paper and with_document:
            document_id = uuid.uuid4()
            manifest = {
                "filename": "propuesta-tecnica.pdf",
                "content_type": "application/pdf",
                "size": len(self.proposal),
                "sha256": self.proposal_sha,
                "title": PROPOSAL_TITLE,
                "confidential": False,
            }
            bid.document = (document_id, manifest)
        if paper:
            user = {"id": president.pk, "email": president.email, "role": "staff"}
        else:
            user = {"id": lead.user, "email": lead.email, "role": "supplier"}
        chosen = [item for item in items if not by_items or rng.random() < 0.7] or items[:1]
        for number, (kind, at) in enumerate(zip(kinds, moments, strict=True), start=1):
            content = {
                "process": process.identifier,
                "process_id": process.pk,
                "version": number,
                "kind": str(kind),
                "paper": paper,
                "lead": _entry(lead),
                "user": user,
            }
            if kind == BidVersion.Kind.SUBMISSION:
                content["members"] = [
                    {**_entry(s), "share": receipts.money(share), "lead": is_lead}
                    for s, share, is_lead in members
                ]
                documents = []
                if bid.document is not None:
                    documents = [{"id": str(bid.document[0]), **bid.document[1]}]
                content["documents"] = documents
                lines, priced, total = [], [], Decimal("0.00")
                for item, _description, quantity, value in chosen:
                    unit = _unit_price(rng, value, quantity)
                    line_total = (unit * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
                    total += line_total
                    priced.append((item, quantity, unit, line_total))
                    lines.append(
                        {
                            "item": item,
                            "quantity": str(quantity),
                            "unit_price": receipts.money(unit),
                            "line_total": receipts.money(line_total),
                        }
                    )
                content["prices"] = lines
                content["total"] = receipts.money(total)
            nonce = secrets.token_hex(16)
            instant = receipts.instant(at)
            receipt = receipts.receipt_hash(content, instant, nonce)
            version = _Version(number, kind, at, content, nonce, receipt, instant)
            if kind == BidVersion.Kind.SUBMISSION:
                version.priced, version.total = priced, total
            bid.versions.append(version)
        return bid

    # --- sealed bids ---------------------------------------------------------------------------

    def _sealed(self, out, pk, bids: list[_Bid]) -> None:
        key = os.urandom(32)
        first = min(b.versions[0].at for b in bids)
        out.keys.append((pk, sealing.wrap_key(key), first - timedelta(minutes=1)))
        version_ids = self.ids[BidVersion].take(sum(len(b.versions) for b in bids))
        position = 0
        for bid in bids:
            tag = sealing.paper_tag if bid.paper else sealing.tag
            bidder_tag = tag(key, bid.lead.pk)
            aad_bid = SimpleNamespace(pk=bid.id)
            for version in bid.versions:
                version_id = version_ids[position]
                position += 1
                sealed = sealing.seal_json(
                    key,
                    {"content": version.content, "nonce": version.nonce},
                    _version_aad(aad_bid, version.number),
                )
                out.versions.append(
                    (
                        version_id,
                        bid.id,
                        version.number,
                        version.kind,
                        version.at,
                        version.receipt_hash,
                        sealed,
                    )  # fmt: skip
                )
            status = Bid.Status.WITHDRAWN if bid.withdrawn else Bid.Status.SUBMITTED
            out.bids.append(
                (bid.id, pk, bidder_tag, bid.paper, status, bid.versions[0].at, version_id)
            )
            if not bid.withdrawn:
                for supplier, _share, _lead in bid.members:
                    out.tags.append((pk, bid.id, tag(key, supplier.pk)))
                    if supplier.pk != bid.lead.pk and not bid.paper:  # consented before bidding
                        consented = bid.versions[0].at - timedelta(minutes=10)
                        member_tag = sealing.tag(key, supplier.pk)
                        out.consents.append((pk, member_tag, bidder_tag, consented))
            if bid.document is not None:
                document_id, manifest = bid.document
                stored = sealing.seal_file(
                    key, document_id, [self.proposal], sealed_document_path(pk, document_id)
                )
                out.sealed_documents.append(
                    (
                        document_id,
                        pk,
                        bid.id,
                        bidder_tag,
                        stored.name,
                        sealing.seal_json(key, manifest, sealing.document_meta_aad(document_id)),
                        bid.versions[0].at - timedelta(minutes=5),
                    )
                )
        self.report.sealed_processes += 1

    # --- opened bids ---------------------------------------------------------------------------

    def _opened(self, out, position, row, bids, opened_at, president, member, stages) -> None:
        (pk, identifier, _status, _published, procedure, _sme, _by_items, description,
         entity_id, entity_name, entity_ruc) = row  # fmt: skip
        throwaway = os.urandom(32)  # the tags of an opened process are never looked up again
        started = opened_at - timedelta(
            minutes=self.rng.randint(2, 12), seconds=self.rng.randint(0, 59)
        )
        [opening_id] = self.ids[BidOpening].take(1)
        ordered = sorted(bids, key=lambda b: b.current.at)
        opened_ids = self.ids[OpenedBid].take(len(ordered))
        shown = []  # what the act lists (only for a process with files: it has an act)
        act = has_files(position, identifier, self.files_for_first)
        for number, (bid, opened_id) in enumerate(zip(ordered, opened_ids, strict=True), start=1):
            out.bids.append(
                (
                    bid.id,
                    pk,
                    (sealing.paper_tag if bid.paper else sealing.tag)(throwaway, bid.lead.pk),
                    bid.paper,
                    Bid.Status.WITHDRAWN if bid.withdrawn else Bid.Status.SUBMITTED,
                    bid.versions[0].at,
                    None,
                )  # fmt: skip
            )
            version = bid.current
            withdrawn = bid.withdrawn
            total = None if withdrawn else version.total
            status = OpenedBid.Status.WITHDRAWN if withdrawn else OpenedBid.Status.VALID
            out.opened.append(
                (
                    opened_id,
                    opening_id,
                    bid.id,
                    number,
                    version.receipt_hash,
                    version.number,
                    version.at,
                    bid.paper,
                    status,
                    "",
                    bid.lead.pk,
                    bid.lead.ruc,
                    bid.lead.name[:255],
                    total,
                )  # fmt: skip
            )
            if not withdrawn:
                for supplier, share, is_lead in bid.members:
                    out.members.append(
                        (opened_id, supplier.pk, supplier.ruc, supplier.name[:255], share, is_lead)
                    )
                for item, quantity, unit, line_total in version.priced:
                    out.lines.append(
                        (opened_id, item, self._description(item), quantity, unit, line_total)
                    )
            if act:
                shown.append(self._shown(bid, number, status, total))
        at_evaluation = Stage.OPENING not in stages
        act_id = None
        if act:
            act_id = self._act(
                out, row, shown, started, opened_at, president, member, at_evaluation
            )
        out.openings.append(
            (
                opening_id,
                pk,
                BidOpening.Status.COMPLETED,
                president.pk,
                started,
                started + timedelta(minutes=30),
                member.pk,
                opened_at,
                "",
                at_evaluation,
                act_id,
            )  # fmt: skip
        )
        self.report.openings += 1

    def _shown(self, bid: _Bid, number: int, status: str, total) -> SimpleNamespace:
        """An opened bid as the act lists it (the shape act_lines reads from the models)."""
        version = bid.current
        members, lines = [], []
        if status != OpenedBid.Status.WITHDRAWN:
            members = [
                SimpleNamespace(
                    legal_name=supplier.name, ruc=supplier.ruc, share=share, is_lead=is_lead
                )
                for supplier, share, is_lead in bid.members
            ]
            lines = [
                SimpleNamespace(
                    description=self._description(item),
                    quantity=quantity,
                    unit_price=unit,
                    line_total=line_total,
                )
                for item, quantity, unit, line_total in version.priced
            ]
        return SimpleNamespace(
            position=number,
            paper=bid.paper,
            status=status,
            get_status_display=lambda: OpenedBid.Status(status).label,
            problem="",
            lead_name=bid.lead.name,
            lead_ruc=bid.lead.ruc,
            members=_Listed(members),
            lines=_Listed(lines),
            documents=_Listed([]),
            total=total,
            version=version.number,
            received_at=version.at,
            receipt_hash=version.receipt_hash,
        )  # fmt: skip

    def _procedure_label(self, procedure: str) -> str:
        labels = self.__dict__.setdefault("_labels", {})
        if procedure not in labels:
            labels[procedure] = str(
                ProcurementProcess(procedure_type=procedure).get_procedure_type_display()
            )
        return labels[procedure]

    def _description(self, item: int) -> str:
        return self._items.get(item, "")

    def _act(self, out, row, shown, started, opened_at, president, member, at_evaluation):
        from ..services.opening import act_lines

        (pk, identifier, _status, _published, procedure, _sme, _by_items, description,
         entity_id, entity_name, entity_ruc) = row  # fmt: skip
        process = SimpleNamespace(
            identifier=identifier,
            description=description,
            entity=SimpleNamespace(name=entity_name, ruc=entity_ruc),
            get_procedure_type_display=lambda: self._procedure_label(procedure),
        )
        opening = SimpleNamespace(
            at_evaluation=at_evaluation, confirmed_at=opened_at, started_at=started,
            started_by=president, confirmed_by=member, observer="",
        )  # fmt: skip
        from django.utils.translation import gettext as _

        title = _("Opening act") if not at_evaluation else _("Unsealing act")
        content = core_pdf.document(f"{title} {identifier}", act_lines(process, opening, shown))
        sha256 = hashlib.sha256(content).hexdigest()
        name = self.documents.store(content, sha256)
        [act_id] = self.document_ids.take(1)
        out.acts.append(
            (
                act_id,
                pk,
                entity_id,
                ProcessDocument.Kind.ACT,
                f"{title} {identifier}"[:200],
                name,
                f"acta-apertura-{identifier}.pdf",
                "application/pdf",
                len(content),
                sha256,
                "",
                opened_at,
                member.pk,
            )  # fmt: skip
        )
        self.report.acts += 1
        return act_id

    # --- the ledger ----------------------------------------------------------------------------

    def _create_receipts_table(self) -> None:
        # The instant as its ISO text in UTC (fixed width: its order is the time order, in
        # the "C" collation on PostgreSQL), so reading it back loads no time zone.
        collate = ' COLLATE "C"' if connection.vendor == "postgresql" else ""
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {RECEIPTS_TABLE}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {RECEIPTS_TABLE} (received varchar(40){collate}, "
                f"receipt_hash varchar(64){collate}, process_id bigint, "
                "identifier varchar(100), kind varchar(10), paper boolean, signature text)"
            )

    def _write_ledger(self) -> None:
        """Every receipt in the order of its instant, chained (the signatures were made with
        the receipts, by the worker processes)."""
        previous, position, batch = receipts.GENESIS_HASH, 0, []
        postgresql = connection.vendor == "postgresql"
        writer = _writer()
        sql = (
            "SELECT received, receipt_hash, process_id, identifier, kind, paper, "  # noqa: S608
            f"signature FROM {RECEIPTS_TABLE} ORDER BY received, receipt_hash"
        )
        chain_hash = receipts.chain_hash
        with _reading(sql) as cursor:
            while rows := cursor.fetchmany(20_000):
                for received, receipt, process, identifier, kind, paper, signature in rows:
                    position += 1
                    chain = chain_hash(
                        previous, receipt, identifier, received, position, kind, paper
                    )
                    if postgresql:  # a line of COPY text: none of these needs escaping
                        batch.append(
                            f"{position}\t{receipt}\t{process}\t{received}\t{kind}\t"
                            f"{'t' if paper else 'f'}\t{signature}\t{previous}\t{chain}\n"
                        )
                    else:
                        batch.append(
                            (position, receipt, process, datetime.fromisoformat(received),
                             kind, bool(paper), signature, previous, chain)
                        )  # fmt: skip
                    previous = chain
                self._write_ledger_rows(writer, batch)
                batch = []
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {RECEIPTS_TABLE}")
        self.report.ledger = position

    @staticmethod
    def _write_ledger_rows(writer, batch: list) -> None:
        if batch and isinstance(batch[0], str):
            batch = CopyText("".join(batch).encode("ascii"), len(batch))
        writer.write(ReceiptLedgerEntry, LEDGER_FIELDS, batch)


@contextmanager
def _reading(sql: str):
    """A cursor over `sql` that streams (server-side on PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.connection
        with raw.cursor(name="seed_demo_ledger") as cursor:
            cursor.execute(sql)
            yield cursor
        return
    with connection.cursor() as cursor:
        cursor.execute(sql)
        yield cursor


class _Listed:
    """What act_lines reads as a related manager: `.all()`."""

    def __init__(self, rows):
        self.rows = rows

    def all(self):
        return self.rows


# The stages the bids look at: their own, and those whose first day is the opening moment's.
READ_STAGES = (Stage.BIDS, Stage.OPENING, Stage.EVALUATION, Stage.AWARD)


def _inputs_sql() -> str:
    """One row: each input table's rows of the processes with ids from %(first)s to
    %(last)s, as a JSON array of arrays (numbers as text, for exact Decimals)."""
    stages = ", ".join(f"'{stage}'" for stage in READ_STAGES)
    table = {
        model: connection.ops.quote_name(model._meta.db_table)
        for model in (ProcessStage, StatusChange, ProcessItem, CommitteeMember, User)
    }
    span = "process_id BETWEEN %(first)s AND %(last)s"
    return (
        "SELECT "  # noqa: S608 - names from model metadata, stages from the codelist
        '(SELECT json_agg(json_build_array(process_id, stage, start, "end", closing_time)) '
        f"FROM {table[ProcessStage]} WHERE {span} AND stage IN ({stages}))::text, "
        "(SELECT json_agg(json_build_array(process_id, at, action) ORDER BY at, id) "
        f"FROM {table[StatusChange]} WHERE {span})::text, "
        "(SELECT json_agg(json_build_array(process_id, id, description, quantity::text, "
        f"estimated_value::text) ORDER BY id) FROM {table[ProcessItem]} WHERE {span})::text, "
        "(SELECT json_agg(json_build_array(c.process_id, c.user_id, c.role, u.email, "
        # CommitteeMember's ordering: of two members in one role, the last one is kept.
        "u.full_name) ORDER BY c.process_id, c.role DESC, u.full_name, c.id) "
        f"FROM {table[CommitteeMember]} c JOIN {table[User]} u "
        f"ON u.id = c.user_id WHERE c.{span})::text"
    )


def _number(text):
    return None if text is None else Decimal(text)


def _entry(supplier: _Supplier) -> dict:
    return {"id": supplier.pk, "ruc": supplier.ruc, "legal_name": supplier.name}


def _version_aad(bid, number: int) -> bytes:
    from ..services.bids import _version_aad as service_aad

    return service_aad(bid, number)


def _unit_price(rng, line_value: Decimal, quantity: Decimal) -> Decimal:
    """A unit price near the item's estimate (between 82 % and 108 % of it)."""
    quantity = quantity or Decimal(1)
    unit = (Decimal(line_value) / quantity) * Decimal(rng.randint(8200, 10800)) / Decimal(10000)
    return max(unit.quantize(CENT, rounding=ROUND_HALF_UP), CENT)


def _writer():
    from .bulk_writers import writer_for_connection

    return writer_for_connection()


class _Tables:
    def __init__(self):
        self.keys, self.bids, self.versions, self.tags, self.consents = [], [], [], [], []
        self.sealed_documents, self.participants, self.receipts = [], [], []
        self.openings, self.opened, self.members, self.lines, self.acts = [], [], [], [], []

    def _first_registrations(self) -> None:
        """One registration per supplier and process: the first (a chunk holds whole
        processes, so this is per chunk)."""
        participants = {}
        for row in self.participants:
            key = (row[0], row[1])
            if key not in participants or row[2] < participants[key][2]:
                participants[key] = row
        self.participants = list(participants.values())

    def as_copy_text(self) -> None:
        """Each table's rows as COPY text (in a worker: the seed's connection sends it)."""
        from .bulk_writers import copy_text

        self._first_registrations()
        for name, rows in vars(self).items():
            setattr(self, name, copy_text(rows))

    def write(self, builder: BidBuilder) -> None:
        writer = _writer()
        if not isinstance(self.participants, CopyText):
            self._first_registrations()
        builder.report.participants += len(self.participants)
        for model, fields, rows in [
            (ProcessSealKey, KEY_FIELDS, self.keys),
            (Participant, PARTICIPANT_FIELDS, self.participants),
            (BidVersion, VERSION_FIELDS, self.versions),
            (Bid, BID_FIELDS, self.bids),
            (BidMemberTag, TAG_FIELDS, self.tags),
            (ConsortiumConsent, CONSENT_FIELDS, self.consents),
            (SealedDocument, SEALED_DOC_FIELDS, self.sealed_documents),
            (ProcessDocument, ACT_FIELDS, self.acts),
            (BidOpening, OPENING_FIELDS, self.openings),
            (OpenedBid, OPENED_FIELDS, self.opened),
            (OpenedBidMember, MEMBER_FIELDS, self.members),
            (OpenedBidLine, LINE_FIELDS, self.lines),
        ]:
            writer.write(model, fields, rows)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                raw = cursor.connection
            sql = (
                f"COPY {RECEIPTS_TABLE} (received, receipt_hash, process_id, identifier, "
                "kind, paper, signature) FROM STDIN"
            )
            send_copy(raw, sql, self.receipts)
        else:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {RECEIPTS_TABLE} VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                    self.receipts,
                )
