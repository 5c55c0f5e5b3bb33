"""Disputes: who owns a RUC (issue 7 item 8)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from core import audit, clock
from core.errors import DomainError

from ..models import (
    OwnershipDispute,
    Supplier,
)
from .invitations import _revoke
from .registry import _locked, _require_admin

MAX_OPEN_DISPUTES_PER_USER = 3


def may_dispute(user, supplier: Supplier) -> bool:
    """Whether the public record offers the dispute form: the supplier has users and the
    visitor is not one of them (anonymous visitors are asked to log in; the form itself
    applies require_may_dispute)."""
    if supplier.awaiting_confirmation or not supplier.memberships.exists():
        return False
    return not (
        getattr(user, "is_authenticated", False) and supplier.memberships.filter(user=user).exists()
    )


def require_may_dispute(actor, supplier: Supplier) -> None:
    """Who may dispute a claim on a RUC: a logged-in user with a confirmed e-mail who is not
    a user of the supplier, against a public supplier that has users, with at most one
    waiting dispute of that claim and MAX_OPEN_DISPUTES_PER_USER in all. The page asks the
    same before offering its form."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("Log in to dispute a claim."))
    if actor.email_verified_at is None:
        raise DomainError(_("Confirm your e-mail address first."), code="email_unconfirmed")
    if supplier.awaiting_confirmation or not supplier.memberships.exists():
        raise DomainError(
            _("Nobody claims this RUC on the portal: register it or ask the administrators."),
            code="no_claim",
        )
    if supplier.memberships.filter(user=actor).exists():
        raise DomainError(_("You are already a user of this supplier."), code="already_member")
    open_disputes = OwnershipDispute.objects.filter(
        disputer=actor, status=OwnershipDispute.Status.OPEN
    )
    if open_disputes.filter(supplier=supplier).exists():
        raise DomainError(
            _("Your dispute of this claim is waiting for the administrators."),
            code="dispute_pending",
        )
    if open_disputes.count() >= MAX_OPEN_DISPUTES_PER_USER:
        raise DomainError(
            _("You have too many disputes waiting for the administrators."),
            code="too_many_disputes",
        )


def dispute_ownership(*, actor, supplier: Supplier, statement: str) -> OwnershipDispute:
    """A user states why a RUC claimed by the supplier's users is theirs (rules in
    require_may_dispute). The dispute waits in the admins' review queue; nothing changes
    until they decide it, and meanwhile the claim cannot be approved."""
    statement = statement.strip()
    if not statement:
        raise DomainError(
            _("Say why the RUC is yours."), code="statement_required", field="statement"
        )
    with transaction.atomic():
        supplier = _locked(supplier)
        require_may_dispute(actor, supplier)
        dispute = OwnershipDispute.objects.create(
            supplier=supplier, disputer=actor, statement=statement
        )
        audit.record(
            actor,
            "supplier.ownership_disputed",
            supplier,
            {"dispute": dispute.pk, "disputer": actor.email},
        )
    return dispute


def _locked_open_dispute(dispute: OwnershipDispute) -> OwnershipDispute:
    dispute = (
        OwnershipDispute.objects.select_for_update()
        .select_related("supplier", "disputer")
        .get(pk=dispute.pk)
    )
    if dispute.status != OwnershipDispute.Status.OPEN:
        raise DomainError(_("This dispute was already decided."), code="dispute_decided")
    return dispute


def keep_ownership_claim(*, actor, dispute: OwnershipDispute) -> OwnershipDispute:
    """An admin decides a dispute for the current claimants: nothing else changes."""
    _require_admin(actor)
    with transaction.atomic():
        dispute = _locked_open_dispute(dispute)
        dispute.status = OwnershipDispute.Status.CLAIM_KEPT
        dispute.decided_by, dispute.decided_at = actor, clock.now()
        dispute.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            actor,
            "supplier.dispute_claim_kept",
            dispute.supplier,
            {"dispute": dispute.pk, "disputer": dispute.disputer.email},
        )
    return dispute


def transfer_ownership(*, actor, dispute: OwnershipDispute) -> OwnershipDispute:
    """An admin decides a dispute for the disputer: every user of the supplier loses its
    membership, open invitations are withdrawn, and the disputer becomes its user, with
    the ownership approved (the admin has just reviewed it)."""
    from accounts.models import Membership, Role

    _require_admin(actor)
    with transaction.atomic():
        dispute = _locked_open_dispute(dispute)
        supplier = _locked(dispute.supplier)
        disputer = dispute.disputer
        if not disputer.is_active or disputer.email_verified_at is None:
            raise DomainError(
                _("The disputer's account is not active."), code="disputer_unavailable"
            )
        members = Membership.objects.filter(supplier=supplier, role=Role.SUPPLIER_USER)
        removed = sorted(members.values_list("user__email", flat=True))
        members.delete()
        for invitation in supplier.invitations.select_for_update().filter(
            accepted_at__isnull=True, revoked_at__isnull=True
        ):
            _revoke(actor, invitation, reason="ownership_transferred")
        Membership.objects.create(user=disputer, role=Role.SUPPLIER_USER, supplier=supplier)
        supplier.ownership_provisional = False
        supplier.save(update_fields=["ownership_provisional"])
        dispute.status = OwnershipDispute.Status.TRANSFERRED
        dispute.decided_by, dispute.decided_at = actor, clock.now()
        dispute.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            actor,
            "supplier.ownership_transferred",
            supplier,
            {"dispute": dispute.pk, "removed_users": removed, "new_user": disputer.email},
        )
    return dispute
