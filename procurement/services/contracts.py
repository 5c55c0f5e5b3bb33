"""Contracts from consented awards, their amendments, their end and the after-sales
evaluation (Ley 30225, arts. 32-36; Reglamento, arts. 141-166).

- A contract is signed for one consented award (the whole process, or one item) by the staff
  of the process's entity. It copies from the award the winner, its amount (unless another
  is stated) and the winner's size classes at the award: never recomputed.
- Guarantee: a performance bond, or a 10% retention on payments, which only an SME winner
  may choose, and only for goods and services (`retention_refusal`).
- The contract's status moves through CONTRACT_TRANSITIONS (active -> completed, terminated
  or void), each with its record: the completion's date and final amount, the termination's
  party, reason and date, the nullity's reason.
- Amendments: additional works or reductions, each with its percentage of the original
  amount and the cumulative percentage of its kind; above 25% they are marked.
- The process is contracted when every granted lot has its contract (`contract_missing`
  in procurement.services.processes.status guards the transition), and goes back to
  consented when one of them is declared void. That contract stays on record, and its award
  may be contracted again: a new contract, same winner, that replaces it (one standing
  contract per award: procurement.models.contracts.STANDING).
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q, Sum
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit, clock
from core.codelists import ObjectType
from core.errors import DomainError
from notifications import events
from notifications.models import Audience, EventKind

from .. import red_flags, sme
from ..models import (
    Award,
    Contract,
    ContractAmendment,
    ProcessStatus,
    ProcurementProcess,
    SupplierEvaluation,
)
from ..models.contracts import (
    AMENDMENT_MARK_PERCENT,
    RETENTION_PERCENT,
    STANDING,
    STANDING_STATUSES,
)
from ..rules import MAX_PROCESS_VALUE, date_window
from .evaluation import clean_reason
from .processes.status import record_status_change, transition_refusal

RETENTION_OBJECT_TYPES = frozenset({ObjectType.GOODS, ObjectType.SERVICES})
MAX_TERM_DAYS = 3650
MAX_NUMBER = 60


# --- the status table ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractTransition:
    action: str
    label: str
    sources: frozenset[str]
    target: str


CONTRACT_TRANSITIONS: dict[str, ContractTransition] = {
    t.action: t
    for t in [
        ContractTransition(
            "complete",
            _("Record the completion"),
            frozenset({Contract.Status.ACTIVE}),
            Contract.Status.COMPLETED,
        ),
        ContractTransition(
            "terminate",
            _("Terminate (resolution)"),
            frozenset({Contract.Status.ACTIVE}),
            Contract.Status.TERMINATED,
        ),
        ContractTransition(
            "annul",
            _("Declare void"),
            frozenset({Contract.Status.ACTIVE}),
            Contract.Status.VOID,
        ),
    ]
}


def contract_action_refusal(contract: Contract, action: str) -> DomainError | None:
    rule = CONTRACT_TRANSITIONS.get(action)
    if rule is None or contract.status not in rule.sources:
        return DomainError(
            _("The contract is %(status)s: this is not possible now.")
            % {"status": str(contract.get_status_display()).lower()},
            code="contract_action_not_allowed",
        )
    return None


def status_change_allowed(current: str, target: str) -> bool:
    """Whether a contract may go from status `current` to `target`: by one of
    CONTRACT_TRANSITIONS (or not at all). The OCDS import moves imported contracts by it."""
    return current == target or any(
        current in rule.sources and rule.target == target for rule in CONTRACT_TRANSITIONS.values()
    )


def active_refusal(contract: Contract) -> DomainError | None:
    """Why the contract cannot be amended: only an active one is."""
    if contract.status != Contract.Status.ACTIVE:
        return DomainError(
            _("The contract is %(status)s: this is not possible now.")
            % {"status": str(contract.get_status_display()).lower()},
            code="contract_action_not_allowed",
        )
    return None


# --- reading ---------------------------------------------------------------------------------


def _money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return _money(part * 100 / whole)


def cumulative_percentages(contract: Contract) -> dict[str, Decimal]:
    """The cumulative percentage of the original amount, per kind of amendment."""
    totals = dict(contract.amendments.values_list("kind").annotate(total=Sum("amount")).order_by())
    return {
        kind: _percent(totals.get(kind) or Decimal(0), contract.amount)
        for kind in ContractAmendment.Kind.values
    }


def current_amount(contract: Contract) -> Decimal:
    """The amount after its amendments: the original plus additions minus reductions."""
    totals = dict(contract.amendments.values_list("kind").annotate(total=Sum("amount")).order_by())
    return (
        contract.amount
        + (totals.get(ContractAmendment.Kind.ADDITIONAL) or 0)
        - (totals.get(ContractAmendment.Kind.REDUCTION) or 0)
    )


def award_history(contract: Contract) -> dict[str, list[Contract]]:
    """The other contracts of the contract's award, as its page links them: the ones it
    replaces (declared void before it was signed) and the ones signed after it (it was
    declared void, the award contracted again)."""
    others = list(
        Contract.objects.filter(award_id=contract.award_id).exclude(pk=contract.pk).order_by("id")
    )
    return {
        "replaces": [c for c in others if c.pk < contract.pk and c.status not in STANDING_STATUSES],
        "replaced_by": [c for c in others if c.pk > contract.pk],
    }


def supplier_record(supplier) -> dict:
    """What the supplier's public record shows of its contracts: those it signed as lead
    and those of consortia it was a member of (by the members' classes the award kept), the
    count and total amount of its own (void contracts left out), and the averages of its
    after-sales evaluations."""
    contracts = Contract.objects.standing().filter(supplier=supplier)
    totals = contracts.aggregate(count=Count("id"), amount=Sum("amount"))
    evaluations = SupplierEvaluation.objects.filter(contract__supplier=supplier)
    averages = evaluations.aggregate(
        count=Count("id"),
        quality=Avg("quality"),
        on_time=Count("id", filter=Q(on_time=True)),
        penalties=Sum("penalties"),
    )
    count = averages["count"]
    return {
        "contracts": Contract.objects.public()
        .filter(Q(supplier=supplier) | Q(size_classes__has_key=supplier.ruc))
        .select_related("evaluation")
        .order_by("-signed_on", "-id"),
        "supplier_id": supplier.pk,
        "count": totals["count"],
        "amount": totals["amount"] or Decimal(0),
        "evaluations": averages["count"],
        "quality": averages["quality"],
        "on_time_share": _percent(Decimal(averages["on_time"]), Decimal(count)) if count else None,
        "penalties": averages["penalties"] or Decimal(0),
    }


# --- signing ---------------------------------------------------------------------------------


def retention_refusal(award: Award, process: ProcurementProcess) -> DomainError | None:
    """Why the 10% retention cannot replace the performance bond, or None: only an SME winner
    (an SME, or a consortium of SMEs only, at the award) may choose it, and only for goods and
    services (Reglamento, art. 149)."""
    if not award.winner_sme:
        return DomainError(
            _(
                "Only a micro or small enterprise may choose the %(percent)s%% retention instead of the performance bond; this winner was not one at the award."
            )
            % {"percent": RETENTION_PERCENT},
            field="guarantee",
            code="retention_not_sme",
        )
    if process.object_type not in RETENTION_OBJECT_TYPES:
        return DomainError(
            _(
                "The %(percent)s%% retention replaces the performance bond only in contracts of goods and services, not of %(object)s."
            )
            % {
                "percent": RETENTION_PERCENT,
                "object": str(process.get_object_type_display()).lower(),
            },
            field="guarantee",
            code="retention_not_goods_or_services",
        )
    return None


def _contract_exists() -> DomainError:
    return DomainError(
        _(
            "This award already has its contract. Another one is signed only after that "
            "one is declared void."
        ),
        code="contract_exists",
    )


# The process statuses in which a consented award may be contracted: consented (every lot's
# award consented, or a void contract undone), or awarded while another lot's standstill
# runs. A process declared void, cancelled, deserted or suspended contracts nothing.
CONTRACTING_STATUSES = frozenset({ProcessStatus.AWARDED, ProcessStatus.CONSENTED})


def signing_refusal(award: Award) -> DomainError | None:
    """Why a contract cannot be signed for the award now, or None: its process must be in
    CONTRACTING_STATUSES, the award consented and without a standing contract (one declared
    void stays on record; the award is contracted again, contract_one_standing_per_award)."""
    if award.status != Award.Status.CONSENTED:
        return DomainError(
            _("A contract is signed only once its award is consented."),
            code="award_not_consented",
        )
    if Contract.objects.standing().filter(award=award).exists():
        return _contract_exists()
    if award.process.status not in CONTRACTING_STATUSES:
        return DomainError(
            _("The process is %(status)s: no contract is signed in it now.")
            % {"status": str(award.process.get_status_display()).lower()},
            code="process_not_contracting",
        )
    return None


def awards_to_contract(process: ProcurementProcess) -> list[Award]:
    """The process's consented awards without a standing contract (never contracted, or
    whose contract was declared void)."""
    return list(
        Award.objects.live()
        .filter(process=process, status=Award.Status.CONSENTED)
        .without_standing_contract()
        .select_related("supplier", "item")
    )


def void_contracts(award: Award) -> list[Contract]:
    """The award's contracts declared void, earliest first: the ones a new contract of the
    award replaces."""
    return list(award.contracts.exclude(STANDING).order_by("signed_on", "id"))


def _check_date(value: date, process: ProcurementProcess, field: str, earliest: date) -> None:
    _first, last = date_window(process.fiscal_year_id)
    if value < earliest or value > min(last, clock.today()):
        raise DomainError(
            _("Give a date from %(earliest)s to today.") % {"earliest": earliest.isoformat()},
            field=field,
            code="date_out_of_range",
        )


def _check_amount(value, field: str) -> Decimal:
    if value is None or not Decimal(value).is_finite() or value <= 0 or value > MAX_PROCESS_VALUE:
        raise DomainError(
            _("Give an amount greater than zero."), field=field, code="amount_invalid"
        )
    return _money(value)


def _payload(contract: Contract, **extra) -> dict:
    return {
        "identifier": contract.process.identifier,
        "contract": contract.pk,
        "number": contract.number,
        "amount": contract.amount,
        "status": contract.status,
        **extra,
    }


def _event(kind, contract: Contract, payload: dict) -> None:
    process = contract.process
    for audience in (Audience.PARTICIPANTS, Audience.PUBLIC):
        events.record(
            kind,
            contract,
            entity=contract.entity,
            process=process,
            audience=audience,
            payload=payload,
        )


def _settle_process(actor, process: ProcurementProcess) -> ProcurementProcess:
    """Contracted once every granted lot has its contract (the guard is the transition's)."""
    if (
        process.status == ProcessStatus.CONSENTED
        and transition_refusal(process, "contract") is None
    ):
        return record_status_change(actor=actor, process=process, action="contract")
    return process


@transaction.atomic
def sign_contract(
    *,
    actor,
    award: Award,
    number: str,
    signed_on: date,
    term_days: int,
    guarantee: str,
    amount: Decimal | None = None,
) -> Contract:
    """Register the contract of a consented award (Ley 30225, art. 32): staff of the
    process's entity; the amount is the award's unless stated; the winner and its size
    classes are the award's; the guarantee as retention_refusal allows."""
    require_entity_staff(actor, award.process)
    process = (
        ProcurementProcess.objects.select_for_update()
        .select_related("entity")
        .get(pk=award.process_id)
    )
    award = Award.objects.select_for_update().get(pk=award.pk)
    award.process = process
    refusal = signing_refusal(award)
    if refusal is not None:
        raise refusal
    number = (number or "").strip()
    if not number or len(number) > MAX_NUMBER or "\x00" in number:
        raise DomainError(_("Give the contract's number."), field="number", code="number_invalid")
    if Contract.objects.filter(entity=process.entity, number__iexact=number).exists():
        raise DomainError(
            _("The entity already has a contract with this number."),
            field="number",
            code="number_taken",
        )
    replaced = void_contracts(award)
    # A contract that replaces one declared void is signed no earlier than that declaration.
    earliest = max([award.consented_on, *(c.ended_on for c in replaced if c.ended_on)])
    _check_date(signed_on, process, "signed_on", earliest)
    if not isinstance(term_days, int) or not 0 < term_days <= MAX_TERM_DAYS:
        raise DomainError(
            _("Give the term in days, from 1 to %(max)s.") % {"max": MAX_TERM_DAYS},
            field="term_days",
            code="term_invalid",
        )
    if guarantee not in Contract.Guarantee.values:
        raise DomainError(_("Choose the guarantee."), field="guarantee", code="guarantee_invalid")
    if guarantee == Contract.Guarantee.RETENTION:
        refusal = retention_refusal(award, process)
        if refusal is not None:
            raise refusal
    amount = award.amount if amount is None else _check_amount(amount, "amount")
    lead_ruc = award.supplier.ruc
    contract = Contract(
        award=award,
        process=process,
        item=award.item,
        entity=process.entity,
        supplier=award.supplier,
        number=number,
        signed_on=signed_on,
        amount=amount,
        term_days=term_days,
        winner_sme=award.winner_sme,
        size_class=award.winner_size_classes.get(lead_ruc, ""),
        size_classes=award.winner_size_classes,
        guarantee=guarantee,
        created_at=clock.now(),
        created_by=actor,
    )
    _insert(contract)
    payload = _payload(contract, signed_on=signed_on, guarantee=guarantee, term_days=term_days)
    if replaced:
        payload["replaces"] = [c.pk for c in replaced]
    audit.record(actor, "contract.signed", contract, {**payload, "winner": award.supplier_id})
    _event(EventKind.CONTRACT_SIGNED, contract, payload)
    sme.refresh_on_commit(entity_id=contract.entity_id, years=[contract.signed_on.year])
    _settle_process(actor, process)
    return contract


def _insert(contract: Contract) -> None:
    """Write the new contract; the database's last word on its two uniqueness rules (the
    guards above read them first, under the process's lock, but a contract signed from
    another process of the entity, or written outside these services, may race them): a
    clear refusal, never a 500."""
    try:
        with transaction.atomic():
            contract.save(force_insert=True)
    except IntegrityError as error:
        # PostgreSQL names the constraint; SQLite names the columns.
        text = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        text = text or str(error)
        if "contract_one_standing_per_award" in text or "contract.award_id" in text:
            raise _contract_exists() from error
        if "contract_number_unique" in text or "contract.number" in text:
            raise DomainError(
                _("The entity already has a contract with this number."),
                field="number",
                code="number_taken",
            ) from error
        raise


def _locked_contract(actor, contract: Contract, action: str | None) -> Contract:
    """The contract, locked, once the actor (staff of its entity) and its status allow
    `action` (a status change of CONTRACT_TRANSITIONS), or, for None, once it is active."""
    require_entity_staff(actor, contract.process)
    contract = (
        Contract.objects.select_for_update().select_related("process", "entity").get(pk=contract.pk)
    )
    refusal = contract_action_refusal(contract, action) if action else active_refusal(contract)
    if refusal is not None:
        raise refusal
    return contract


def _end(actor, contract: Contract, action: str, **fields) -> Contract:
    contract.status = CONTRACT_TRANSITIONS[action].target
    for name, value in fields.items():
        setattr(contract, name, value)
    contract.save()
    payload = _payload(
        contract,
        action=action,
        ended_on=contract.ended_on,
        reason=contract.end_reason,
        terminated_by=contract.terminated_by,
        final_amount=contract.final_amount,
    )
    audit.record(actor, f"contract.{action}", contract, payload)
    _event(EventKind.CONTRACT_ENDED, contract, payload)
    sme.refresh_on_commit(entity_id=contract.entity_id, years=[contract.signed_on.year])
    return contract


@transaction.atomic
def complete_contract(*, actor, contract: Contract, completed_on: date, final_amount) -> Contract:
    """The contract is completed (culminado): its date and final amount (Reglamento, art. 168)."""
    contract = _locked_contract(actor, contract, "complete")
    _check_date(completed_on, contract.process, "completed_on", contract.signed_on)
    final_amount = _check_amount(final_amount, "final_amount")
    return _end(actor, contract, "complete", ended_on=completed_on, final_amount=final_amount)


def clean_termination(contract: Contract, party, reason, terminated_on: date):
    """A termination's facts as stored, or the refusal of the first bad one: the party that
    terminates (entity or supplier), its reason (clean_reason, required), its date from the
    signing to today, within the fiscal year's window. The service and the OCDS import both
    check them here."""
    if party not in Contract.Party.values:
        raise DomainError(
            _("Say which party terminates the contract."), field="party", code="party_invalid"
        )
    reason = clean_reason(reason if isinstance(reason, str) else "")
    if not reason:
        raise DomainError(_("Give the reason."), field="reason", code="reason_required")
    _check_date(terminated_on, contract.process, "terminated_on", contract.signed_on)
    return party, reason, terminated_on


@transaction.atomic
def terminate_contract(
    *, actor, contract: Contract, party: str, reason: str, terminated_on: date
) -> Contract:
    """Resolution of the contract by either party, with its reason and date (Ley 30225,
    art. 36)."""
    contract = _locked_contract(actor, contract, "terminate")
    party, reason, terminated_on = clean_termination(contract, party, reason, terminated_on)
    return _end(
        actor,
        contract,
        "terminate",
        terminated_by=party,
        end_reason=reason,
        ended_on=terminated_on,
    )


@transaction.atomic
def annul_contract(*, actor, contract: Contract, reason: str) -> Contract:
    """The contract is declared void (Ley 30225, art. 44), with its reason. Its lot has no
    contract any more: a contracted process goes back to consented ("void_contract" in
    procurement.state_machine), the other lots' contracts standing as they are."""
    # The contract's lock takes its process's row too (_locked_contract), in the order every
    # contract service takes them: locking the process first could deadlock with them.
    contract = _locked_contract(actor, contract, "annul")
    process = contract.process
    reason = clean_reason(reason)
    if not reason:
        raise DomainError(_("Give the reason."), field="reason", code="reason_required")
    contract = _end(actor, contract, "annul", end_reason=reason, ended_on=clock.today())
    if process.status == ProcessStatus.CONTRACTED:
        record_status_change(
            actor=actor,
            process=process,
            action="void_contract",
            reason=f"{contract.number}: {reason}",
        )
    return contract


# --- amendments ------------------------------------------------------------------------------


def new_amendment(
    contract: Contract,
    kind: str,
    amount,
    reason: str,
    signed_on: date,
    *,
    created_by,
    created_at=None,
    source_ref: str = "",
) -> ContractAmendment:
    """Check and store an amendment of a locked, active contract (amend_contract, and the
    OCDS import with its source id and the release's moment): a kind, an amount within limits, a reason, a date from
    the signing to today within the fiscal year's window; a reduction never takes the amount
    to zero; its percentage of the original amount and the cumulative one of its kind, marked
    above AMENDMENT_MARK_PERCENT."""
    refusal = active_refusal(contract)
    if refusal is not None:
        raise refusal
    if kind not in ContractAmendment.Kind.values:
        raise DomainError(_("Choose the kind of amendment."), field="kind", code="kind_invalid")
    amount = _check_amount(amount, "amount")
    reason = clean_reason(reason)
    if not reason:
        raise DomainError(_("Give the reason."), field="reason", code="reason_required")
    _check_date(signed_on, contract.process, "signed_on", contract.signed_on)
    if kind == ContractAmendment.Kind.REDUCTION and amount >= current_amount(contract):
        raise DomainError(
            _("A reduction cannot take the contract's amount to zero."),
            field="amount",
            code="reduction_too_large",
        )
    percentage = _percent(amount, contract.amount)
    cumulative = cumulative_percentages(contract)[kind] + percentage
    return ContractAmendment.objects.create(
        contract=contract,
        kind=kind,
        amount=amount,
        percentage=percentage,
        cumulative_percentage=cumulative,
        above_limit=cumulative > AMENDMENT_MARK_PERCENT,
        reason=reason,
        signed_on=signed_on,
        created_at=created_at or clock.now(),
        created_by=created_by,
        source_ref=source_ref,
    )


@transaction.atomic
def amend_contract(
    *, actor, contract: Contract, kind: str, amount, reason: str, signed_on: date
) -> ContractAmendment:
    """An additional work or a reduction of an active contract (Ley 30225, art. 34), with
    its percentage of the original amount; the cumulative percentage of its kind above 25%
    is marked (it needs the prior authorisation the law asks for). A reduction cannot take
    the amount to zero."""
    contract = _locked_contract(actor, contract, None)
    amendment = new_amendment(contract, kind, amount, reason, signed_on, created_by=actor)
    cumulative, reason = amendment.cumulative_percentage, amendment.reason
    payload = _payload(
        contract,
        kind=kind,
        amendment_amount=amount,
        percentage=amendment.percentage,
        cumulative_percentage=cumulative,
        above_limit=amendment.above_limit,
    )
    audit.record(actor, "contract.amended", amendment, payload)
    # The notices say why, and what the contract amounts to now (process_notices).
    news = {**payload, "reason": reason, "current_amount": current_amount(contract)}
    _event(EventKind.CONTRACT_AMENDED, contract, news)
    sme.refresh_on_commit(entity_id=contract.entity_id, years=[contract.signed_on.year])
    red_flags.refresh_process(contract.process)
    return amendment


# --- after-sales evaluation ------------------------------------------------------------------


def evaluation_refusal(contract: Contract) -> DomainError | None:
    if contract.status not in (Contract.Status.COMPLETED, Contract.Status.TERMINATED):
        return DomainError(
            _("The supplier is evaluated once the contract is completed or terminated."),
            code="contract_not_ended",
        )
    if SupplierEvaluation.objects.filter(contract=contract).exists():
        return DomainError(_("This contract is already evaluated."), code="already_evaluated")
    return None


def clean_evaluation(on_time, quality, penalties, comment: str = ""):
    """An after-sales evaluation's facts as stored, or the refusal of the first bad one:
    delivered on time stated (yes or no), quality a whole number from 1 to 5, penalties an
    amount of zero or more, the comment as a reason is kept (clean_reason). The service and
    the OCDS import both check them here."""
    if not isinstance(on_time, bool):
        raise DomainError(
            _("Say whether it was delivered on time."), field="on_time", code="on_time_invalid"
        )
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 5:
        raise DomainError(
            _("Give the quality from 1 to 5."), field="quality", code="quality_invalid"
        )
    penalties = Decimal(penalties or 0)
    if not penalties.is_finite() or penalties < 0 or penalties > MAX_PROCESS_VALUE:
        raise DomainError(
            _("Give the penalties as an amount, zero or more."),
            field="penalties",
            code="penalties_invalid",
        )
    return on_time, quality, _money(penalties), clean_reason(comment, "comment")


@transaction.atomic
def evaluate_supplier(
    *, actor, contract: Contract, on_time: bool, quality: int, penalties, comment: str = ""
) -> SupplierEvaluation:
    """The entity's after-sales evaluation of the supplier, once, after the contract ended:
    delivered on time, quality from 1 to 5, penalties applied, a comment."""
    require_entity_staff(actor, contract.process)
    contract = (
        Contract.objects.select_for_update().select_related("process", "entity").get(pk=contract.pk)
    )
    refusal = evaluation_refusal(contract)
    if refusal is not None:
        raise refusal
    on_time, quality, penalties, comment = clean_evaluation(on_time, quality, penalties, comment)
    evaluation = SupplierEvaluation.objects.create(
        contract=contract,
        on_time=on_time,
        quality=quality,
        penalties=penalties,
        comment=comment,
        evaluated_at=clock.now(),
        evaluated_by=actor,
    )
    payload = _payload(contract, on_time=on_time, quality=quality, penalties=evaluation.penalties)
    audit.record(actor, "contract.evaluated", evaluation, payload)
    _event(EventKind.CONTRACT_EVALUATED, contract, payload)
    return evaluation
