"""Appeals (recurso de apelación, Ley 30225 art. 41; Reglamento, arts. 117-128).

- Filing: during the standstill of a granted award (the day of the award's standstill's
  last day included), a bidder of the opening act (its lead or a consortium member), through
  one of its users, appeals the award, an admission or a score, with its reasons, documents
  (checked like every process document) and the fee paid. The process is suspended while an
  appeal runs (the state machine's "suspend"); the consent task skips it (`appeal_pending`).
- Who resolves: the entity's head (role entity_head) up to APPEAL_TRIBUNAL_THRESHOLD_UIT of
  the process's estimated value, the national tribunal (role tribunal) above; never a member
  of the process's committee. The legal term (APPEAL_RESOLUTION_WORKING_DAYS) gives the
  day it is due; past it the appeal shows overdue.
- Statuses: filed -> admitted or inadmissible; admitted -> founded or unfounded; filed or
  admitted -> withdrawn by the appellant.
- Effect, once no appeal of the process is left open: if one was founded, every live award
  of the process is revoked and the process goes back to evaluation (a new table version,
  with its reason, then a new award and standstill); otherwise the process resumes and the
  appealed awards are consented at once (DOMAIN.md: unfounded -> consent).
"""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import permissions
from core import audit, clock
from core.errors import DomainError
from core.workdays import calendar as working_calendar
from notifications import events
from notifications.models import Audience, EventKind

from .. import document_store
from ..documents import check_document
from ..models import (
    Appeal,
    Award,
    EvaluationEntry,
    ProcessDocument,
    ProcessStatus,
    ProcurementProcess,
)
from ..models.appeals import OPEN_APPEAL_STATUSES
from ..rules import APPEAL_RESOLUTION_WORKING_DAYS, tribunal_resolves
from .awards import _settle_process as settle_awards
from .committee import is_committee_member
from .evaluation import clean_reason, completed_opening
from .processes.status import record_status_change, suspend_locked

MAX_FEE = Decimal("99999999.99")
MAX_DOCUMENTS = 5


def appeal_resolver(process: ProcurementProcess) -> str:
    """Who resolves the process's appeals: the tribunal above the threshold (in UIT of the
    process's fiscal year), the entity's head otherwise."""
    if tribunal_resolves(process.estimated_value, process.fiscal_year.uit):
        return Appeal.Resolver.TRIBUNAL
    return Appeal.Resolver.ENTITY_HEAD


def open_appeals(process: ProcurementProcess):
    return Appeal.objects.filter(process=process, status__in=OPEN_APPEAL_STATUSES)


def bidder_ids(process: ProcurementProcess) -> set[int]:
    """The suppliers of the opening act's bids: leads and consortium members."""
    opening = completed_opening(process)
    if opening is None:
        return set()
    leads = opening.bids.values_list("lead_supplier_id", flat=True)
    members = opening.bids.values_list("members__supplier_id", flat=True)
    return {s for s in [*leads, *members] if s is not None}


def appealable_awards(process: ProcurementProcess, today=None) -> list[Award]:
    """The granted awards whose standstill runs (today up to its last day included)."""
    today = today or clock.today()
    return list(
        Award.objects.live()
        .filter(process=process, status=Award.Status.AWARDED, standstill_ends__gte=today)
        .select_related("item", "supplier")
    )


def filing_refusal(process: ProcurementProcess, supplier) -> DomainError | None:
    """Why the supplier cannot appeal in the process now, or None."""
    if supplier is None or supplier.pk not in bidder_ids(process):
        return DomainError(_("Only a bidder of the opening act may appeal."), code="not_a_bidder")
    if process.status not in (ProcessStatus.AWARDED, ProcessStatus.SUSPENDED) or (
        process.status == ProcessStatus.SUSPENDED
        and process.suspended_from != ProcessStatus.AWARDED
    ):
        return DomainError(
            _("An appeal is filed during the standstill of an award."), code="no_standstill"
        )
    if not appealable_awards(process):
        return DomainError(
            _("The standstill has ended: the award can no longer be appealed."),
            code="standstill_over",
        )
    return None


def _spanish_title(subject: str) -> str:
    return f"Recurso de apelación ({Appeal.Subject(subject).value})"


def _store_documents(actor, process, uploads, kind, title) -> list[ProcessDocument]:
    documents = []
    for upload in uploads:
        checked = check_document(upload)
        document = ProcessDocument(
            process=process,
            entity_id=process.entity_id,
            kind=kind,
            title=title,
            filename=checked.filename,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            published_at=clock.now(),
            published_by=actor,
        )
        document.file.name = document_store.store(
            upload, sha256=checked.sha256, extension=checked.extension
        )
        document.save()
        documents.append(document)
    return documents


