"""The evaluation table (cuadro de evaluación) of a process, after its opening.

The committee (members of the process's selection committee who are still staff of its
entity) fills one table per version: for every bid the opening act made readable
(`evaluable_bids`, the one question asked of the act) and every lot (the whole process, or
each item when it is called by items), admissible or not with the reason, and a score per
technical criterion from 0 up to the criterion's weight. On publication the server computes
the rest (`score_lot`, a pure function):

- economic score: the lowest admissible price of the lot gets the economic weight (the sum of
  the economic criteria's weights); any other `weight * lowest / price`;
- local SME bonus: `LOCAL_SME_BONUS_RATE` (default 10%) of technical + economic, for a bidder
  that is an SME (a consortium: every member) domiciled in the department of the entity (a
  consortium: every member), when the entity is outside Lima and Callao
  (`local_sme_bonus_applies`); size class and domicile as the opening act recorded them
  (`standing_on_opening_day`), never the supplier's record of a later day;
- total and rank, ties broken by `tie_break_key` (SME first, then the earliest receipt).

Procedure types: Subasta Inversa Electrónica and Comparación de Precios award the lowest
admissible price (no technical score, no bonus: the rank is the price's); Contratación
Directa has no evaluation table.

A table is published as an immutable record with its PDF (a process document with its
SHA-256); a new version needs a reason and is possible only while no lot has been decided
(an appeal's resolution, a later slice, reopens it). Publishing deserts at once each lot
that has no admissible bid (procurement.services.awards).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import audit, clock, formatting, pdf
from core.codelists import SizeClass
from core.errors import DomainError
from core.models import District
from suppliers.services.sme_standing import sme_standing_on

from ..models import (
    Award,
    BidOpening,
    CriterionKind,
    Evaluation,
    EvaluationEntry,
    OpenedBid,
    ProcessDocument,
    ProcessItem,
    ProcessStatus,
    ProcurementProcess,
    TechnicalScore,
)
from ..rules import local_bonus_applies
from .committee import require_committee_member
from .criteria import LOWEST_PRICE_TYPES, NO_EVALUATION_TYPES
from .opening import standing_day
from .processes.documents import publish_document

CENT = Decimal("0.01")
MAX_REASON = 2000


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def bonus_rate() -> Decimal:
    """The local SME bonus as a fraction of the score (setting LOCAL_SME_BONUS_RATE)."""
    try:
        rate = Decimal(str(getattr(settings, "LOCAL_SME_BONUS_RATE", "0.10")))
    except InvalidOperation as error:
        raise ValueError("LOCAL_SME_BONUS_RATE must be a decimal fraction, e.g. 0.10") from error
    if not (0 <= rate < 1):
        raise ValueError("LOCAL_SME_BONUS_RATE must be between 0 and 1")
    return rate


# --- what the opening act says -------------------------------------------------------------


def completed_opening(process: ProcurementProcess) -> BidOpening | None:
    return BidOpening.objects.filter(process=process, status=BidOpening.Status.COMPLETED).first()


def evaluable_bids(opening: BidOpening) -> list[OpenedBid]:
    """The bids of the act that are evaluated: those it recorded readable and in force
    (status valid). Withdrawn, unreadable and superseded bids (any status other than valid)
    take no part. The one place that asks the act which bids count."""
    return list(
        OpenedBid.objects.filter(opening=opening, status=OpenedBid.Status.VALID)
        .select_related("lead_supplier__domicile")
        .prefetch_related("members__supplier__domicile", "lines")
        .order_by("position")
    )


def lots(process: ProcurementProcess) -> list[ProcessItem | None]:
    """The lots a process is evaluated and awarded by: each item when it is called by
    items, otherwise the whole process (None)."""
    if process.award_by_items:
        return list(process.items.order_by("id"))
    return [None]


def lot_price(opened_bid: OpenedBid, item: ProcessItem | None) -> Decimal | None:
    """The bid's price for the lot: its total, or its line for the item (None when it did
    not price it)."""
    if item is None:
        return opened_bid.total
    for line in opened_bid.lines.all():
        if line.item_id == item.pk:
            return line.line_total
    return None


# --- SME standing and the local bonus ------------------------------------------------------


@dataclass(frozen=True)
class BidderStanding:
    """What the SME rules need of a bidder: each member's size class {ruc: class}, whether
    every member is an SME, and the department of each member's domicile."""

    size_classes: dict
    sme: bool
    departments: frozenset[str]


