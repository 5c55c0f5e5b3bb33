"""The award (buena pro) from the published evaluation table, the deserted lots, and the
consent of awards once their standstill ends.

- Qualification (Reglamento, art. 75): the committee checks the qualification requirements
  of the best ranked admissible bid of a lot. If it passes, the lot is awarded to it; if it
  fails (the reason recorded), the next ranked bid is checked, and so on. A lot left with no
  admissible bid is deserted with its reason (`desert_lots_without_admissible_bids` at the
  table's publication, or when the last one fails its qualification).
- An Award keeps the winning bid, its amount (its price for the lot), the winner's SME class
  on the day of the award, and the date: never recomputed.
- The process's status follows from its lots (`process_outcome`): awarded (adjudicado) as
  soon as one lot is awarded, deserted (desierto) when every lot is; consented when every
  awarded lot is consented and none is pending. Each change goes through the state machine
  (procurement.state_machine.TRANSITIONS) and its one writer (record_status_change).
- Standstill: working days by procedure type (procurement.rules.STANDSTILL_WORKING_DAYS)
  counted from the day after the award on the working-day calendar. `consent_due_awards`
  (the periodic task) consents every award whose standstill ended with no appeal pending, as
  of the day after the standstill's last day, however late it runs.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import audit, clock
from core.errors import DomainError
from core.workdays import calendar as working_calendar
from notifications import events
from notifications.models import Audience, EventKind

from .. import sme
from ..models import (
    Award,
    Evaluation,
    EvaluationEntry,
    ProcessItem,
    ProcessStatus,
    ProcurementProcess,
    Qualification,
)
from ..rules import STANDSTILL_WORKING_DAYS, standstill_end
from .committee import require_committee_member
from .criteria import NO_EVALUATION_TYPES
from .evaluation import (
    bidder_standing,
    clean_reason,
    completed_opening,
    evaluable_bids,
    lots,
    published_evaluation,
)
from .opening import opening_refusal
from .processes.status import record_status_change, transition_refusal


def _lot_filter(item: ProcessItem | None) -> dict:
    return {"item__isnull": True} if item is None else {"item": item}


def lot_award(process: ProcurementProcess, item: ProcessItem | None) -> Award | None:
    return Award.objects.live().filter(process=process, **_lot_filter(item)).first()


def next_to_qualify(evaluation: Evaluation, item: ProcessItem | None) -> EvaluationEntry | None:
    """The best ranked admissible bid of the lot whose qualification was not checked yet."""
    return (
        evaluation.entries.filter(admissible=True, qualification__isnull=True, **_lot_filter(item))
        .select_related("opened_bid__lead_supplier")
        .order_by("rank")
        .first()
    )


def process_outcome(statuses: list[str], lot_count: int) -> str | None:
    """The process's status that its lots' awards call for, or None for no change: awarded
    as soon as any lot is awarded (or consented), deserted when every lot is deserted,
    consented when every lot is decided, none awarded and unconsented, and one consented."""
    granted = {Award.Status.AWARDED, Award.Status.CONSENTED}
    if (
        len(statuses) == lot_count
        and Award.Status.CONSENTED in statuses
        and Award.Status.AWARDED not in statuses
    ):
        return ProcessStatus.CONSENTED
    if any(s in granted for s in statuses):
        return ProcessStatus.AWARDED
    if (
        statuses
        and len(statuses) == lot_count
        and all(s == Award.Status.DESERTED for s in statuses)
    ):
        return ProcessStatus.DESERTED
    return None


_ACTION_TO = {
    ProcessStatus.AWARDED: "award",
    ProcessStatus.DESERTED: "desert",
    ProcessStatus.CONSENTED: "consent",
}


def _settle_process(actor, process: ProcurementProcess) -> ProcurementProcess:
    """Move the (locked) process where its lots call for, when the state machine and the
    calendar allow it now; otherwise leave it (the task tries again for consent)."""
    awards = list(Award.objects.live().filter(process=process))
    target = process_outcome([a.status for a in awards], len(lots(process)))
    if target is None or target == process.status:
        return process
    action = _ACTION_TO[target]
    if transition_refusal(process, action) is not None:
        return process
    reason = ""
    if action == "desert":
        reason = "; ".join(a.reason for a in awards)
    return record_status_change(actor=actor, process=process, action=action, reason=reason)


def _lot_payload(process, award: Award) -> dict:
    return {
        "identifier": process.identifier,
        "item": award.item_id,
        "status": award.status,
        "amount": award.amount,
        "reason": award.reason,
    }


def _desert(actor, process, evaluation, item, reason: str) -> Award:
    award = Award.objects.create(
        process=process,
        item=item,
        evaluation=evaluation,
        status=Award.Status.DESERTED,
        reason=reason,
        decided_at=clock.now(),
        decided_by=actor,
    )
    payload = _lot_payload(process, award)
    audit.record(actor, "process.lot_deserted", award, payload)
    _announce_lot(EventKind.PROCESS_DESERTED, process, award, payload)
    return award


def _announce_lot(kind: str, process, award, payload: dict) -> None:
    """The public event of one item's outcome (awarded, deserted, consented). A lot that is
    the whole process is announced by the process's own status change instead."""
    if award.item_id is None:
        return
    events.record(
        kind,
        award,
        entity=process.entity,
        process=process,
        audience=Audience.PUBLIC,
        payload=payload,
    )


