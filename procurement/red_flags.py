"""Red flags of corruption risk and the risk score of processes and entities (issue 15).

Each flag is one rule function below: it takes the processes to judge (a queryset, the scope)
and the thresholds, and returns {process id: evidence} for the processes of the scope that
raise it. Aggregates a rule needs (an entity's direct contracts in a year, a supplier's wins)
are counted over all the data, not only the scope. Every rule is a few set-based queries that
read only what it needs and never a sealed bid: amounts and bidders come from completed
opening acts (OpenedBid), written only when the bids were opened.

The anchors are the Open Contracting Partnership's "Red flags for integrity: giving the green
light to open data solutions" (2016) and "Red Flags in Public Procurement" (OCP & Development
Gateway, 2024), and the risk indicators of Prozorro (Ukraine) used by its Dozorro monitors.
Thresholds are data (THRESHOLDS), weights are data (WEIGHTS); the pages show both.

`refresh(scope)` runs every rule and replaces the stored rows (ProcessRiskFlag, ProcessRisk)
of the scope in one transaction: the beat task refreshes everything (a batch of entities per
transaction), and the services that
change a process (record_status_change, confirm_opening, amend_contract) refresh the
processes of its entity and fiscal year inside their own transaction.

Score. A process's score is the sum of the weights of the flags it raises, capped at 100
(`process_score`). An entity's score for a period is the mean score of its published
processes of that period, unflagged ones counting 0 (`entity_scores`), so an entity is not
riskier for running more processes, only for running more of them with flags.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    IntegerField,
    JSONField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Substr
from django.utils.translation import gettext_lazy as _
from psycopg.types.json import Jsonb

from core import clock
from core.codelists import ProcedureType, Stage
from core.models import FiscalYear, ProcedureThreshold, StageMinimum
from core.workdays import calendar as working_calendar
from suppliers.models import Supplier

from .calendar_rules import _EDGE as EDGE_INDEX
from .calendar_rules import unmet_minimums
from .models import (
    Award,
    BidOpening,
    ContractAmendment,
    Entity,
    OpenedBid,
    OpenedBidMember,
    ProcessItem,
    ProcessRisk,
    ProcessRiskFlag,
    ProcessStage,
    ProcurementProcess,
    RiskFlagCode,
)
from .models.contracts import AMENDMENT_MARK_PERCENT

logger = logging.getLogger(__name__)
Code = RiskFlagCode
DIRECT = ProcedureType.CD


@dataclass(frozen=True)
class Thresholds:
    """Where each rule draws its line. Changing a value here changes the rule, the stored
    flags at the next refresh and what the auditor pages say."""

    # Single bidder: fewer valid opened bids than this (and at least one).
    min_valid_bids: int = 2
    # Award above the estimate: the granted amount exceeds the lot's estimated value by more
    # than this percentage (0: any excess).
    award_excess_percent: Decimal = Decimal("0")
    # Amended above the limit: cumulative additional works or reductions above this share of
    # the original amount (Ley 30225, art. 34; the mark contracts already carry).
    amendment_percent: Decimal = Decimal(AMENDMENT_MARK_PERCENT)
    # Repeated direct contracting: this many called Contrataciones Directas or more by one
    # entity in one fiscal year.
    direct_per_year: int = 3
    # Recurrent winner: one supplier granted lots in this many processes or more of one
    # entity in one fiscal year.
    wins_per_entity_year: int = 3
    # Near-identical bids: two valid bids of one opening whose totals differ by at most this
    # percentage of the lower one (0 would be identical only).
    near_identical_percent: Decimal = Decimal("0.5")
    # Fast award: the award decided fewer than these calendar days after the call, by
    # procedure type (direct contracting excluded: it has no competition to wait for). The
    # portal's estimate from the stage minimums (core/data/stage_minimums.csv) plus the
    # shortest evaluation.
    fast_award_days: dict = field(
        default_factory=lambda: {"LP": 30, "CP": 30, "AS": 10, "SIE": 7, "COMPRE": 3, "SCI": 7}
    )
    # Split purchase: processes of one entity, object and catalog class, called within this
    # many days of each other, each valued under a threshold by at most `split_margin_percent`
    # of it, together reaching it.
    split_window_days: int = 30
    split_margin_percent: Decimal = Decimal("20")


THRESHOLDS = Thresholds()

# Points each flag adds to a process's score (capped at 100): collusion and rigging signs
# weigh most, signs that have innocent explanations least.
WEIGHTS = {
    Code.NEAR_IDENTICAL_BIDS: 30,
    Code.SHARED_CONTACT: 30,
    Code.SPLIT_PURCHASE: 25,
    Code.SHORT_BID_WINDOW: 25,
    Code.AWARD_ABOVE_ESTIMATE: 20,
    Code.AMENDED_ABOVE_LIMIT: 15,
    Code.FAST_AWARD: 15,
    Code.SINGLE_BIDDER: 10,
    Code.REPEATED_DIRECT: 10,
    Code.RECURRENT_WINNER: 10,
}
MAX_SCORE = 100


def process_score(codes) -> int:
    """The risk score of a process raising the flags `codes`: the sum of their weights,
    capped at MAX_SCORE."""
    return min(MAX_SCORE, sum(WEIGHTS[code] for code in set(codes)))


def _money(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _scaled(factor: Decimal) -> tuple[int, int]:
    """A factor as whole numbers (scale, factor * scale): `a <= b * factor` is compared as
    `a * scale <= b * scaled`, exact on SQLite, whose decimals are floating point."""
    scale = 100_000
    return scale, int(factor * scale)


def _completed_valid_bids():
    return OpenedBid.objects.filter(
        opening__status=BidOpening.Status.COMPLETED, status=OpenedBid.Status.VALID
    )


# --- the rules --------------------------------------------------------------------------------


def single_bidder(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """Single bidder (OCP red flags: "only one bidder"; Prozorro: a competitive procedure
    with one participant): a competitive process whose completed opening has at least one
    and fewer than `min_valid_bids` valid bids. Direct contracting invites one supplier by
    law and is left out."""
    counts = (
        _completed_valid_bids()
        .filter(opening__process=OuterRef("pk"))
        .order_by()
        .values("opening__process")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        processes.exclude(procedure_type=DIRECT)
        .annotate(valid_bids=Coalesce(Subquery(counts, output_field=IntegerField()), 0))
        .filter(valid_bids__gte=1, valid_bids__lt=limits.min_valid_bids)
        .values_list("pk", "valid_bids")
    )
    found = {pk: {"valid_bids": n, "minimum": limits.min_valid_bids} for pk, n in rows}
    for pk, ruc, name in (
        _completed_valid_bids()
        .filter(opening__process_id__in=list(found))
        .values_list("opening__process_id", "lead_ruc", "lead_name")
    ):
        found[pk].setdefault("bidders", []).append({"ruc": ruc, "name": name})
    return found


def short_bid_window(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """Bid window shorter than the legal minimum (OCP: "short or inadequate bid preparation
    period"): the bid deadline misses a legal minimum of the calendar rules (core.StageMinimum
    rows for the bid stage, read by procurement.calendar_rules.unmet_minimums with holidays
    counted), e.g. 22 working days from the call for a Licitación Pública. A query keeps only
    the processes whose calendar days make a shortfall possible; the working days are counted
    for those."""
    rules = list(StageMinimum.objects.filter(stage=Stage.BIDS))
    if not rules:
        return {}

    # Each process's dates the rules read (the bid deadline and the rule origins), one
    # aggregate over its stage rows (set-based: one pass over the scope's calendars, not one
    # lookup per process and edge; a process has one row per stage, so Max is that row's).
    edges = {(r.stage, r.edge) for r in rules} | {(r.from_stage, r.from_edge) for r in rules}
    names = {edge: f"d_{edge[0]}_{edge[1]}" for edge in sorted(edges)}
    aggregates = {names[s, e]: Max(e, filter=Q(stage=s)) for s, e in names}
    aggregates.setdefault("bids_end", Max("end", filter=Q(stage=Stage.BIDS)))
    possible = Q()
    for rule in rules:
        # N working days never take more than 2N + 14 calendar days (weekends and holidays).
        span = timedelta(days=2 * rule.working_days + 14)
        origin = F(names[rule.from_stage, rule.from_edge])
        possible |= Q(process__procedure_type=rule.procedure_type, bids_end__lt=origin + span)
    candidates = (
        ProcessStage.objects.filter(process__in=processes, stage__in={s for s, _e in edges})
        .order_by()
        .values("process_id", "process__procedure_type")
        .annotate(**aggregates)
        .filter(possible)
        .values_list("process_id", "process__procedure_type", *names.values())
    )
    # Processes with the same procedure type and dates meet the same minimums: the working
    # days are counted once per distinct calendar (the days, not the processes, are few).
    by_dates = defaultdict(list)
    for pk, procedure_type, *edge_days in candidates:
        by_dates[procedure_type, *edge_days].append(pk)
    if not by_dates:
        return {}
    by_type = defaultdict(list)
    for rule in rules:
        by_type[rule.procedure_type].append(rule)
    calendar = working_calendar()
    found = {}
    for (procedure_type, *edge_days), pks in by_dates.items():
        dates: dict[str, list] = {}
        for (stage, edge), day in zip(names, edge_days, strict=True):
            if day is not None:  # the process has this stage
                dates.setdefault(stage, [None, None])[EDGE_INDEX[edge]] = day
        unmet = unmet_minimums(by_type[procedure_type], dates, calendar)
        if unmet:
            for pk in pks:
                found[pk] = {
                    "shortfalls": [
                        {
                            "rule": rule.note,
                            "working_days": days,
                            "minimum": rule.working_days,
                            "from": origin.isoformat(),
                            "to": moment.isoformat(),
                        }
                        for rule, days, origin, moment in unmet
                    ]
                }
    return found


def award_above_estimate(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """Award above the estimated value (OCP: "winning bid price higher than the estimated
    price"): a granted award whose amount exceeds its lot's estimated value (the process's,
    or the item's when awarded by items) by more than `award_excess_percent`."""
    scale, scaled = _scaled(1 + limits.award_excess_percent / 100)
    rows = (
        Award.objects.granted()
        .filter(process__in=processes)
        .annotate(
            estimate=Case(
                When(item__isnull=True, then=F("process__estimated_value")),
                default=F("item__estimated_value"),
                output_field=DecimalField(max_digits=20, decimal_places=2),
            ),
            scaled_amount=F("amount") * Value(scale),
        )
        .filter(scaled_amount__gt=F("estimate") * Value(scaled))
        .values_list("process_id", "item__description", "amount", "estimate", "supplier__ruc")
    )
    found: dict[int, dict] = {}
    for pk, item, amount, estimate, ruc in rows:
        found.setdefault(pk, {"lots": [], "excess_percent": str(limits.award_excess_percent)})
        found[pk]["lots"].append(
            {
                "item": item or "",
                "amount": _money(amount),
                "estimate": _money(estimate),
                "over_percent": str(
                    (100 * (amount - estimate) / estimate).quantize(Decimal("0.1"))
                ),
                "supplier": ruc,
            }
        )
    return found


def amended_above_limit(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """Contract amended above 25% (OCP: "substantial change in contract amount"; Ley 30225,
    art. 34 caps additional works and reductions at 25% of the original amount): a contract of
    the process whose cumulative amendments of one kind exceed `amendment_percent`."""
    rows = (
        ContractAmendment.objects.filter(
            contract__process__in=processes,
            cumulative_percentage__gt=limits.amendment_percent,
        )
        .order_by("contract_id", "kind", "-cumulative_percentage")
        .values_list(
            "contract__process_id",
            "contract_id",
            "contract__number",
            "kind",
            "cumulative_percentage",
        )
    )
    found: dict[int, dict] = {}
    seen = set()
    for pk, contract_id, number, kind, top in rows:
        if (contract_id, kind) in seen:
            continue
        seen.add((contract_id, kind))
        found.setdefault(pk, {"limit_percent": str(limits.amendment_percent), "contracts": []})
        found[pk]["contracts"].append(
            {"id": contract_id, "number": number, "kind": kind, "cumulative_percent": str(top)}
        )
    return found


def repeated_direct(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """Repeated direct contracting (OCP: "high use of non-competitive methods"; Prozorro:
    buyers with many negotiated procedures): each Contratación Directa of an entity that called
    `direct_per_year` or more of them in the same fiscal year."""
    same = (
        ProcurementProcess.objects.published()
        .filter(
            procedure_type=DIRECT,
            entity=OuterRef("entity"),
            fiscal_year=OuterRef("fiscal_year"),
        )
        .order_by()
        .values("entity")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        processes.filter(procedure_type=DIRECT)
        .annotate(n=Subquery(same, output_field=IntegerField()))
        .filter(n__gte=limits.direct_per_year)
        .values_list("pk", "n", "fiscal_year_id")
    )
    return {
        pk: {"direct_processes": n, "year": year, "limit": limits.direct_per_year}
        for pk, n, year in rows
    }


def recurrent_winner(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """The same supplier winning again and again (OCP: "same supplier repeatedly wins";
    Prozorro: a buyer's winner concentration): a process granted to a supplier that was granted
    lots in `wins_per_entity_year` or more processes of the same entity in the fiscal year."""
    granted = Award.objects.granted().filter(supplier__isnull=False)
    rows = list(
        granted.filter(process__in=processes).values_list(
            "process_id",
            "supplier__ruc",
            "supplier__legal_name",
            "supplier_id",
            "process__entity_id",
            "process__fiscal_year",
        )
    )
    if not rows:
        return {}
    # Each supplier's wins per entity and year, counted once for the entities of the scope
    # (set-based: the cost follows the scope, not the scope times the data).
    wins = {
        (supplier, entity, year): n
        for supplier, entity, year, n in granted.filter(
            process__entity_id__in={row[4] for row in rows},
            process__fiscal_year__in={row[5] for row in rows},
        )
        .order_by()
        .values_list("supplier_id", "process__entity_id", "process__fiscal_year")
        .annotate(n=Count("process", distinct=True))
    }
    # Two reads, so an award granted or revoked between them may be missing from the counts:
    # it counts as no win (the next refresh counts it), never a KeyError.
    rows = [
        (pk, ruc, name, wins.get((supplier, entity, year), 0), year)
        for pk, ruc, name, supplier, entity, year in rows
    ]
    rows = [row for row in rows if row[3] >= limits.wins_per_entity_year]
    found: dict[int, dict] = {}
    for pk, ruc, name, n, year in rows:
        found.setdefault(pk, {"limit": limits.wins_per_entity_year, "year": year, "winners": []})
        if ruc not in {w["ruc"] for w in found[pk]["winners"]}:
            found[pk]["winners"].append({"ruc": ruc, "name": name, "wins": n})
    return found


def near_identical_bids(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """Identical or near-identical bid amounts (OCP: "bid prices are very close"; a sign of
    cover bidding): two valid bids of one completed opening whose totals differ by at most
    `near_identical_percent` of the lower. Only opened bids are read: before the opening there
    is nothing here to read."""
    factor = 1 + limits.near_identical_percent / 100
    # other <= total * factor, in whole numbers (exact on SQLite's floating point too)
    scale, scaled = _scaled(factor)
    close = (
        _completed_valid_bids()
        .annotate(scaled_total=F("total") * Value(scale))
        .filter(
            opening=OuterRef("opening"),
            total__gte=OuterRef("total"),
            scaled_total__lte=OuterRef("total") * Value(scaled),
        )
        .exclude(pk=OuterRef("pk"))
    )
    openings = set(
        _completed_valid_bids()
        .filter(opening__process__in=processes, total__isnull=False)
        .filter(Exists(close))
        .values_list("opening_id", flat=True)
    )
    bids = defaultdict(list)
    for opening, pk, position, ruc, total in (
        _completed_valid_bids()
        .filter(opening_id__in=openings, total__isnull=False)
        .order_by("opening_id", "total", "position")
        .values_list("opening_id", "opening__process_id", "position", "lead_ruc", "total")
    ):
        bids[(opening, pk)].append((position, ruc, total))
    found: dict[int, dict] = {}
    for (_opening, pk), rows in bids.items():
        pairs = [
            {
                "bids": [
                    {"position": a[0], "ruc": a[1], "total": _money(a[2])},
                    {"position": b[0], "ruc": b[1], "total": _money(b[2])},
                ],
                "difference_percent": str(
                    (100 * (b[2] - a[2]) / a[2]).quantize(Decimal("0.001")) if a[2] else Decimal(0)
                ),
            }
            for a, b in zip(rows, rows[1:], strict=False)
            if b[2] <= a[2] * factor
        ]
        if pairs:
            found[pk] = {"percent": str(limits.near_identical_percent), "pairs": pairs}
    return found


# Registry data two different bidders of one opening must not share (case folded where the
# way it is typed varies).
SHARED_FIELDS = {
    "representative_dni": "exact",
    "address": "iexact",
    "phone": "exact",
    "email": "iexact",
}


def _shared_key(value: str, lookup: str) -> str:
    """What two suppliers' values must equal to be shared: case folded where it is typed."""
    return value.lower() if lookup == "iexact" else value


def shared_contact(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """Bidders sharing a legal representative, address, phone or e-mail (OCP: "bidders share
    addresses, phone numbers or owners"; Prozorro: related bidders): two different suppliers
    in two different valid bids of one completed opening (leads or consortium members) whose
    registry records the same legal representative's DNI, address, phone or e-mail."""
    in_scope = OpenedBidMember.objects.filter(
        opened_bid__opening__status=BidOpening.Status.COMPLETED,
        opened_bid__status=OpenedBid.Status.VALID,
        opened_bid__opening__process__in=processes,
        supplier__isnull=False,
    )
    # Only a supplier whose value another supplier of the scope shares can raise the flag
    # (the other member of its opening is in the scope too): the scope's suppliers are read
    # once, and only the bids of those that share a value are looked at below.
    sharers = defaultdict(set)  # (field, value) -> suppliers
    for supplier, *values in Supplier.objects.filter(
        pk__in=in_scope.order_by().values("supplier_id")
    ).values_list("pk", *SHARED_FIELDS):
        for (name, lookup), value in zip(SHARED_FIELDS.items(), values, strict=True):
            if value:
                sharers[(name, _shared_key(value, lookup))].add(supplier)
    related = {supplier for group in sharers.values() if len(group) > 1 for supplier in group}
    if not related:
        return {}
    members = list(
        in_scope.filter(supplier_id__in=related).values_list(
            "opened_bid__opening_id",
            "opened_bid_id",
            "supplier_id",
            "opened_bid__opening__process_id",
            "supplier__ruc",
            *(f"supplier__{name}" for name in SHARED_FIELDS),
        )
    )
    # The members of all the scope's openings at once; the pairs are found here (the other
    # member is in the same opening, so in the scope too).
    members.sort(key=lambda member: member[4])  # by RUC
    found: dict[int, dict] = {}
    for index, (name, lookup) in enumerate(SHARED_FIELDS.items(), start=5):
        holders = defaultdict(list)  # (opening, value) -> [(opened bid, supplier)]
        for member in members:
            if member[index]:
                key = _shared_key(member[index], lookup)
                holders[(member[0], key)].append((member[1], member[2]))
        groups = defaultdict(list)
        shown = {}
        for opening, opened_bid, supplier, pk, ruc, *values in members:
            value = values[index - 5]
            if not value or not any(
                other_bid != opened_bid and other_supplier != supplier
                for other_bid, other_supplier in holders[(opening, _shared_key(value, lookup))]
            ):
                continue
            group = (pk, _shared_key(value, lookup))
            shown.setdefault(group, value)  # as the first supplier wrote it
            if ruc not in groups[group]:
                groups[group].append(ruc)
        for group, rucs in groups.items():
            found.setdefault(group[0], {"shared": []})["shared"].append(
                {"field": name, "value": shown[group], "suppliers": rucs}
            )
    return found


def fast_award(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """Very short time from call to award (OCP: "short time between the call and the
    award"): a granted award decided fewer than `fast_award_days[procedure type]` calendar
    days after the call was published. Unlike the bid window, it needs no calendar: it also
    judges processes imported from other portals (import_ocds), which have none."""
    quick = Q()
    for procedure_type, days in limits.fast_award_days.items():
        quick |= Q(
            process__procedure_type=procedure_type,
            decided_at__lt=F("process__published_at") + timedelta(days=days),
        )
    if not quick:
        return {}
    rows = (
        Award.objects.granted()
        .filter(process__in=processes)
        .filter(quick)
        .values_list("process_id", "process__procedure_type", "process__published_at", "decided_at")
    )
    found = {}
    for pk, procedure_type, called, decided in rows:
        days = (decided - called).total_seconds() / 86400
        if pk not in found or days < float(found[pk]["days"]):
            found[pk] = {
                "called": called.isoformat(),
                "awarded": decided.isoformat(),
                "days": f"{days:.1f}",
                "limit_days": limits.fast_award_days[procedure_type],
            }
    return found


def _just_under_bounds(limits: Thresholds):
    """(fiscal year, object type, threshold in soles) of every procedure band's bound."""
    uit = dict(FiscalYear.objects.values_list("year", "uit"))
    bounds = set()
    for row in ProcedureThreshold.objects.all():
        for value in (row.lower(uit[row.fiscal_year_id]), row.upper(uit[row.fiscal_year_id])):
            if value:
                bounds.add((row.fiscal_year_id, row.object_type, value.quantize(Decimal("0.01"))))
    return sorted(bounds)


def split_purchase(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict]:
    """A purchase split just under a threshold (OCP: "contract splitting to avoid
    thresholds"; Prozorro: several purchases of one item by one buyer just below the
    threshold): two or more processes of one entity, fiscal year, object and catalog class
    (the first six digits of their first item's code), called within `split_window_days`,
    each valued under the same procedure threshold by at most `split_margin_percent` of it,
    whose values together reach it."""
    margin = 1 - limits.split_margin_percent / 100
    bands = [
        When(
            Q(
                fiscal_year_id=year,
                object_type=object_type,
                estimated_value__gte=bound * margin,
                estimated_value__lt=bound,
            ),
            then=Value(bound),
        )
        for year, object_type, bound in _just_under_bounds(limits)
    ]
    if not bands:
        return {}
    first_code = Subquery(
        ProcessItem.objects.filter(process=OuterRef("pk"))
        .order_by("catalog_item_id")
        .values("catalog_item_id")[:1]
    )

    def under(queryset):
        return (
            queryset.annotate(
                threshold=Case(*bands, output_field=DecimalField(max_digits=16, decimal_places=2))
            )
            .filter(threshold__isnull=False)
            .annotate(catalog_class=Substr(first_code, 1, 6))
        )

    window = timedelta(days=limits.split_window_days)
    # Every published process just under a threshold of the scope's entities and called
    # within the window of the scope's calls, in one query, grouped by entity, threshold and
    # catalog class; the siblings are looked up in the groups (set-based: a correlated search
    # per process costs the entity's size each; the window keeps one process's refresh from
    # reading its entity's whole history).
    calls = processes.aggregate(first=Min("published_at"), last=Max("published_at"))
    if calls["first"] is None:
        return {}
    groups = defaultdict(list)
    for entity_id, threshold, catalog_class, called, identifier, value, pk in (
        under(ProcurementProcess.objects.published())
        .filter(
            entity_id__in=processes.values("entity_id"),
            published_at__gte=calls["first"] - window,
            published_at__lte=calls["last"] + window,
        )
        .order_by("published_at", "pk")
        .values_list(
            "entity_id",
            "threshold",
            "catalog_class",
            "published_at",
            "identifier",
            "estimated_value",
            "pk",
        )
    ):
        if catalog_class is not None and called is not None:
            groups[(entity_id, threshold, catalog_class)].append((called, identifier, value, pk))
    in_scope = {
        pk: (entity_id, threshold, catalog_class, called, value)
        for (entity_id, threshold, catalog_class), members in groups.items()
        for called, _identifier, value, pk in members
    }
    in_scope = {
        pk: in_scope[pk]
        for pk in processes.filter(pk__in=list(in_scope)).values_list("pk", flat=True)
    }
    rows = [
        (pk, entity_id, threshold, catalog_class, called)
        for pk, (entity_id, threshold, catalog_class, called, value) in in_scope.items()
        if any(
            other != pk and abs(moment - called) <= window and other_value >= threshold - value
            for moment, _identifier, other_value, other in groups[
                (entity_id, threshold, catalog_class)
            ]
        )
    ]
    found = {}
    for pk, entity_id, threshold, catalog_class, called in rows:
        others = [
            {"identifier": identifier, "value": _money(value)}
            for moment, identifier, value, other in groups[(entity_id, threshold, catalog_class)]
            if other != pk and abs(moment - called) <= window
        ][:20]
        found[pk] = {
            "threshold": _money(threshold),
            "catalog_class": catalog_class,
            "window_days": limits.split_window_days,
            "margin_percent": str(limits.split_margin_percent),
            "others": others,
        }
    return found


RULES = {
    Code.SINGLE_BIDDER: single_bidder,
    Code.SHORT_BID_WINDOW: short_bid_window,
    Code.AWARD_ABOVE_ESTIMATE: award_above_estimate,
    Code.AMENDED_ABOVE_LIMIT: amended_above_limit,
    Code.REPEATED_DIRECT: repeated_direct,
    Code.RECURRENT_WINNER: recurrent_winner,
    Code.NEAR_IDENTICAL_BIDS: near_identical_bids,
    Code.SHARED_CONTACT: shared_contact,
    Code.FAST_AWARD: fast_award,
    Code.SPLIT_PURCHASE: split_purchase,
}


# --- storing them -----------------------------------------------------------------------------


def evaluate(processes: QuerySet, limits: Thresholds = THRESHOLDS) -> dict[int, dict[str, dict]]:
    """{process id: {flag code: evidence}} for the published processes of `processes`."""
    scope = processes.published()
    raised: dict[int, dict[str, dict]] = defaultdict(dict)
    for code, rule in RULES.items():
        for pk, evidence in rule(scope, limits).items():
            raised[pk][code] = evidence
    return dict(raised)


# Processes per transaction of a full refresh, in batches of whole entities (an entity with
# more is a batch alone): the evidence of one batch is held in memory, and each batch reads
# the tables the rules join once more, so fewer, larger batches cost less.
PROCESS_BATCH = 200_000


def _entity_batches() -> list[list[int]]:
    """The entities, by id, in runs of at most PROCESS_BATCH processes (one entity may pass
    it alone)."""
    sizes = dict(
        ProcurementProcess.objects.order_by()
        .values("entity_id")
        .annotate(n=Count("pk"))
        .values_list("entity_id", "n")
    )
    batches, batch, size = [], [], 0
    for entity in Entity.objects.order_by("pk").values_list("pk", flat=True):
        n = sizes.get(entity, 0)
        if batch and size + n > PROCESS_BATCH:
            batches.append(batch)
            batch, size = [], 0
        batch.append(entity)
        size += n
    if batch:
        batches.append(batch)
    return batches


def refresh(processes: QuerySet | None = None, limits: Thresholds = THRESHOLDS) -> int:
    """Recompute the flags and scores of `processes` with the rule functions and replace
    their stored rows, in one transaction; every process when None, a transaction per batch
    of entities (_entity_batches; the rules count across batches, so the result is the
    same). Returns how many processes are flagged."""
    if processes is None:
        return sum(
            refresh(ProcurementProcess.objects.filter(entity_id__in=batch), limits)
            for batch in _entity_batches()
        )
    scope = processes
    now = clock.now()
    with transaction.atomic():
        raised = evaluate(scope, limits)
        ProcessRiskFlag.objects.filter(process__in=scope.values("pk")).delete()
        ProcessRisk.objects.filter(process__in=scope.values("pk")).delete()
        pks = sorted(raised)  # the rows in one order, whatever the batches and query plans
        for start in range(0, len(pks), 5000):
            chunk = pks[start : start + 5000]
            facts = ProcurementProcess.objects.filter(pk__in=chunk).values_list(
                "pk", "entity_id", "published_at"
            )
            _insert(
                ProcessRisk,
                ["process", "entity", "published_at", "score", "flag_count", "codes"],
                [
                    (
                        pk,
                        entity_id,
                        published_at,
                        process_score(raised[pk]),
                        len(raised[pk]),
                        sorted(raised[pk]),
                    )
                    for pk, entity_id, published_at in facts
                ],
                computed_at=now,
            )
            _insert(
                ProcessRiskFlag,
                ["process", "code", "evidence"],
                [(pk, code, evidence) for pk in chunk for code, evidence in raised[pk].items()],
                computed_at=now,
            )
    return len(raised)


def _insert(model, fields: list[str], rows: list[tuple], *, computed_at) -> None:
    """Insert `rows` (values of `fields`, then `computed_at`) into the table of `model`: with
    COPY on PostgreSQL (a full refresh writes a row per flag of every process: no model
    instances and no quoted parameters), bulk_create elsewhere."""
    fields = [model._meta.get_field(name) for name in [*fields, "computed_at"]]
    if connection.vendor != "postgresql":
        names = [field.attname for field in fields]
        model.objects.bulk_create(
            model(**dict(zip(names, (*row, computed_at), strict=True))) for row in rows
        )
        return
    json_columns = [index for index, field in enumerate(fields) if isinstance(field, JSONField)]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    # Errors as Django's (IntegrityError: refresh_entity_year's concurrent refresh).
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.connection.cursor() as raw,
        raw.copy(sql) as copy,
    ):
        for row in rows:
            row = [*row, computed_at]
            for index in json_columns:
                row[index] = Jsonb(row[index])
            copy.write_row(row)


def refresh_process(process: ProcurementProcess) -> int:
    """Recompute after `process` changed: the processes of its entity and fiscal year, whose
    flags may depend on it (direct contracts in the year, recurrent winners, split
    purchases). Called inside the transaction of the change, in a savepoint: should two
    changes of one entity refresh at once and collide, the change still commits and the
    daily refresh rewrites the flags (they are derived data, never a reason to refuse an
    award or an opening)."""
    return refresh_entity_year(process.entity_id, process.fiscal_year_id)


def refresh_entity_year(entity_id: int, fiscal_year_id: int) -> int:
    """refresh_process for the processes of one entity and fiscal year (the OCDS import
    refreshes each it touched once a run)."""
    scope = ProcurementProcess.objects.filter(entity_id=entity_id, fiscal_year_id=fiscal_year_id)
    try:
        with transaction.atomic():
            return refresh(scope)
    except IntegrityError:
        logger.warning(
            "Red flags of entity %s, year %s not refreshed (concurrent refresh).",
            entity_id,
            fiscal_year_id,
        )
        return 0


def entity_scores(processes: QuerySet):
    """Entities with the risk of their `processes` (a published queryset, e.g. a period):
    `processes` counted, `flagged` ones, and `score`, the mean process score with unflagged
    processes counting 0 (0 to 100, one decimal), highest first."""
    return (
        Entity.objects.filter(processes__in=processes.order_by().values("pk"))
        .annotate(
            process_count=Count("processes", distinct=True),
            flagged=Count("processes__risk", distinct=True),
            score_sum=Coalesce(Sum("processes__risk__score"), 0),
        )
        .annotate(
            score=Case(
                When(process_count=0, then=Value(0.0)),
                default=F("score_sum") * 1.0 / F("process_count"),
                output_field=FloatField(),
            )
        )
        .order_by("-score", "name")
    )


# --- explanations for the auditor pages --------------------------------------------------------

EXPLANATIONS = {
    Code.SINGLE_BIDDER: _(
        "A competitive process received only one valid bid at its opening: competition did "
        "not happen. Source: Open Contracting Partnership red flags (only one bidder); "
        "Prozorro risk indicators."
    ),
    Code.SHORT_BID_WINDOW: _(
        "The bid deadline leaves fewer working days than the legal minimum of its procedure "
        "type (holidays counted), which favours a bidder told in advance. Source: the stage "
        "minimums of the regulation; OCP red flags (short bid preparation period)."
    ),
    Code.AWARD_ABOVE_ESTIMATE: _(
        "The awarded amount is higher than the lot's estimated value. Source: OCP red flags "
        "(winning price above the estimate)."
    ),
    Code.AMENDED_ABOVE_LIMIT: _(
        "Cumulative additional works or reductions of a contract pass the share of its "
        "original amount the law allows without special authorisation (Ley 30225, art. 34). "
        "Source: OCP red flags (substantial changes to the contract amount)."
    ),
    Code.REPEATED_DIRECT: _(
        "The entity called many direct contractings (without competition) in the same "
        "fiscal year. Source: OCP red flags (high use of non-competitive methods)."
    ),
    Code.RECURRENT_WINNER: _(
        "The same supplier won many processes of the same entity in the fiscal year. "
        "Source: OCP red flags (the same supplier repeatedly wins); Prozorro risk indicators."
    ),
    Code.NEAR_IDENTICAL_BIDS: _(
        "Two bids of the opening have identical or almost identical totals, a sign of cover "
        "bidding. Only opened bids are compared. Source: OCP red flags (bid prices very "
        "close to each other)."
    ),
    Code.SHARED_CONTACT: _(
        "Different bidders of the same process share a legal representative, address, phone "
        "or e-mail in the supplier registry, a sign of related companies bidding as "
        "competitors. Source: OCP red flags (bidders share contact details or owners)."
    ),
    Code.FAST_AWARD: _(
        "The award came very few days after the call, too soon for real competition. Source: "
        "OCP red flags (short time between call and award)."
    ),
    Code.SPLIT_PURCHASE: _(
        "The entity called several processes of the same catalog class within a few days, "
        "each just under a procedure threshold and together above it: a purchase split to "
        "avoid a more competitive procedure. Source: OCP red flags (contract splitting)."
    ),
}


def threshold_text(code: str, limits: Thresholds = THRESHOLDS) -> str:
    """The threshold of a rule, as a sentence for the pages."""
    texts = {
        Code.SINGLE_BIDDER: _("Fewer than %(n)s valid bids.") % {"n": limits.min_valid_bids},
        Code.SHORT_BID_WINDOW: _(
            "The minimums of the procedure type's calendar (core/data/stage_minimums.csv)."
        ),
        Code.AWARD_ABOVE_ESTIMATE: _("More than %(p)s%% above the estimated value.")
        % {"p": limits.award_excess_percent},
        Code.AMENDED_ABOVE_LIMIT: _("More than %(p)s%% of the original amount, cumulative.")
        % {"p": limits.amendment_percent},
        Code.REPEATED_DIRECT: _("%(n)s or more direct contractings of the entity in a year.")
        % {"n": limits.direct_per_year},
        Code.RECURRENT_WINNER: _("%(n)s or more processes of the entity won in a year.")
        % {"n": limits.wins_per_entity_year},
        Code.NEAR_IDENTICAL_BIDS: _("Totals at most %(p)s%% apart.")
        % {"p": limits.near_identical_percent},
        Code.SHARED_CONTACT: _("Any shared value between two different bidders."),
        Code.FAST_AWARD: _("Fewer calendar days than: %(days)s.")
        % {"days": ", ".join(f"{k} {v}" for k, v in limits.fast_award_days.items())},
        Code.SPLIT_PURCHASE: _(
            "Each at most %(p)s%% under the threshold, called within %(d)s days, together "
            "reaching it."
        )
        % {"p": limits.split_margin_percent, "d": limits.split_window_days},
    }
    return str(texts[code])