def bidder_standing(opened_bid: OpenedBid, day) -> BidderStanding:
    """The size of the bidder (each consortium member) on `day`. The bid records no size
    class at submission, so the standing that counts is the supplier's on `day` (the
    opening's, or the award's), by suppliers.services.sme_standing."""
    suppliers = [member.supplier for member in opened_bid.members.all()] or [
        opened_bid.lead_supplier
    ]
    classes, sme = {}, True
    for supplier in suppliers:
        standing = sme_standing_on(supplier, day)
        classes[supplier.ruc] = standing.size_class
        sme = sme and standing.is_sme
    return BidderStanding(
        classes, sme, frozenset(supplier.domicile.department_code for supplier in suppliers)
    )


def standing_on_opening_day(opened_bid: OpenedBid, day) -> BidderStanding:
    """The bidder's standing the local SME bonus is judged on: the one the opening act
    recorded (OpenedBid.size_classes and .domiciles, procurement.services.opening.
    standing_at_opening), so a supplier that grows or moves after the opening changes no
    table, first or redone. An act opened before it recorded them: the suppliers' size on
    `day` (the opening's) and their domicile as it is now."""
    if not opened_bid.size_classes:
        return bidder_standing(opened_bid, day)
    classes = dict(opened_bid.size_classes)
    sme = all(SizeClass.is_sme(size) for size in classes.values())
    departments = frozenset(District.department_of(code) for code in opened_bid.domiciles.values())
    return BidderStanding(classes, sme, departments)


def local_sme_bonus_applies(process: ProcurementProcess, standing: BidderStanding) -> bool:
    """The local preference: an entity outside Lima and Callao gives the bonus to an SME
    bidder (a consortium of SMEs only) domiciled in its department (every member)."""
    return local_bonus_applies(
        process.entity.ubigeo.department_code, standing.sme, standing.departments
    )


# --- the scoring rule (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One bid in one lot, as the scoring rule sees it."""

    key: object
    admissible: bool
    price: Decimal
    technical: Decimal  # the sum of its technical scores
    sme: bool
    local_sme: bool
    received_at: datetime
    position: int = 0


@dataclass(frozen=True)
class Score:
    technical: Decimal
    economic: Decimal
    bonus: Decimal
    total: Decimal
    rank: int | None  # None: not admissible


def tie_break_key(candidate: Candidate) -> tuple:
    """The documented tie rule: between equal totals (or equal prices where the lowest price
    wins) an SME bidder ranks first, then the bid received earliest (its receipt's server
    time), then the act's order."""
    return (not candidate.sme, candidate.received_at, candidate.position)


def score_lot(
    candidates: list[Candidate],
    *,
    economic_weight: Decimal,
    bonus_rate: Decimal,
    lowest_price_wins: bool = False,
) -> dict:
    """Scores and ranks of a lot's bids, keyed by candidate key (see the module docstring).
    Every figure is rounded to the cent, half up."""
    admissible = [c for c in candidates if c.admissible]
    lowest = min((c.price for c in admissible), default=None)
    scores = {}
    for c in candidates:
        if not c.admissible:
            scores[c.key] = Score(Decimal(0), Decimal(0), Decimal(0), Decimal(0), None)
            continue
        technical = Decimal(0) if lowest_price_wins else _cents(c.technical)
        economic = _cents(economic_weight * lowest / c.price)
        bonus = Decimal(0)
        if c.local_sme and not lowest_price_wins:
            bonus = _cents((technical + economic) * bonus_rate)
        scores[c.key] = Score(technical, economic, bonus, technical + economic + bonus, None)
    if lowest_price_wins:
        order = sorted(admissible, key=lambda c: (c.price, *tie_break_key(c)))
    else:
        order = sorted(admissible, key=lambda c: (-scores[c.key].total, *tie_break_key(c)))
    for rank, c in enumerate(order, start=1):
        s = scores[c.key]
        scores[c.key] = Score(s.technical, s.economic, s.bonus, s.total, rank)
    return scores


# --- refusals ------------------------------------------------------------------------------


def current_evaluation(process: ProcurementProcess) -> Evaluation | None:
    """The latest version of the process's table (draft or published), or None."""
    return process.evaluations.order_by("-version").first()


def published_evaluation(process: ProcurementProcess) -> Evaluation | None:
    return (
        process.evaluations.filter(status=Evaluation.Status.PUBLISHED).order_by("-version").first()
    )