def _spanish(text_function) -> str:
    with translation.override(settings.LANGUAGE_CODE or "es"):
        return str(text_function())


def desert_lots_without_admissible_bids(
    *, actor, process: ProcurementProcess, evaluation: Evaluation
) -> list[Award]:
    """At the publication of a table: every lot with no admissible bid is deserted, with its
    reason (Reglamento, art. 65), and the process follows."""
    deserted = []
    for item in lots(process):
        if lot_award(process, item) is not None:
            continue
        if not evaluation.entries.filter(admissible=True, **_lot_filter(item)).exists():
            reason = _spanish(lambda: _("No admissible bid in the evaluation table."))
            deserted.append(_desert(actor, process, evaluation, item, reason))
    if deserted:
        _settle_process(actor, process)
    return deserted


def _grant(actor, process, evaluation, entry: EvaluationEntry) -> Award:
    now = clock.now()
    today = timezone.localdate(now)
    standing = bidder_standing(entry.opened_bid, today)
    days = STANDSTILL_WORKING_DAYS.get(process.procedure_type)
    award = Award.objects.create(
        process=process,
        item=entry.item,
        evaluation=evaluation,
        status=Award.Status.AWARDED,
        entry=entry,
        opened_bid=entry.opened_bid,
        supplier=entry.opened_bid.lead_supplier,
        amount=entry.price,
        winner_sme=standing.sme,
        winner_size_classes=standing.size_classes,
        decided_at=now,
        decided_by=actor,
        standstill_days=days,
        standstill_ends=standstill_end(process.procedure_type, today, working_calendar()),
    )
    payload = _lot_payload(process, award)
    payload["standstill_ends"] = award.standstill_ends
    audit.record(actor, "process.lot_awarded", award, {**payload, "winner": award.supplier_id})
    _announce_lot(EventKind.PROCESS_AWARDED, process, award, payload)
    sme.refresh_process_on_commit(process)
    return award


def qualification_refusal(
    process: ProcurementProcess, item: ProcessItem | None
) -> DomainError | None:
    """Why the qualification of the lot's next bid cannot be recorded now, or None."""
    if process.status not in (ProcessStatus.CALLED, ProcessStatus.AWARDED):
        return DomainError(
            _("The process is %(status)s: no award is made now.")
            % {"status": str(process.get_status_display()).lower()},
            code="not_called",
        )
    evaluation = published_evaluation(process)
    if evaluation is None or process.evaluations.filter(status=Evaluation.Status.DRAFT).exists():
        return DomainError(
            _("The award follows the published evaluation table."), code="not_evaluated"
        )
    if item is not None and item.process_id != process.pk:
        return DomainError(_("Choose an item of this process."), field="item", code="item_unknown")
    if (item is None) == process.award_by_items:
        return DomainError(
            _("Choose the item: this process is awarded by items.")
            if process.award_by_items
            else _("This process is awarded as a whole."),
            field="item",
            code="lot_invalid",
        )
    if lot_award(process, item) is not None:
        return DomainError(_("This lot has been decided."), code="lot_decided")
    if process.status == ProcessStatus.CALLED:
        return transition_refusal(process, "award")
    return None


