"""The selection committee of a process (comité de selección, Ley 30225 art. 8 and its
regulation): at least two staff of the entity, one of them president, designated before the
call and named on the public page."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import require_entity_staff
from core import audit, clock
from core.errors import DomainError

from ..models import CommitteeMember, ProcessStatus, ProcurementProcess

MINIMUM_MEMBERS = 2


def entity_staff(entity):
    """The users who may sit on a committee of `entity`'s processes: its active staff."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__role=Role.ENTITY_STAFF,
            memberships__entity=entity,
        )
        .distinct()
        .order_by("full_name", "email")
    )


def committee_refusal(process: ProcurementProcess) -> DomainError | None:
    """Why the process cannot be called for lack of a committee, or None: the check behind
    publish_call and the staff page."""
    if process.committee_members.count() < MINIMUM_MEMBERS:
        return DomainError(
            _("Designate a committee of at least two staff members before publishing the call."),
            field="committee",
            code="committee_missing",
        )
    return None


def _snapshot(process) -> list[dict]:
    return [
        {"user": m.user_id, "role": m.role}
        for m in CommitteeMember.objects.filter(process=process).order_by("user_id")
    ]


@transaction.atomic
def designate_committee(
    *, actor, process: ProcurementProcess, members: list, president
) -> list[CommitteeMember]:
    """Designate (or, before the call, replace) the committee of a process: at least two
    distinct staff members of its entity, the president among them. After the call the
    committee is fixed."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    if process.status != ProcessStatus.DRAFT:
        raise DomainError(
            _("The committee is designated before the call; the call is already published."),
            field="members",
            code="after_call",
        )
    chosen = {user.pk: user for user in members if user is not None}
    if president is not None:
        chosen.setdefault(president.pk, president)
    if len(chosen) < MINIMUM_MEMBERS:
        raise DomainError(
            _("A committee needs at least two different members."),
            field="members",
            code="committee_too_small",
        )
    if president is None:
        raise DomainError(
            _("Choose the president of the committee."), field="president", code="no_president"
        )
    staff_ids = set(entity_staff(process.entity).values_list("pk", flat=True))
    outsiders = [user for pk, user in chosen.items() if pk not in staff_ids]
    if outsiders:
        raise DomainError(
            _("Only staff of the entity can sit on its committee: %(names)s.")
            % {"names": ", ".join(u.get_full_name() for u in outsiders)},
            field="members",
            code="not_entity_staff",
        )
    before = _snapshot(process)
    CommitteeMember.objects.filter(process=process).delete()
    now = clock.now()
    created = CommitteeMember.objects.bulk_create(
        CommitteeMember(
            process=process,
            user_id=pk,
            role=(
                CommitteeMember.Role.PRESIDENT
                if pk == president.pk
                else CommitteeMember.Role.MEMBER
            ),
            designated_at=now,
            designated_by=actor,
        )
        for pk in sorted(chosen)
    )
    audit.record(
        actor,
        "process.committee_designated",
        process,
        {"identifier": process.identifier, "before": before, "after": _snapshot(process)},
    )
    return created


def is_committee_member(user, process: ProcurementProcess) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and CommitteeMember.objects.filter(process=process, user=user).exists()
    )


def require_committee_member(actor, process: ProcurementProcess) -> None:
    """Only members of the process's committee who are still staff of its entity open,
    evaluate and award its bids: other staff, other entities' staff, suppliers, auditors and
    admins are refused."""
    require_entity_staff(actor, process)
    if not is_committee_member(actor, process):
        raise PermissionDenied(
            _("Only members of the process's selection committee act on its bids.")
        )
