"""Deterministic demo data for `seed_demo`: the same seed and day give the same rows.

Each part draws from its own random stream (seed + part name), so adding a part later
(plans, processes, bids...) leaves the rows of the earlier parts unchanged.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import perf_counter

from django.db import transaction
from django.utils import timezone

from core import clock
from core.models import AuditEntry, FiscalYear

from .. import sme, stuck
from ..models import (
    Appeal,
    Award,
    Bid,
    BidMemberTag,
    BidOpening,
    BidVersion,
    CommitteeMember,
    ConsortiumConsent,
    Contract,
    ContractAmendment,
    Entity,
    Evaluation,
    EvaluationCriterion,
    EvaluationEntry,
    OpenedBid,
    OpenedBidLine,
    OpenedBidMember,
    Participant,
    ProcessDocument,
    ProcessItem,
    ProcessSealKey,
    ProcessStage,
    ProcurementProcess,
    Qualification,
    ReceiptLedgerEntry,
    SealedDocument,
    StatusChange,
    SupplierEvaluation,
    TechnicalScore,
)
from . import bulk_load, risk
from .awards import AwardBuilder, AwardReport
from .bids import BidBuilder, BidReport
from .documents import FILES_FOR_FIRST, DocumentBuilder, DocumentReport
from .history import write_audit_history
from .parties import build_entities, build_suppliers, size_counts
from .phases import Phases
from .plans import PlanBuilder
from .processes import ProcessBuilder
from .subscriptions import build_subscriptions
from .users import DEMO_PASSWORD, build_users


@dataclass
class DemoReport:
    entities: int = 0
    suppliers: int = 0
    sizes: dict[str, int] = field(default_factory=dict)
    plans: int = 0
    plan_versions: int = 0
    plan_items: int = 0
    processes: int = 0
    process_items: int = 0
    process_stages: int = 0
    status_changes: int = 0
    criteria: int = 0
    committee_members: int = 0
    documents: DocumentReport = field(default_factory=DocumentReport)
    bids: BidReport = field(default_factory=BidReport)
    awards: AwardReport = field(default_factory=AwardReport)
    audit_entries: int = 0
    flagged_processes: int = 0
    sme_summary_rows: int = 0
    subscriptions: int = 0
    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    password: str = DEMO_PASSWORD
    phases: Phases = field(default_factory=Phases)  # seconds per part of the seed


# What ProcessBuilder writes (and nothing reads until it is done).
PROCESS_TABLES = (
    ProcurementProcess,
    ProcessItem,
    ProcessStage,
    StatusChange,
    EvaluationCriterion,
    CommitteeMember,
)


# The indexes of PROCESS_TABLES (by their columns) that the parts after the processes read
# by: bids, awards, red flags and the SME share look processes up by entity, year, number,
# status and date, and the processes' rows by process (stages also by stage and start). The
# others (the search vector's GIN, the keysets, the identifier...) are built at the very
# end, after stuck's UPDATE of every open process, which would otherwise write an entry for
# each of them (a GIN entry per word) for each row it rewrites.
PROCESS_INDEXES_READ = (
    ("entity_id",),
    ("entity_id", "fiscal_year_id"),
    ("entity_id", "fiscal_year_id", "procedure_type", "sequence", "call_number"),
    ("entity_id", "status", "published_at", "id", "estimated_value"),
    ("published_at",),
    ("status",),
    ("process_id",),
    ("stage", "start"),
)


# What BidBuilder writes and does not read back (it reads the processes' rows); and what
# AwardBuilder writes and does not read back (it reads and writes status changes).
BID_TABLES = (
    ProcessSealKey,
    Participant,
    BidVersion,
    Bid,
    BidMemberTag,
    ConsortiumConsent,
    SealedDocument,
    ProcessDocument,
    BidOpening,
    OpenedBid,
    OpenedBidMember,
    OpenedBidLine,
    ReceiptLedgerEntry,
)
AWARD_TABLES = (
    Evaluation,
    EvaluationEntry,
    TechnicalScore,
    Qualification,
    Award,
    Appeal,
    Contract,
    ContractAmendment,
    SupplierEvaluation,
)


def stream(seed: int, part: str) -> random.Random:
    return random.Random(f"{seed}:{part}")


def default_supplier_count(processes: int) -> int:
    return max(1500, processes // 10)


def latest_moment(today: date) -> datetime:
    """The latest instant the demo may date anything: the moment the seed runs when `today`
    is today (core.clock), the end of `today` otherwise. Nothing seeded happens after the
    anchor that closes the seed, nor shows on a page as history yet to come."""
    if today == clock.today():
        return timezone.localtime(clock.now())  # in Lima, as the demo's own moments
    return clock.local(today + timedelta(days=1), time(0)) - timedelta(microseconds=1)


def seed(
    *,
    processes: int,
    seed: int,
    today: date,
    suppliers: int | None = None,
    district_municipalities: int = 150,
    document_files_for_first: int = FILES_FOR_FIRST,
) -> DemoReport:
    """Fill an empty portal, in one transaction (its commit is timed too)."""
    report = DemoReport()
    with transaction.atomic():
        with bulk_load.foreign_keys_checked_at_the_end(report.phases):
            _seed(
                report,
                processes=processes,
                seed=seed,
                today=today,
                suppliers=suppliers,
                district_municipalities=district_municipalities,
                document_files_for_first=document_files_for_first,
            )
        committing = perf_counter()
    report.phases.add("commit", perf_counter() - committing)
    return report


def _seed(
    report: DemoReport,
    *,
    processes: int,
    seed: int,
    today: date,
    suppliers: int | None,
    district_municipalities: int,
    document_files_for_first: int,
) -> None:
    timer = report.phases
    until = latest_moment(today)
    last_indexes: list = []  # built once nothing writes their tables any more
    with timer.phase("entities"):
        entities = build_entities(stream(seed, "entities"), district_municipalities)
        Entity.objects.bulk_create(entities, batch_size=2000)
    report.entities = len(entities)

    sales_year = FiscalYear.objects.select_related("sme_rule").get(pk=today.year - 1)
    with timer.phase("suppliers"):
        supplier_rows = build_suppliers(
            stream(seed, "suppliers"),
            suppliers or default_supplier_count(processes),
            today,
            sales_year,
            until=until,
        )
    report.suppliers = len(supplier_rows)
    report.sizes = size_counts(supplier_rows)
    with timer.phase("accounts"):
        report.accounts = build_users(seed, today)
    with timer.phase("subscriptions"):
        report.subscriptions = build_subscriptions()
    years = [
        year for year in (today.year - 1, today.year) if FiscalYear.objects.filter(pk=year).exists()
    ]
    with timer.phase("plans"):
        report.plans, report.plan_versions, report.plan_items = PlanBuilder(
            stream(seed, "plans"), today, until=until
        ).build(list(Entity.objects.order_by("ruc")), years)
    if processes and years:
        builder = ProcessBuilder(stream(seed, "processes"), today, years, until=until, phases=timer)
        with (
            timer.phase("processes"),
            bulk_load.indexes_built_at_the_end(
                timer,
                *PROCESS_TABLES,
                phase="  of which process indexes built",
                read_by=PROCESS_INDEXES_READ,
                later=last_indexes,
            ),
        ):
            (
                report.processes,
                report.process_items,
                report.process_stages,
                report.status_changes,
                report.criteria,
            ) = builder.build(processes)
        report.committee_members = builder.committee_members
        bulk_load.analyze(timer, *PROCESS_TABLES)
        with timer.phase("documents"):
            report.documents = DocumentBuilder(
                today, files_for_first=document_files_for_first
            ).build()
        with (
            timer.phase("bids, receipts, openings"),
            bulk_load.indexes_built_at_the_end(
                timer, *BID_TABLES, phase="  of which bid indexes built"
            ),
        ):
            report.bids = BidBuilder(
                stream(seed, "bids"),
                today,
                until=until,
                files_for_first=document_files_for_first,
                demo_processes=builder.demo_processes,
                phases=timer,
            ).build()
        bulk_load.analyze(
            timer, Bid, BidVersion, BidOpening, OpenedBid, OpenedBidLine, OpenedBidMember,
            Participant, ProcessDocument, ReceiptLedgerEntry,
        )  # fmt: skip
        with (
            timer.phase("evaluations, awards, contracts"),
            bulk_load.indexes_built_at_the_end(
                timer, *AWARD_TABLES, phase="  of which award indexes built"
            ),
        ):
            report.awards = AwardBuilder(
                stream(seed, "awards"),
                today,
                until=until,
                files_for_first=document_files_for_first,
            ).build()
        bulk_load.analyze(
            timer, Evaluation, EvaluationEntry, Award, Appeal, Contract, ContractAmendment,
            SupplierEvaluation, StatusChange,
        )  # fmt: skip
    with bulk_load.indexes_built_at_the_end(timer, AuditEntry), timer.phase("audit history"):
        report.audit_entries = write_audit_history()
    # Last: the red flags of the data above, computed by the rule functions, and the SME
    # share pages' summed figures (the seed writes contracts without the services). None of
    # them reads the audit trail: it needs no planner statistics here.
    with timer.phase("red flags"):
        report.flagged_processes = risk.build()
    with timer.phase("SME share summary"):
        report.sme_summary_rows = sme.refresh_summary()
    with timer.phase("stuck: stage due days"):
        stuck.refresh_due()
    with timer.phase("indexes built"):
        bulk_load.build_indexes(last_indexes)


def existing_accounts() -> list[tuple[str, str, str]]:
    """The demo accounts already in the database, for printing again."""
    from accounts.models import Membership

    rows = []
    memberships = Membership.objects.filter(user__email__endswith="@demo.portal.pe").select_related(
        "user", "entity", "supplier"
    )
    for membership in memberships.order_by("user__email"):
        scope = membership.entity or membership.supplier
        rows.append((membership.user.email, membership.role, str(scope) if scope else "—"))
    return rows