@transaction.atomic
def qualify(
    *,
    actor,
    process: ProcurementProcess,
    entry: EvaluationEntry,
    passed: bool,
    reason: str = "",
) -> Award | None:
    """A committee member records the qualification of `entry`, which must be the best
    ranked admissible bid of its lot not yet checked (naming it makes a form sent twice
    harmless). Passed: the lot is awarded to it. Failed (the reason required): the next one
    is checked; when none is left the lot is deserted. Returns the lot's award, if any."""
    require_committee_member(actor, process)
    process = (
        ProcurementProcess.objects.select_for_update()
        .select_related("entity__ubigeo")
        .get(pk=process.pk)
    )
    entry = (
        EvaluationEntry.objects.select_related("evaluation", "item", "opened_bid__lead_supplier")
        .filter(pk=entry.pk, evaluation__process=process)
        .first()
    )
    if entry is None:
        raise DomainError(_("Choose a bid of this process."), field="entry", code="entry_unknown")
    refusal = qualification_refusal(process, entry.item)
    if refusal is not None:
        raise refusal
    evaluation = published_evaluation(process)
    if entry.evaluation_id != evaluation.pk or next_to_qualify(evaluation, entry.item) != entry:
        raise DomainError(
            _("Qualify the best ranked bid not checked yet."), field="entry", code="not_next"
        )
    reason = clean_reason(reason)
    if not passed and not reason:
        raise DomainError(
            _("Say which qualification requirement the bid fails."),
            field="reason",
            code="reason_required",
        )
    Qualification.objects.create(
        entry=entry, passed=passed, reason=reason, decided_at=clock.now(), decided_by=actor
    )
    audit.record(
        actor,
        "process.qualification_recorded",
        entry,
        {
            "identifier": process.identifier,
            "item": entry.item_id,
            "rank": entry.rank,
            "passed": passed,
            "reason": reason,
        },
    )
    if passed:
        award = _grant(actor, process, evaluation, entry)
    elif next_to_qualify(evaluation, entry.item) is None:
        award = _desert(
            actor,
            process,
            evaluation,
            entry.item,
            _spanish(lambda: _("No admissible bid met the qualification requirements.")),
        )
    else:
        return None
    _settle_process(actor, process)
    return award


def direct_award_refusal(process: ProcurementProcess) -> DomainError | None:
    """Why the invited supplier's offer of a direct contracting cannot be awarded now, or
    None: the process is a called Contratación Directa with its legal cause, its offer was
    unsealed, and exactly one offer counts (evaluable_bids)."""
    if process.procedure_type not in NO_EVALUATION_TYPES:
        return DomainError(
            _("Only direct contracting awards an offer without an evaluation table."),
            code="not_direct",
        )
    if process.status != ProcessStatus.CALLED:
        return DomainError(
            _("The process is %(status)s: no award is made now.")
            % {"status": str(process.get_status_display()).lower()},
            code="not_called",
        )
    opening = completed_opening(process)
    if opening is None:
        return DomainError(_("The offer is awarded after its unsealing."), code="not_opened")
    offers = evaluable_bids(opening)
    if len(offers) != 1 or not offers[0].total or offers[0].total <= 0:
        return DomainError(
            _("Direct contracting awards the one offer of its invited supplier."),
            code="one_invited_offer",
        )
    return transition_refusal(process, "award")


@transaction.atomic
def award_direct(*, actor, process: ProcurementProcess) -> Award:
    """Contratación Directa (Ley 30225, art. 27): a committee member awards the invited
    supplier's offer for its legal cause, without evaluation table or standstill; the award
    is consented at once."""
    require_committee_member(actor, process)
    process = (
        ProcurementProcess.objects.select_for_update().select_related("entity").get(pk=process.pk)
    )
    refusal = direct_award_refusal(process)
    if refusal is not None:
        raise refusal
    (offer,) = evaluable_bids(completed_opening(process))
    now = clock.now()
    standing = bidder_standing(offer, timezone.localdate(now))
    award = Award.objects.create(
        process=process,
        status=Award.Status.CONSENTED,
        opened_bid=offer,
        supplier=offer.lead_supplier,
        amount=offer.total,
        winner_sme=standing.sme,
        winner_size_classes=standing.size_classes,
        decided_at=now,
        decided_by=actor,
        consented_on=timezone.localdate(now),
    )
    audit.record(
        actor,
        "process.lot_awarded",
        award,
        {
            **_lot_payload(process, award),
            "winner": award.supplier_id,
            "direct_cause": process.direct_cause,
        },
    )
    process = record_status_change(actor=actor, process=process, action="award")
    _settle_process(actor, process)
    return award


