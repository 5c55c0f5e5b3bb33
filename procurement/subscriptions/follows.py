"""Following a process (issue 13), and the private calendar of the processes one follows or
takes part in: any logged-in user, a plain account included, may follow a
published process and then hears of it as its participants do (process_notices). Following
twice or unfollowing a process one does not follow changes nothing."""

from django.db import models, transaction
from django.utils.translation import gettext as _

from core import secret_addresses
from core.codelists import Stage
from core.errors import DomainError
from notifications.models import CalendarToken, Follow

from ..calendar_rules import DEADLINE_STAGES
from ..models import ProcessStage, ProcurementProcess
from .services import signed_pk, unsigned_pk


def followable(process: ProcurementProcess) -> bool:
    """A process may be followed when the public may see it (drafts published in advance
    included): the same definition as its page."""
    return ProcurementProcess.objects.public().filter(pk=process.pk).exists()


@transaction.atomic
def follow_process(*, actor, process: ProcurementProcess) -> Follow:
    """Make `actor` follow `process`; idempotent (one row per user and process)."""
    if not getattr(actor, "is_authenticated", False):
        raise DomainError(_("Log in to follow a process."), code="login_required")
    if not followable(process):
        raise DomainError(_("This process cannot be followed."), code="not_public")
    follow, _created = Follow.objects.get_or_create(user=actor, process=process)
    return follow


@transaction.atomic
def unfollow_process(*, actor, process: ProcurementProcess) -> None:
    """Stop following; idempotent."""
    Follow.objects.owned_by(actor).filter(process=process).delete()


def is_following(user, process: ProcurementProcess) -> bool:
    return Follow.objects.owned_by(user).filter(process=process).exists()


def followed_processes(user):
    """The user's follows, newest first, with what the list shows of each process."""
    return Follow.objects.owned_by(user).select_related("process__entity")


UNFOLLOW_SALT = "notifications.unfollow"


def unfollow_token(follow: Follow) -> str:
    """A signed token that stops `follow` without logging in (the e-mails' one-click link)."""
    return signed_pk(UNFOLLOW_SALT, "f", follow.pk)


def follow_for_token(token: str) -> Follow | None:
    pk = unsigned_pk(UNFOLLOW_SALT, "f", token)
    return None if pk is None else Follow.objects.select_related("process").filter(pk=pk).first()


@transaction.atomic
def unfollow_by_token(*, follow: Follow) -> None:
    """The one-click link: the signed token names the follow, no login needed."""
    Follow.objects.filter(pk=follow.pk).delete()


# --- The private calendar address --------------------------------------------------------------

# The calendar shows the deadlines (registration, questions, bids, standstill: the appeals'
# window) and the opening.
CALENDAR_STAGES = DEADLINE_STAGES | {Stage.OPENING}


@transaction.atomic
def regenerate_calendar_token(*, actor) -> str:
    """Give `actor` a new secret calendar address (256 random bits) and return its secret,
    to be shown once: only its SHA-256 is kept (core.secret_addresses). The old address
    stops at once."""
    if not getattr(actor, "is_authenticated", False):
        raise DomainError(_("Log in to have a calendar address."), code="login_required")
    CalendarToken.objects.filter(user=actor).delete()
    secret, digest = secret_addresses.new_secret()
    CalendarToken.objects.create(user=actor, token_sha256=digest)
    return secret


def calendar_owner(token: str):
    """The active user whose calendar address `token` is, or None."""
    row = secret_addresses.row_for_secret(
        CalendarToken.objects.select_related("user").filter(user__is_active=True), token
    )
    return row.user if row else None


def calendar_stages(user):
    """The calendar rows of the published processes `user` follows or takes part in (as a
    user of a registered participant)."""
    from accounts.permissions import supplier_ids

    mine = models.Q(process__follows__user=user)
    suppliers = supplier_ids(user)
    if suppliers:
        mine |= models.Q(process__participants__supplier_id__in=suppliers)
    processes = ProcurementProcess.objects.published().filter(
        pk__in=ProcessStage.objects.filter(mine).values("process_id")
    )
    return (
        ProcessStage.objects.filter(process__in=processes, stage__in=CALENDAR_STAGES)
        .select_related("process__entity")
        .order_by("start", "process_id", "position")
    )
