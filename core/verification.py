"""Full verifications of the audit trail, recorded so that pages can show the last result.

A verification walks the whole hash chain (core.audit.verify_chain) and checks it against
every signed anchor (core.anchors.verify_against_anchors); on millions of entries that takes
minutes, so it runs from `verify_audit`, a daily task or an auditor's request (queued), never
on a page view. Each run is stored as an AuditVerification, broken or not.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import anchors
from .audit import verify_chain
from .models import AuditEntry, AuditVerification

MAX_PROBLEMS = 20


def run_verification(*, source: str, requested_by=None) -> AuditVerification:
    """Verify the chain and its anchors now and record the result."""
    started = timezone.now()
    chain = verify_chain()
    problems: list[str] = []
    anchored = None
    if chain.ok:
        anchored = anchors.verify_against_anchors()
        problems = anchored.problems
    else:
        problems = [
            f"entry #{chain.broken_sequence} (id {chain.broken_id}): {chain.reason}; "
            f"{chain.checked} entries before it are intact"
        ]
    return AuditVerification.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        source=source,
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
        ok=not problems,
        checked=chain.checked,
        broken_sequence=chain.broken_sequence,
        anchors=anchored.anchors if anchored else 0,
        latest_anchor_sequence=anchored.latest_sequence if anchored else None,
        problems="\n".join(problems[:MAX_PROBLEMS])
        + (f"\n... {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""),
    )


@dataclass(frozen=True)
class ChainState:
    """What the auditors' page says about the chain, read in a few indexed queries."""

    head_sequence: int
    latest_anchor: anchors.Anchor | None
    last_verification: AuditVerification | None
    # The last run of the scheduled task (celery beat), whatever ran since by hand.
    last_scheduled: AuditVerification | None = None

    @property
    def scheduled_is_late(self) -> bool:
        """Whether the scheduled check missed its turn: none has run within twice its
        interval (beat or its worker is down), so its result is older than it should be."""
        if self.last_scheduled is None:
            return True
        return timezone.now() - self.last_scheduled.finished_at > 2 * scheduled_interval()

    @property
    def latest_anchor_at(self) -> datetime | None:
        if self.latest_anchor is None:
            return None
        try:
            return datetime.fromisoformat(self.latest_anchor.statement["anchored_at"])
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def unverified_entries(self) -> int:
        """Entries written after the last verification (not covered by its result)."""
        verified = self.last_verification.checked if self.last_verification else 0
        return max(0, self.head_sequence - verified)

    @property
    def anchor_verified(self) -> bool | None:
        """Whether the chain up to the latest anchor verified in the last run: None when
        there is no anchor or no run covering it."""
        run, anchor = self.last_verification, self.latest_anchor
        if run is None or anchor is None:
            return None
        if not run.ok:
            return False
        return True if run.checked >= anchor.sequence else None


def scheduled_interval() -> timedelta:
    """How often celery beat runs the full verification (CELERY_BEAT_SCHEDULE)."""
    entry = settings.CELERY_BEAT_SCHEDULE.get("verify-audit-trail", {})
    schedule = entry.get("schedule", 24 * 3600)
    seconds = schedule if isinstance(schedule, int | float) else 24 * 3600
    return timedelta(seconds=seconds)


def chain_state() -> ChainState:
    """The chain's state from stored results only: its head, the latest anchor, the last
    verification of any source and the last scheduled one. Never walks the chain."""
    head = AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    return ChainState(
        head_sequence=head or 0,
        latest_anchor=anchors.latest(),
        last_verification=AuditVerification.objects.select_related("requested_by").first(),
        last_scheduled=AuditVerification.objects.filter(
            source=AuditVerification.Source.TASK
        ).first(),
    )