def _payload(appeal: Appeal, **extra) -> dict:
    return {
        "identifier": appeal.process.identifier,
        "appeal": appeal.pk,
        "award": appeal.award_id,
        "item": appeal.award.item_id,
        "against": appeal.subject,
        "status": appeal.status,
        "resolver": appeal.resolver,
        "due_on": appeal.due_on,
        **extra,
    }


def _event(kind, appeal: Appeal, payload: dict) -> None:
    for audience in (Audience.PARTICIPANTS, Audience.PUBLIC):
        events.record(
            kind,
            appeal,
            entity=appeal.process.entity,
            process=appeal.process,
            audience=audience,
            payload=payload,
        )


def _locked_process(process_id: int) -> ProcurementProcess:
    return (
        ProcurementProcess.objects.select_for_update()
        .select_related("entity", "fiscal_year")
        .get(pk=process_id)
    )


@transaction.atomic
def file_appeal(
    *,
    actor,
    process: ProcurementProcess,
    supplier,
    award: Award,
    subject: str,
    reasons: str,
    fee_amount,
    entry: EvaluationEntry | None = None,
    uploads=(),
) -> Appeal:
    """A bidder appeals an award, an admission or a score during the standstill (Ley 30225,
    art. 41); the process is suspended until every appeal of it is decided."""
    permissions.require_supplier_user(actor, supplier)
    process = _locked_process(process.pk)
    refusal = filing_refusal(process, supplier)
    if refusal is not None:
        raise refusal
    if award.pk not in {a.pk for a in appealable_awards(process)}:
        raise DomainError(
            _("Choose an award of this process whose standstill runs."),
            field="award",
            code="award_not_appealable",
        )
    if subject not in Appeal.Subject.values:
        raise DomainError(_("Say what is appealed."), field="subject", code="subject_invalid")
    if subject == Appeal.Subject.AWARD:
        entry = None
    elif (
        entry is None
        or entry.evaluation_id != award.evaluation_id
        or (entry.item_id != award.item_id)
    ):
        raise DomainError(
            _("Choose the bid whose admission or score is appealed."),
            field="entry",
            code="entry_invalid",
        )
    reasons = clean_reason(reasons, "reasons")
    if not reasons:
        raise DomainError(_("Give the reasons."), field="reasons", code="reasons_required")
    fee = Decimal(fee_amount) if fee_amount is not None else Decimal(0)
    if not fee.is_finite() or fee <= 0 or fee > MAX_FEE:
        raise DomainError(_("Record the appeal fee paid."), field="fee_amount", code="fee_invalid")
    uploads = list(uploads)
    if len(uploads) > MAX_DOCUMENTS:
        raise DomainError(
            ngettext(
                "Attach at most %(count)s document.",
                "Attach at most %(count)s documents.",
                MAX_DOCUMENTS,
            )
            % {"count": MAX_DOCUMENTS},
            field="documents",
            code="too_many_documents",
        )
    now = clock.now()
    resolver = appeal_resolver(process)
    appeal = Appeal.objects.create(
        process=process,
        award=award,
        subject=subject,
        entry=entry,
        supplier=supplier,
        reasons=reasons,
        fee_amount=fee.quantize(Decimal("0.01")),
        resolver=resolver,
        filed_at=now,
        filed_by=actor,
        due_on=working_calendar().add_working_days(
            timezone.localdate(now), APPEAL_RESOLUTION_WORKING_DAYS[resolver]
        ),
    )
    documents = _store_documents(
        actor, process, uploads, ProcessDocument.Kind.APPEAL, _spanish_title(subject)
    )
    appeal.documents.set(documents)
    payload = _payload(appeal, fee_amount=appeal.fee_amount)
    audit.record(actor, "appeal.filed", appeal, {**payload, "appellant": supplier.pk})
    _event(EventKind.APPEAL_FILED, appeal, payload)
    if process.status != ProcessStatus.SUSPENDED:
        suspend_locked(
            actor=actor,
            process=process,
            reason=f"Recurso de apelación {appeal.pk}",
            appeal=appeal.pk,
        )
    return appeal


# --- resolution ------------------------------------------------------------------------------


