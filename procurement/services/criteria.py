"""The evaluation criteria of a process and whether it is called as a whole or by items
(lots): set before the call with the bases, needed to publish the call, and after it changed
only by a public amendment with its reason while no bid can have been opened.

The rule (criteria_problem), by procedure type:

- Licitación Pública, Concurso Público, Adjudicación Simplificada and Selección de
  Consultores Individuales weigh technical and economic criteria, as their bases declare: at
  least one economic criterion, every weight positive and the weights adding up to exactly
  100.
- Subasta Inversa Electrónica and Comparación de Precios award the lowest admissible price:
  their table is a single economic criterion (the price) weighing 100.
- Contratación Directa awards its one invited supplier's offer with its legal cause, without
  an evaluation table: it takes no criteria.

Awarding by items (each item a lot awarded separately) needs at least two items.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit, clock
from core.codelists import ProcedureType, Stage
from core.errors import DomainError
from notifications import events
from notifications.models import Audience, EventKind

from ..calendar_rules import bid_deadline_passed
from ..models import (
    CriteriaAmendment,
    CriterionKind,
    EvaluationCriterion,
    ProcessStatus,
    ProcurementProcess,
)

LOWEST_PRICE_TYPES = frozenset({ProcedureType.SIE, ProcedureType.COMPRE})
NO_EVALUATION_TYPES = frozenset({ProcedureType.CD})
MAXIMUM_CRITERIA = 20
TOTAL = Decimal(100)


@dataclass(frozen=True)
class Criterion:
    """One row of an evaluation table, as staff enter it."""

    kind: str
    name: str
    weight: Decimal

    def as_data(self) -> dict:
        return {"kind": self.kind, "name": self.name, "weight": f"{self.weight:.2f}"}


def default_criteria(procedure_type: str) -> list[Criterion]:
    """A table that meets the rule for `procedure_type`: the price alone where the lowest
    price wins, none for direct contracting, otherwise technical 70 and price 30. The names
    are data written in Spanish, as the bases are."""
    if procedure_type in NO_EVALUATION_TYPES:
        return []
    if procedure_type in LOWEST_PRICE_TYPES:
        return [Criterion(CriterionKind.ECONOMIC, "Precio", TOTAL)]
    return [
        Criterion(CriterionKind.TECHNICAL, "Experiencia del postor", Decimal(70)),
        Criterion(CriterionKind.ECONOMIC, "Precio", Decimal(30)),
    ]


def rule_text(procedure_type: str) -> str:
    """The rule of criteria_problem for `procedure_type`, in words, for the staff page."""
    if procedure_type in NO_EVALUATION_TYPES:
        return _(
            "Direct contracting awards the invited supplier's offer without an evaluation "
            "table: leave the criteria empty."
        )
    if procedure_type in LOWEST_PRICE_TYPES:
        return _(
            "This procedure awards the lowest admissible price: one economic criterion, the "
            "price, weighing 100%."
        )
    return _(
        "Technical and economic criteria as the bases declare: at least one economic "
        "criterion (the price), every weight above 0, the weights adding up to exactly 100%."
    )


def _refused(message: str, code: str, field: str = "criteria") -> DomainError:
    return DomainError(message, field=field, code=code)


def criteria_problem(
    procedure_type: str, criteria: list[Criterion], *, award_by_items: bool = False, items: int = 1
) -> DomainError | None:
    """Why this evaluation table (and the choice of lots) does not meet the rule of the
    procedure type (see the module's docstring), or None: the one check behind set_criteria,
    amend_criteria, the call and the staff page."""
    if award_by_items and items < 2:
        return _refused(
            _("A process is awarded by items only when it has at least two items."),
            "lots_need_items",
            "award_by_items",
        )
    if procedure_type in NO_EVALUATION_TYPES:
        if criteria:
            return _refused(
                _("Direct contracting has no evaluation table: leave the criteria empty."),
                "no_evaluation",
            )
        return None
    if not criteria:
        return _refused(_("Give at least one evaluation criterion."), "no_criteria")
    if len(criteria) > MAXIMUM_CRITERIA:
        return _refused(
            _("Too many criteria; the limit is %(count)s.") % {"count": MAXIMUM_CRITERIA},
            "too_many_criteria",
        )
    names = [c.name.strip().casefold() for c in criteria]
    if any(not name for name in names):
        return _refused(_("Every criterion needs a name."), "name_required")
    if len(set(names)) < len(names):
        return _refused(_("Two criteria have the same name."), "name_repeated")
    if any(c.kind not in CriterionKind.values for c in criteria):
        return _refused(_("A criterion is technical or economic."), "kind_invalid")
    if any(c.weight is None or not (0 < c.weight <= TOTAL) for c in criteria):
        return _refused(
            _("Every weight is a percentage above 0 and up to 100."), "weight_not_positive"
        )
    if any(c.weight != c.weight.quantize(Decimal("0.01")) for c in criteria):
        return _refused(_("Weights have at most two decimals."), "weight_precision")
    if not any(c.kind == CriterionKind.ECONOMIC for c in criteria):
        return _refused(
            _("The evaluation needs at least one economic criterion (the price)."), "no_economic"
        )
    total = sum((c.weight for c in criteria), Decimal(0))
    if total != TOTAL:
        return _refused(
            _("The weights add up to %(total)s%%; they must add up to exactly 100%%.")
            % {"total": f"{total:.2f}"},
            "weights_total",
        )
    if procedure_type in LOWEST_PRICE_TYPES and (
        len(criteria) != 1 or criteria[0].kind != CriterionKind.ECONOMIC
    ):
        return _refused(
            _(
                "This procedure awards the lowest admissible price: its only criterion is the "
                "price, economic, weighing 100%."
            ),
            "lowest_price_only",
        )
    return None


def stored_criteria(process: ProcurementProcess) -> list[Criterion]:
    return [
        Criterion(c.kind, c.name, c.weight)
        for c in EvaluationCriterion.objects.filter(process=process).order_by("position")
    ]


def criteria_refusal(process: ProcurementProcess) -> DomainError | None:
    """Why the process cannot be called for lack of valid criteria, or None: the check
    behind publish_call and the staff page (as committee_refusal is for the committee)."""
    problem = criteria_problem(
        process.procedure_type,
        stored_criteria(process),
        award_by_items=process.award_by_items,
        items=process.items.count(),
    )
    if problem is None:
        return None
    return DomainError(
        _("Set valid evaluation criteria before publishing the call: %(problem)s")
        % {"problem": problem.message},
        field="criteria",
        code="criteria_missing",
    )


def amendment_refusal(process: ProcurementProcess) -> DomainError | None:
    """Why the criteria of a called process cannot be amended now, or None. Only while the
    process is called and its bid deadline (calendar_rules.bid_deadline_passed, by
    core.clock) has not passed: once bids may be opened, nobody who could see a price may
    still change how it is weighed."""
    if process.status == ProcessStatus.DRAFT:
        return _refused(
            _("Before the call the criteria are simply set, without an amendment."),
            "before_call",
        )
    if process.status != ProcessStatus.CALLED:
        return _refused(
            _("The criteria can be amended only while the process is called."),
            "not_called",
        )
    has_deadline = process.stages.filter(stage=Stage.BIDS).exists()
    if not has_deadline or bid_deadline_passed(process, clock.now()):
        return _refused(
            _("The bid deadline has passed: the criteria can no longer change."),
            "bids_closed",
        )
    return None


def _snapshot(award_by_items: bool, criteria: list[Criterion]) -> dict:
    return {"award_by_items": award_by_items, "criteria": [c.as_data() for c in criteria]}


def _checked(process, award_by_items, criteria) -> list[Criterion]:
    cleaned = [Criterion(c.kind, c.name.strip(), c.weight) for c in criteria]
    problem = criteria_problem(
        process.procedure_type,
        cleaned,
        award_by_items=award_by_items,
        items=process.items.count(),
    )
    if problem is not None:
        raise problem
    return cleaned


def _write(process, award_by_items: bool, criteria: list[Criterion]) -> None:
    EvaluationCriterion.objects.filter(process=process).delete()
    EvaluationCriterion.objects.bulk_create(
        EvaluationCriterion(
            process=process, kind=c.kind, name=c.name, weight=c.weight, position=position
        )
        for position, c in enumerate(criteria, start=1)
    )
    if process.award_by_items != award_by_items:
        process.award_by_items = award_by_items
        process.save(update_fields=["award_by_items"])


@transaction.atomic
def set_criteria(
    *, actor, process: ProcurementProcess, award_by_items: bool, criteria: list[Criterion]
) -> ProcurementProcess:
    """Set (or, before the call, replace) the evaluation criteria and whether the process is
    called as a whole or by items. They are published with the bases and fixed at the call
    (Ley 30225 reglamento: factores de evaluación in the bases); afterwards only
    amend_criteria changes them."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    if process.status != ProcessStatus.DRAFT:
        raise _refused(
            _("The call is published: change the criteria by an amendment with its reason."),
            "after_call",
        )
    cleaned = _checked(process, award_by_items, criteria)
    before = _snapshot(process.award_by_items, stored_criteria(process))
    after = _snapshot(award_by_items, cleaned)
    if before == after:
        return process
    _write(process, award_by_items, cleaned)
    audit.record(
        actor,
        "process.criteria_set",
        process,
        {"identifier": process.identifier, "before": before, "after": after},
    )
    return process


@transaction.atomic
def amend_criteria(
    *,
    actor,
    process: ProcurementProcess,
    award_by_items: bool,
    criteria: list[Criterion],
    reason: str,
) -> CriteriaAmendment:
    """Amend the criteria or lots of a called process, with its reason, before its bid
    deadline (amendment_refusal): a public, immutable record with the table before and after,
    an audit entry and a public event, so that every participant hears of it."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    refusal = amendment_refusal(process)
    if refusal is not None:
        raise refusal
    if not reason.strip():
        raise _refused(
            _("An amendment of the criteria after the call must state its reason."),
            "reason_required",
            "reason",
        )
    cleaned = _checked(process, award_by_items, criteria)
    before = _snapshot(process.award_by_items, stored_criteria(process))
    after = _snapshot(award_by_items, cleaned)
    if before == after:
        raise _refused(_("Nothing changed: the criteria are as published."), "no_change")
    _write(process, award_by_items, cleaned)
    amendment = CriteriaAmendment.objects.create(
        process=process,
        at=clock.now(),
        reason=reason.strip(),
        actor=actor,
        before=before,
        after=after,
    )
    payload = {
        "identifier": process.identifier,
        "reason": amendment.reason,
        "before": before,
        "after": after,
    }
    audit.record(actor, "process.criteria_amended", process, payload)
    events.record(
        EventKind.PROCESS_CRITERIA_AMENDED,
        process,
        entity=process.entity,
        audience=Audience.PUBLIC,
        payload=payload,
    )
    return amendment