def desert_without_bids_refusal(process: ProcurementProcess) -> DomainError | None:
    """Why the process cannot be declared deserted for want of bids now, or None: it is
    called, its bid deadline has passed and no bid is in force (opening_refusal says
    "no_bids")."""
    refusal = opening_refusal(process)
    if refusal is None or refusal.code != "no_bids":
        return DomainError(
            _(
                "A process is deserted for want of bids only when none was received by the deadline."
            ),
            code="has_bids" if refusal is None else refusal.code,
        )
    return transition_refusal(process, "desert")


@transaction.atomic
def desert_without_bids(*, actor, process: ProcurementProcess) -> ProcurementProcess:
    """A committee member declares deserted a process that received no bid by the deadline
    (Reglamento, art. 65): every lot with its reason, then the process."""
    require_committee_member(actor, process)
    process = (
        ProcurementProcess.objects.select_for_update().select_related("entity").get(pk=process.pk)
    )
    refusal = desert_without_bids_refusal(process)
    if refusal is not None:
        raise refusal
    reason = _spanish(lambda: _("No bid was received by the deadline."))
    for item in lots(process):
        if lot_award(process, item) is None:
            _desert(actor, process, None, item, reason)
    return _settle_process(actor, process)


# --- standstill and consent ----------------------------------------------------------------


def appeal_pending(process: ProcurementProcess) -> bool:
    """An appeal runs: the process is suspended while it does, or one is still open
    (procurement.services.appeals)."""
    from ..models.appeals import OPEN_APPEAL_STATUSES

    return (
        process.status == ProcessStatus.SUSPENDED
        or process.appeals.filter(status__in=OPEN_APPEAL_STATUSES).exists()
    )


def consent_due_awards(now=None) -> int:
    """Consent every award whose standstill ended with no appeal pending: the award as of
    the day after the standstill's last day (not the day the task ran), then its process
    when all its lots allow it. Idempotent: what is consented is not touched again; safe to
    run twice, concurrently (rows locked, skipped when taken) or late. Returns how many
    awards it consented."""
    now = now or clock.now()
    today = timezone.localdate(now)
    due = Award.objects.filter(
        status=Award.Status.AWARDED,
        standstill_ends__lt=today,
        process__status=ProcessStatus.AWARDED,
    )
    waiting = ProcurementProcess.objects.filter(status=ProcessStatus.AWARDED).filter(
        Exists(Award.objects.filter(process=OuterRef("pk"), status=Award.Status.CONSENTED)),
        ~Exists(Award.objects.filter(process=OuterRef("pk"), status=Award.Status.AWARDED)),
    )
    process_ids = set(due.values_list("process_id", flat=True)) | set(
        waiting.values_list("pk", flat=True)
    )
    consented = 0
    for process_id in sorted(process_ids):
        consented += _consent_process(process_id, today)
    return consented


@transaction.atomic
def _consent_process(process_id: int, today) -> int:
    process = (
        ProcurementProcess.objects.select_for_update(skip_locked=True)
        .select_related("entity")
        .filter(pk=process_id, status=ProcessStatus.AWARDED)
        .first()
    )
    if process is None or appeal_pending(process):
        return 0
    count = 0
    for award in Award.objects.select_for_update().filter(
        process=process, status=Award.Status.AWARDED, standstill_ends__lt=today
    ):
        award.status = Award.Status.CONSENTED
        award.consented_on = award.standstill_ends + timedelta(days=1)
        award.save(update_fields=["status", "consented_on"])
        payload = {**_lot_payload(process, award), "consented_on": award.consented_on}
        audit.record(None, "process.lot_consented", award, payload)
        _announce_lot(EventKind.PROCESS_CONSENTED, process, award, payload)
        count += 1
    _settle_process(None, process)
    return count