def evaluation_refusal(process: ProcurementProcess, *, reason: str = "") -> DomainError | None:
    """Why a new version of the table cannot be started now, or None: the type has a table,
    the process is called and its bids were opened, no draft is under way, no lot has been
    decided yet, and a version after the first gives its reason."""
    if process.procedure_type in NO_EVALUATION_TYPES:
        return DomainError(
            _(
                "Direct contracting awards the invited supplier's offer without an evaluation table."
            ),
            code="no_evaluation",
        )
    if process.status != ProcessStatus.CALLED:
        return DomainError(
            _("The process is %(status)s: it is not evaluated now.")
            % {"status": str(process.get_status_display()).lower()},
            code="not_called",
        )
    if completed_opening(process) is None:
        return DomainError(_("The bids are evaluated after their opening."), code="not_opened")
    latest = current_evaluation(process)
    if latest is not None and not latest.published:
        return DomainError(
            _("Version %(version)s of the evaluation table is being filled.")
            % {"version": latest.version},
            code="draft_exists",
        )
    if latest is not None and Award.objects.live().filter(process=process).exists():
        return DomainError(
            _("A lot of this process has been decided: the table is not redone now."),
            code="lot_decided",
        )
    if latest is not None and not " ".join((reason or "").split()):
        return DomainError(
            _("A new version of the evaluation table needs its reason."),
            field="reason",
            code="reason_required",
        )
    return None


def clean_reason(reason: str, field: str = "reason") -> str:
    """A reason as stored: trimmed, at most MAX_REASON characters, no NUL byte."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON or "\x00" in reason:
        raise DomainError(
            ngettext(
                "Give the reason in at most %(count)s character.",
                "Give the reason in at most %(count)s characters.",
                MAX_REASON,
            )
            % {"count": MAX_REASON},
            field=field,
            code="reason_invalid",
        )
    return reason


def _locked(process: ProcurementProcess) -> ProcurementProcess:
    return (
        ProcurementProcess.objects.select_for_update()
        .select_related("entity__ubigeo")
        .get(pk=process.pk)
    )


# --- services ------------------------------------------------------------------------------


@transaction.atomic
def start_evaluation(*, actor, process: ProcurementProcess, reason: str = "") -> Evaluation:
    """A committee member starts the next version of the table: one row per lot for every
    bid the act made readable that prices it, with its bidder's SME standing as the opening
    act recorded it (standing_on_opening_day: the snapshot the bonus is judged on). Version 1 after the opening; a later version
    needs its reason."""
    require_committee_member(actor, process)
    process = _locked(process)
    reason = clean_reason(reason)
    refusal = evaluation_refusal(process, reason=reason)
    if refusal is not None:
        raise refusal
    opening = completed_opening(process)
    latest = current_evaluation(process)
    evaluation = Evaluation.objects.create(
        process=process,
        opening=opening,
        version=(latest.version + 1) if latest else 1,
        reason=reason if latest else "",
        bonus_rate=bonus_rate(),
        created_at=clock.now(),
        created_by=actor,
    )
    day = standing_day(process, opening.confirmed_at)
    entries = []
    for opened_bid in evaluable_bids(opening):
        standing = standing_on_opening_day(opened_bid, day)
        for item in lots(process):
            price = lot_price(opened_bid, item)
            if price is None or price <= 0:
                continue
            entries.append(
                EvaluationEntry(
                    evaluation=evaluation,
                    opened_bid=opened_bid,
                    item=item,
                    price=price,
                    sme=standing.sme,
                    local_sme=local_sme_bonus_applies(process, standing),
                    size_classes=standing.size_classes,
                )
            )
    EvaluationEntry.objects.bulk_create(entries)
    audit.record(
        actor,
        "process.evaluation_started",
        evaluation,
        {
            "identifier": process.identifier,
            "version": evaluation.version,
            "reason": evaluation.reason,
            "entries": len(entries),
        },
    )
    return evaluation


def technical_criteria(process: ProcurementProcess) -> list:
    """The criteria the committee scores by hand (none where the lowest price wins)."""
    if process.procedure_type in LOWEST_PRICE_TYPES:
        return []
    return list(process.criteria.filter(kind=CriterionKind.TECHNICAL).order_by("position"))


def _score(value, criterion) -> Decimal:
    try:
        score = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, TypeError, ValueError):
        score = None
    if score is None or not score.is_finite() or not (0 <= score <= criterion.weight):
        raise DomainError(
            _("The score for %(criterion)s goes from 0 to %(weight)s.")
            % {"criterion": criterion.name, "weight": formatting.quantity(criterion.weight)},
            field=f"score_{criterion.pk}",
            code="score_out_of_range",
        )
    if score != score.quantize(CENT):
        raise DomainError(
            _("Scores have at most two decimals."),
            field=f"score_{criterion.pk}",
            code="score_precision",
        )
    return score


@transaction.atomic
def record_entry(
    *, actor, entry: EvaluationEntry, admissible: bool, reason: str = "", scores: dict | None = None
) -> EvaluationEntry:
    """A committee member judges one row of the draft: admissible or not (the reason is
    required when not), and when admissible a score per technical criterion, from 0 to the
    criterion's weight (Reglamento, art. 74)."""
    process = entry.evaluation.process
    require_committee_member(actor, process)
    _locked(process)
    entry = EvaluationEntry.objects.select_related("evaluation").get(pk=entry.pk)
    if entry.evaluation.published:
        raise DomainError(
            _("This version of the table is published: it cannot change."), code="published"
        )
    reason = clean_reason(reason)
    if not admissible and not reason:
        raise DomainError(
            _("Say why the bid is not admissible."), field="reason", code="reason_required"
        )
    scores = scores or {}
    criteria = technical_criteria(process)
    known = {str(c.pk) for c in criteria}
    if any(str(key) not in known for key in scores):
        raise DomainError(
            _("Score only the process's technical criteria."), code="criterion_unknown"
        )
    values = {}
    if admissible:
        for criterion in criteria:
            value = scores.get(criterion.pk, scores.get(str(criterion.pk)))
            if value is None or str(value).strip() == "":
                raise DomainError(
                    _("Give the score for %(criterion)s.") % {"criterion": criterion.name},
                    field=f"score_{criterion.pk}",
                    code="score_required",
                )
            values[criterion] = _score(value, criterion)
    entry.admissible = admissible
    entry.inadmissible_reason = "" if admissible else reason
    entry.save(update_fields=["admissible", "inadmissible_reason"])
    entry.scores.all().delete()
    TechnicalScore.objects.bulk_create(
        [TechnicalScore(entry=entry, criterion=c, score=v) for c, v in values.items()]
    )
    audit.record(
        actor,
        "process.evaluation_entry_recorded",
        entry,
        {
            "identifier": process.identifier,
            "version": entry.evaluation.version,
            "admissible": admissible,
            "reason": entry.inadmissible_reason,
            "scores": {str(c.pk): str(v) for c, v in values.items()},
        },
    )
    return entry


