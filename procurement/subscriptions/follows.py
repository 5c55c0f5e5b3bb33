"""Following a process (issue 13): any logged-in user, a plain account included, may follow a
published process and then hears of it as its participants do (process_notices). Following
twice or unfollowing a process one does not follow changes nothing."""

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import DomainError
from notifications.models import Follow

from ..models import ProcurementProcess


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