def may_resolve(user, appeal: Appeal) -> bool:
    """The entity's head (up to the threshold) or the tribunal (above it), never a member of
    the process's committee."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if is_committee_member(user, appeal.process):
        return False
    if appeal.resolver == Appeal.Resolver.TRIBUNAL:
        return permissions.is_tribunal(user)
    return appeal.process.entity_id in permissions.head_entity_ids(user)


def resolvable_appeals(user):
    """The appeals the user may resolve (the list of the resolvers' page)."""
    heads = permissions.head_entity_ids(user)
    rule = Q(resolver=Appeal.Resolver.ENTITY_HEAD, process__entity_id__in=heads)
    if permissions.is_tribunal(user):
        rule |= Q(resolver=Appeal.Resolver.TRIBUNAL)
    if not heads and not permissions.is_tribunal(user):
        return Appeal.objects.none()
    return (
        Appeal.objects.filter(rule)
        .exclude(process__committee_members__user=user)
        .select_related("process", "supplier", "award")
    )


# What each decision accepts the appeal from, and where it leads.
DECISIONS = {
    "admit": (frozenset({Appeal.Status.FILED}), Appeal.Status.ADMITTED),
    "inadmissible": (frozenset({Appeal.Status.FILED}), Appeal.Status.INADMISSIBLE),
    "founded": (frozenset({Appeal.Status.ADMITTED}), Appeal.Status.FOUNDED),
    "unfounded": (frozenset({Appeal.Status.ADMITTED}), Appeal.Status.UNFOUNDED),
    "withdraw": (frozenset({Appeal.Status.FILED, Appeal.Status.ADMITTED}), Appeal.Status.WITHDRAWN),
}


def decision_refusal(appeal: Appeal, decision: str) -> DomainError | None:
    rule = DECISIONS.get(decision)
    if rule is None or appeal.status not in rule[0]:
        return DomainError(
            _("The appeal is %(status)s: this is not possible now.")
            % {"status": str(appeal.get_status_display()).lower()},
            code="appeal_decision_not_allowed",
        )
    return None


def _apply_outcome(actor, process: ProcurementProcess) -> ProcurementProcess:
    """Once no appeal of the (locked, suspended) process is open: back to evaluation if one
    was founded, otherwise resume and consent the appealed awards."""
    if open_appeals(process).exists() or process.status != ProcessStatus.SUSPENDED:
        return process
    live = Award.objects.live().filter(process=process)
    decided = Appeal.objects.filter(process=process, award__in=live)
    founded = decided.filter(status=Appeal.Status.FOUNDED).first()
    now = clock.now()
    if founded is not None:
        for award in live.select_for_update():
            award.status = Award.Status.REVOKED
            award.revoked_at = now
            award.save(update_fields=["status", "revoked_at"])
            audit.record(
                actor,
                "process.lot_award_revoked",
                award,
                {"identifier": process.identifier, "item": award.item_id, "appeal": founded.pk},
            )
        return record_status_change(
            actor=actor,
            process=process,
            action="reevaluate",
            reason=founded.resolution,
        )
    process = record_status_change(
        actor=actor,
        process=process,
        action="resume",
        reason="; ".join(a.resolution or a.get_status_display() for a in decided),
        appeal=decided.order_by("pk").values_list("pk", flat=True).first(),
    )
    today = timezone.localdate(now)
    for award in live.select_for_update().filter(
        status=Award.Status.AWARDED, pk__in=decided.values("award_id")
    ):
        award.status = Award.Status.CONSENTED
        award.consented_on = today
        award.save(update_fields=["status", "consented_on"])
        audit.record(
            actor,
            "process.lot_consented",
            award,
            {"identifier": process.identifier, "item": award.item_id, "consented_on": today},
        )
    return settle_awards(actor, process)


@transaction.atomic
def decide_appeal(
    *, actor, appeal: Appeal, decision: str, resolution: str = "", uploads=()
) -> Appeal:
    """The resolver admits the appeal or declares it inadmissible, then resolves an admitted
    one as founded or unfounded (Reglamento, arts. 123-126), with the resolution and its
    document; the appellant alone may withdraw it."""
    process = _locked_process(appeal.process_id)
    appeal = Appeal.objects.select_for_update().select_related("award").get(pk=appeal.pk)
    appeal.process = process
    if decision == "withdraw":
        permissions.require_supplier_user(actor, appeal.supplier)
    elif not may_resolve(actor, appeal):
        raise PermissionDenied(
            _(
                "Appeals are resolved by the entity's head or, above the threshold, by the national tribunal; never by a member of the process's committee."
            )
        )
    refusal = decision_refusal(appeal, decision)
    if refusal is not None:
        raise refusal
    resolution = clean_reason(resolution, "resolution")
    decides = decision in ("inadmissible", "founded", "unfounded")
    if decides and not resolution:
        raise DomainError(
            _("Give the resolution's grounds."), field="resolution", code="resolution_required"
        )
    now = clock.now()
    appeal.status = DECISIONS[decision][1]
    appeal.resolution = resolution
    if decision == "admit":
        appeal.admitted_at = now
    else:
        appeal.resolved_at = now
        appeal.resolved_by = actor if decision != "withdraw" else None
    if uploads:
        (document, *_rest) = _store_documents(
            actor,
            process,
            list(uploads)[:1],
            ProcessDocument.Kind.APPEAL_RESOLUTION,
            f"Resolución del recurso de apelación {appeal.pk}",
        )
        appeal.resolution_document = document
    appeal.save()
    payload = _payload(appeal, decision=decision, resolution=resolution)
    audit.record(actor, f"appeal.{decision}", appeal, payload)
    _event(EventKind.APPEAL_RESOLVED, appeal, payload)
    _apply_outcome(actor, process)
    return appeal