def publish_refusal(evaluation: Evaluation | None) -> DomainError | None:
    if evaluation is None or evaluation.published:
        return DomainError(
            _("No draft of the evaluation table is waiting to be published."), code="no_draft"
        )
    if evaluation.entries.filter(admissible__isnull=True).exists():
        return DomainError(
            _("Judge every bid of the table before publishing it."), code="entries_pending"
        )
    return None


@transaction.atomic
def publish_evaluation(*, actor, process: ProcurementProcess) -> Evaluation:
    """A committee member publishes the draft: the server computes economic scores, bonus,
    totals and ranks per lot (score_lot), the table becomes immutable and its PDF is
    published with its SHA-256. Each lot with no admissible bid is deserted at once."""
    require_committee_member(actor, process)
    process = _locked(process)
    evaluation = (
        Evaluation.objects.select_for_update()
        .filter(process=process, status=Evaluation.Status.DRAFT)
        .first()
    )
    refusal = publish_refusal(evaluation)
    if refusal is not None:
        raise refusal
    lowest_price_wins = process.procedure_type in LOWEST_PRICE_TYPES
    economic_weight = sum(
        (c.weight for c in process.criteria.filter(kind=CriterionKind.ECONOMIC)), Decimal(0)
    )
    entries = list(evaluation.entries.select_related("opened_bid").prefetch_related("scores"))
    for item in lots(process):
        in_lot = [e for e in entries if e.item_id == (item.pk if item else None)]
        scores = score_lot(
            [
                Candidate(
                    key=e.pk,
                    admissible=bool(e.admissible),
                    price=e.price,
                    technical=sum((s.score for s in e.scores.all()), Decimal(0)),
                    sme=e.sme,
                    local_sme=e.local_sme,
                    received_at=e.opened_bid.received_at,
                    position=e.opened_bid.position,
                )
                for e in in_lot
            ],
            economic_weight=economic_weight,
            bonus_rate=evaluation.bonus_rate,
            lowest_price_wins=lowest_price_wins,
        )
        for e in in_lot:
            s = scores[e.pk]
            e.technical_score, e.economic_score, e.bonus = s.technical, s.economic, s.bonus
            e.total, e.rank = s.total, s.rank
    EvaluationEntry.objects.bulk_update(
        entries, ["technical_score", "economic_score", "bonus", "total", "rank"]
    )
    now = clock.now()
    evaluation.published_at, evaluation.published_by = now, actor
    evaluation.document = _publish_pdf(actor, process, evaluation)
    evaluation.status = Evaluation.Status.PUBLISHED
    evaluation.save(update_fields=["published_at", "published_by", "document", "status"])
    audit.record(
        actor,
        "process.evaluation_published",
        evaluation,
        {
            "identifier": process.identifier,
            "version": evaluation.version,
            "sha256": evaluation.document.sha256,
        },
    )
    from .awards import desert_lots_without_admissible_bids

    desert_lots_without_admissible_bids(actor=actor, process=process, evaluation=evaluation)
    return evaluation


