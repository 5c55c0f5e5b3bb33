"""The state machine of a selection process: the one table of allowed transitions.

Pages, admin actions, the API and tasks all go through procurement.services.processes.transition,
which asks here whether an action is allowed from the current status and when.
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
            "award",
            _("Award (buena pro)"),
            frozenset({S.CALLED}),
            S.AWARDED,
            not_before=(Stage.AWARD, "start"),
        ),
        Transition(
            "consent",
            _("Consent the award"),
            frozenset({S.AWARDED}),
            S.CONSENTED,
            not_before=(Stage.STANDSTILL, "end"),
        ),  # fmt: skip
        Transition("contract", _("Record the contract"), frozenset({S.CONSENTED}), S.CONTRACTED),
        Transition(
            "desert",
            _("Declare deserted"),
            frozenset({S.CALLED}),
            S.DESERTED,
            needs_reason=True,
            not_before=(Stage.BIDS, "end"),
        ),  # fmt: skip
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
        ),  # fmt: skip
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
    return [t for t in TRANSITIONS.values() if is_allowed(t, process)]


def target_status(transition: Transition, process) -> str:
    return transition.target or process.suspended_from
