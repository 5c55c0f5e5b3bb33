""" "Can I take part?": the plain answer the process page gives a supplier, and the conditions
it shows everyone else.

The answer never decides anything itself: whether a supplier may register or bid is what
participation.registration_refusals and bids.bid_refusal say (the functions the services
refuse with), so the page and the services cannot disagree. This module only adds the dates
and the next step for each reason, by its code.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import clock
from core.codelists import Stage
from core.errors import DomainError

from . import sealing
from .calendar_rules import deadline_text
from .models import ProcessStatus, ProcurementProcess
from .services import bids
from .services.participation import registration_refusals, registration_window, supplier_refusals


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    next_step: str = ""
    url: str = ""
    link: str = ""


@dataclass(frozen=True)
class Answer:
    """For one supplier: may it take its next step (`action`: "register", "bid" or
    "replace"), and until when; or every reason why not, each with what to do next."""

    supplier: object
    action: str | None
    until: str = ""
    reasons: list[Reason] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return self.action is not None


def _next_step(error: DomainError, supplier) -> Reason:
    """The reason, with what the supplier can do about it (by the refusal's code)."""
    code = error.code or ""
    step, url, link = "", "", ""
    if code == "registry_not_in_force":
        step = _("Ask for the renewal of your registry; once it is in force you can take part.")
        url = reverse("suppliers:request_renewal", args=[supplier.ruc])
        link = _("Renew the registry")
    elif code == "sme_only":
        step = _(
            "If your sales or workers changed, declare them: the classification follows your "
            "declared sales. Otherwise, look for processes open to every company."
        )
        url = reverse("suppliers:declare_size", args=[supplier.ruc])
        link = _("Declare sales and workers")
    elif code == "ownership_under_review":
        step = _("Wait for the administrators' review of who owns the RUC.")
    elif code in {"registration_not_open", "bids_not_open"}:
        step = _("Come back on that day.")
    elif code in {"registration_closed", "late", "not_called"}:
        step = _("Subscribe to hear of the next processes like this one the day they are called.")
        url = reverse("subscriptions:subscription_list")
        link = _("My subscriptions")
    return Reason(code, error.message, step, url, link)


def _with_rest(first: DomainError, rest: list[DomainError]) -> list[DomainError]:
    return [first] + [r for r in rest if r.code != first.code]


def answer(process: ProcurementProcess, supplier, *, registered: bool, bid=None) -> Answer:
    """The answer for `supplier` on the process page: as participant-to-be (registered=False)
    the registration rule decides; as registered participant the bid rule does (`bid` is its
    own bid, if any: then the next step is to replace or withdraw it)."""
    if not registered:
        reasons = registration_refusals(process, supplier)
        if reasons:
            return Answer(supplier, None, reasons=[_next_step(r, supplier) for r in reasons])
        _opens, closes = registration_window(process)
        return Answer(supplier, "register", deadline_text(closes) if closes else "")
    refusal = bids.bid_refusal(process, supplier)
    if refusal is not None:
        day = timezone.localdate(clock.now())
        reasons = _with_rest(refusal, supplier_refusals(process, supplier, day))
        return Answer(supplier, None, reasons=[_next_step(r, supplier) for r in reasons])
    stage = process.stages.filter(stage=Stage.BIDS).first()
    return Answer(supplier, "replace" if bid else "bid", deadline_text(stage) if stage else "")


@dataclass(frozen=True)
class MemberAnswer:
    """For one company named as consortium member: may it take part with the lead, or why
    not."""

    member: object
    reasons: list[Reason] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.reasons


# What the lead may read of a member that has not confirmed it takes part in its consortium:
# what the member's public supplier record shows (registry in force, sanctions, size class).
# Anything else (an ownership review, say) only once the member confirmed, as the bid says.
PUBLIC_MEMBER_REASONS = frozenset({"registry_not_in_force", "debarred", "sme_only"})


def consortium_answers(process: ProcurementProcess, lead, members) -> list[MemberAnswer]:
    """The answer for each company `lead` would name as member of its consortium, today, in
    the order the bid service refuses: first whether the member confirmed it takes part
    (bids.member_consent_refusal), then every reason the bid would be refused for that
    member (bids.member_reasons), limited to PUBLIC_MEMBER_REASONS until it confirmed. A
    member's own next steps are its own to take, so none is linked here."""
    day = timezone.localdate(clock.now())
    answers = []
    with sealing.keys_remembered():  # the process key read once for every member
        for member in members:
            reasons = bids.member_reasons(process, lead, member, day)
            unconfirmed = bids.member_consent_refusal(process, lead, member)
            if unconfirmed is not None:
                reasons = [unconfirmed] + [r for r in reasons if r.code in PUBLIC_MEMBER_REASONS]
            answers.append(MemberAnswer(member, [Reason(r.code, r.message) for r in reasons]))
    return answers


@dataclass(frozen=True)
class Conditions:
    """What anyone may read: who can take part and until when (or, once a window closed,
    when it closed)."""

    sme_only: bool
    registration_until: str
    bids_until: str
    registration_closed: str = ""
    bids_closed: str = ""


def conditions(process: ProcurementProcess) -> Conditions | None:
    """The conditions to take part, while the process is called (None otherwise). A window
    that has closed (by core.clock, as the services judge it) is said to be closed, with
    when it closed, instead of "until"."""
    if process.status != ProcessStatus.CALLED:
        return None
    now = clock.now()
    _opens, closes = registration_window(process)
    stage = process.stages.filter(stage=Stage.BIDS).first()
    registration_closed = bool(closes and closes.has_closed(now))
    bids_closed = bool(stage and stage.has_closed(now))
    return Conditions(
        sme_only=process.sme_only,
        registration_until=deadline_text(closes) if closes and not registration_closed else "",
        bids_until=deadline_text(stage) if stage and not bids_closed else "",
        registration_closed=deadline_text(closes) if registration_closed else "",
        bids_closed=deadline_text(stage) if bids_closed else "",
    )


def no_longer_open(process: ProcurementProcess) -> str:
    """The plain answer once a process has left "called" (suspended, awarded, deserted,
    cancelled...): it takes no participants nor bids now; "" for a called process or a
    draft."""
    if process.status in (ProcessStatus.CALLED, ProcessStatus.DRAFT):
        return ""
    if process.status == ProcessStatus.SUSPENDED:
        return _(
            "This process is suspended: it receives no participants nor bids while the "
            "suspension lasts."
        )
    return _("This process no longer receives participants nor bids (status: %(status)s).") % {
        "status": str(process.get_status_display()).lower()
    }