# --- reading -------------------------------------------------------------------------------


@dataclass
class LotTable:
    item: ProcessItem | None
    entries: list


def lot_tables(evaluation: Evaluation) -> list[LotTable]:
    """The table's rows grouped by lot, in rank order (inadmissible rows last)."""
    entries = list(
        evaluation.entries.select_related("opened_bid", "item", "qualification")
        .prefetch_related("scores__criterion", "opened_bid__members")
        .order_by("item_id", "opened_bid__position")
    )
    tables = []
    for item in lots(evaluation.process):
        rows = [e for e in entries if e.item_id == (item.pk if item else None)]
        rows.sort(key=lambda e: (e.rank is None, e.rank or 0, e.opened_bid.position))
        tables.append(LotTable(item, rows))
    return tables


def _table_lines(process: ProcurementProcess, evaluation: Evaluation) -> list[str]:
    lines = [
        _("Evaluation table, version %(version)s.") % {"version": evaluation.version},
        _("Process: %(identifier)s — %(description)s")
        % {"identifier": process.identifier, "description": process.description},
        _("Entity: %(name)s (RUC %(ruc)s)")
        % {"name": process.entity.name, "ruc": process.entity.ruc},
        _("Procedure: %(type)s") % {"type": process.get_procedure_type_display()},
        _("Published at: %(moment)s") % {"moment": formatting.moment(evaluation.published_at)},
        _("Local SME bonus: %(rate)s %% of the score")
        % {"rate": formatting.quantity(evaluation.bonus_rate * 100)},
    ]
    if evaluation.reason:
        lines.append(_("Reason for this version: %(reason)s") % {"reason": evaluation.reason})
    for table in lot_tables(evaluation):
        lines.append("")
        lines.append(
            _("Item: %(item)s") % {"item": table.item.description}
            if table.item
            else _("The whole process")
        )
        if not table.entries:
            lines.append("   " + _("No bid priced this lot."))
        for e in table.entries:
            bid = e.opened_bid
            lines.append(f"{bid.position}. {bid.lead_name} (RUC {bid.lead_ruc})")
            lines.append("   " + _("Price: %(price)s") % {"price": formatting.money(e.price)})
            if e.admissible:
                lines.append(
                    "   "
                    + _(
                        "Technical %(technical)s, economic %(economic)s, bonus %(bonus)s, "
                        "total %(total)s, rank %(rank)s"
                    )
                    % {
                        "technical": formatting.amount(e.technical_score),
                        "economic": formatting.amount(e.economic_score),
                        "bonus": formatting.amount(e.bonus),
                        "total": formatting.amount(e.total),
                        "rank": e.rank,
                    }
                )
            else:
                lines.append(
                    "   " + _("Not admissible: %(reason)s") % {"reason": e.inadmissible_reason}
                )
    return lines


def _publish_pdf(actor, process, evaluation) -> ProcessDocument:
    with translation.override(settings.LANGUAGE_CODE or "es"):
        title = _("Evaluation table v%(version)s %(identifier)s") % {
            "version": evaluation.version,
            "identifier": process.identifier,
        }
        content = pdf.document(title, _table_lines(process, evaluation))
        upload = SimpleUploadedFile(
            f"cuadro-evaluacion-{process.identifier}-v{evaluation.version}.pdf",
            content,
            content_type="application/pdf",
        )
        return publish_document(
            actor, process, kind=ProcessDocument.Kind.ACT, title=title, upload=upload
        )
