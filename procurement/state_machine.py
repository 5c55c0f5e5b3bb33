"""The state machine of a selection process: the one table of allowed transitions.

Each action has its own service (procurement.services.processes: publish_call,
suspend_for_appeal, resume, annul, restart, cancel), which asks here whether the action is
allowed from the current status and when, and where it leads. Actions marked `manual=False`
follow from a record, never from a button: an award from an evaluation, consent from the end
of the standstill, a contract from a Contract record (and back to consented when a contract
is declared void), "desierto" from no valid bid left.
A founded appeal sends the process back to evaluation ("reevaluate",
procurement.services.appeals). Award, desert and consent are driven by procurement.services.awards (from the published
evaluation table, the lots without admissible bids or without bids, and the end of the
standstill); the contract comes with its record.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from core.codelists import Stage

from .models import ProcessStatus as S


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: back to the status the process was suspended from
    needs_reason: bool = False
    # Not allowed before this calendar edge: (stage, "start" | "end"); skipped when the
    # procedure type has no such stage.
    not_before: tuple[str, str] | None = None
    # For actions from 'suspendido': refused when the process was suspended from these.
    refused_if_suspended_from: frozenset[str] = frozenset()
    # False: driven by records, not offered as buttons (see the module docstring).
    manual: bool = True


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        Transition("publish", _("Publish the call"), frozenset({S.DRAFT}), S.CALLED),
        Transition(
            "suspend",
            _("Suspend (appeal filed)"),
            frozenset({S.CALLED, S.AWARDED}),
            S.SUSPENDED,
            needs_reason=True,
        ),
        Transition(
            "resume",
            _("Resume (appeal resolved)"),
            frozenset({S.SUSPENDED}),
            None,
            needs_reason=True,
        ),
        Transition(
            "reevaluate",
            _("Back to evaluation (founded appeal)"),
            frozenset({S.SUSPENDED}),
            S.CALLED,
            needs_reason=True,
            refused_if_suspended_from=frozenset({S.CALLED, S.CONSENTED}),
            manual=False,
        ),
        Transition(
            "award",
            _("Award (buena pro)"),
            frozenset({S.CALLED}),
            S.AWARDED,
            not_before=(Stage.AWARD, "start"),
            manual=False,
        ),
        Transition(
            "consent",
            _("Consent the award"),
            frozenset({S.AWARDED}),
            S.CONSENTED,
            not_before=(Stage.STANDSTILL, "end"),
            manual=False,
        ),
        Transition(
            "contract",
            _("Record the contract"),
            frozenset({S.CONSENTED}),
            S.CONTRACTED,
            manual=False,
        ),
        # A contract declared void (Ley 30225 art. 44) undoes "contratado": the lot's award
        # stays consented and its contract is missing again, as before the signing. From
        # here the entity may offer the lot to the next ranked bidder (Reglamento art. 167)
        # or declare the process void and call it again from an earlier stage ("annul").
        Transition(
            "void_contract",
            _("Contract declared void: back to consented"),
            frozenset({S.CONTRACTED}),
            S.CONSENTED,
            needs_reason=True,
            manual=False,
        ),
        Transition(
            "desert",
            _("Declare deserted"),
            frozenset({S.CALLED}),
            S.DESERTED,
            needs_reason=True,
            not_before=(Stage.BIDS, "end"),
            manual=False,
        ),
        Transition(
            "cancel",
            _("Cancel"),
            frozenset({S.CALLED, S.SUSPENDED}),
            S.CANCELLED,
            needs_reason=True,
            # Cancelling is only possible before the award, also while an appeal suspends it.
            refused_if_suspended_from=frozenset({S.AWARDED, S.CONSENTED}),
        ),
        Transition(
            "annul",
            _("Declare void"),
            frozenset({S.CALLED, S.SUSPENDED, S.AWARDED, S.CONSENTED}),
            S.VOID,
            needs_reason=True,
        ),
        Transition(
            "restart", _("Restart from the stage it returns to"), frozenset({S.VOID}), S.CALLED
        ),
    ]
}

FINAL_STATUSES = frozenset({S.CONTRACTED, S.DESERTED, S.CANCELLED})
# A plan item is taken while a process holding it can still lead to a contract.
RELEASES_PLAN_ITEMS = frozenset({S.CANCELLED, S.DESERTED})
HOLDS_PLAN_ITEMS = frozenset(s for s in S.values if s not in RELEASES_PLAN_ITEMS)


def is_allowed(transition: Transition, process) -> bool:
    if process.status not in transition.sources:
        return False
    return not (
        process.status == S.SUSPENDED
        and process.suspended_from in transition.refused_if_suspended_from
    )


def allowed_actions(process) -> list[Transition]:
    """The actions a person may take on the process now, as far as its status goes (the
    calendar and the action's own conditions are asked of the service's refusal function)."""
    return [t for t in TRANSITIONS.values() if t.manual and is_allowed(t, process)]


def target_status(transition: Transition, process) -> str:
    return transition.target or process.suspended_from
