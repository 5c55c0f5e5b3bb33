"""Invitations: a supplier's users bring in colleagues (issue 8 item 19)."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from accounts.permissions import require_supplier_user
from core import audit, clock
from core.errors import DomainError
from notifications import events
from notifications.models import EventKind

from ..models import (
    Supplier,
    SupplierInvitation,
)
from .registry import _locked

INVITATION_VALIDITY = timedelta(days=7)
MAX_INVITATIONS_PER_DAY = 20
_INVITATION_SALT = "suppliers.invitation"


def invitation_token(invitation: SupplierInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=_INVITATION_SALT)


def invitation_url(invitation: SupplierInvitation) -> str:
    return settings.SITE_URL + reverse("suppliers:invitation", args=[invitation_token(invitation)])


def invite_user(*, actor, supplier: Supplier, email: str) -> SupplierInvitation:
    """A user of the supplier invites a colleague by e-mail; the link works once, for
    INVITATION_VALIDITY, and only for the owner of the address. While an admin reviews who
    owns the RUC, its users cannot invite anyone. Inviting the address again replaces the
    earlier link."""
    require_supplier_user(actor, supplier)
    email = email.strip().lower()
    now = clock.now()
    with transaction.atomic():
        supplier = _locked(supplier)
        if supplier.awaiting_confirmation or supplier.ownership_provisional:
            raise DomainError(
                _(
                    "You can invite colleagues once the portal's administrators approve "
                    "your claim on this RUC."
                ),
                code="ownership_under_review",
            )
        if supplier.memberships.filter(user__email__iexact=email).exists():
            raise DomainError(
                _("That address is already a user of this supplier."),
                code="already_member",
                field="email",
            )
        if (
            supplier.invitations.filter(created_at__gte=now - timedelta(days=1)).count()
            >= MAX_INVITATIONS_PER_DAY
        ):
            raise DomainError(
                _("Too many invitations today: try again tomorrow."),
                code="too_many_invitations",
            )
        for earlier in supplier.invitations.select_for_update().filter(
            email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ):
            _revoke(actor, earlier, reason="replaced")
        invitation = SupplierInvitation.objects.create(
            supplier=supplier,
            email=email,
            nonce=secrets.token_urlsafe(32),
            invited_by=actor,
            created_at=now,
            expires_at=now + INVITATION_VALIDITY,
        )
        audit.record(
            actor,
            "supplier.invitation_sent",
            supplier,
            {"invitation": invitation.pk, "email": email},
        )
        # The e-mail goes through the outbox: sent if and only if the invitation commits.
        events.record_message(EventKind.SUPPLIER_INVITATION, invitation)
    return invitation


def _revoke(actor, invitation: SupplierInvitation, *, reason: str) -> None:
    invitation.revoked_at = clock.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        actor,
        "supplier.invitation_revoked",
        invitation.supplier,
        {"invitation": invitation.pk, "email": invitation.email, "reason": reason},
    )


def revoke_invitation(*, actor, invitation: SupplierInvitation) -> None:
    """A user of the supplier withdraws an invitation not yet accepted."""
    require_supplier_user(actor, invitation.supplier)
    with transaction.atomic():
        invitation = SupplierInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at or invitation.revoked_at:
            raise DomainError(
                _("This invitation was already used or withdrawn."), code="invitation_closed"
            )
        _revoke(actor, invitation, reason="withdrawn")


def open_invitation(token: str, *, lock: bool = False) -> SupplierInvitation:
    """The invitation a link names, while it can still be accepted."""
    try:
        payload = signing.loads(
            token, salt=_INVITATION_SALT, max_age=INVITATION_VALIDITY.total_seconds()
        )
    except signing.SignatureExpired:
        payload = None
        expired = True
    except signing.BadSignature:
        payload, expired = None, False
    else:
        expired = False
    if expired:
        raise DomainError(_("This invitation has expired."), code="invitation_expired")
    invalid = DomainError(_("This invitation link is not valid."), code="invitation_invalid")
    if not isinstance(payload, dict) or not isinstance(payload.get("i"), int):
        raise invalid
    invitations = SupplierInvitation.objects.select_related("supplier")
    if lock:
        invitations = invitations.select_for_update()
    invitation = invitations.filter(pk=payload["i"]).first()
    if invitation is None or not constant_time_compare(invitation.nonce, str(payload.get("n"))):
        raise invalid
    if invitation.accepted_at is not None:
        raise DomainError(_("This invitation was already used."), code="invitation_used")
    if invitation.revoked_at is not None:
        raise DomainError(_("This invitation was withdrawn."), code="invitation_revoked")
    if invitation.expires_at <= clock.now():
        raise DomainError(_("This invitation has expired."), code="invitation_expired")
    return invitation


def _join(invitation: SupplierInvitation, user, *, new_account: bool):
    from accounts.models import Membership, Role

    if invitation.supplier.memberships.filter(user=user).exists():
        raise DomainError(_("You are already a user of this supplier."), code="already_member")
    membership = Membership.objects.create(
        user=user, role=Role.SUPPLIER_USER, supplier=invitation.supplier
    )
    invitation.accepted_at, invitation.accepted_by = clock.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(
        user,
        "supplier.invitation_accepted",
        invitation.supplier,
        {"invitation": invitation.pk, "email": user.email, "new_account": new_account},
    )
    return membership


def accept_invitation(*, token: str, user):
    """An existing account joins the supplier: only when logged in as the invited address,
    confirmed; an invitation never hands over an account to whoever holds the link."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise DomainError(_("Log in as the invited address to accept."), code="login_required")
    with transaction.atomic():
        invitation = open_invitation(token, lock=True)
        if user.email.lower() != invitation.email:
            raise DomainError(
                _("This invitation is for another e-mail address."),
                code="invitation_for_another_address",
            )
        if user.email_verified_at is None:
            raise DomainError(_("Confirm your e-mail address first."), code="email_unconfirmed")
        return _join(invitation, user, new_account=False)


def accept_invitation_with_new_account(*, token: str, full_name: str, password: str):
    """The invited address has no account yet: the link proves the mailbox, so the new
    account is confirmed and joins the supplier. An address that has an account must log in
    to accept (the invitation never sets its password)."""
    from accounts.models import User

    try:
        with transaction.atomic():
            invitation = open_invitation(token, lock=True)
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise DomainError(
                    _("This address already has an account: log in to accept."),
                    code="account_exists",
                )
            user = User(
                email=invitation.email,
                full_name=full_name.strip(),
                is_active=True,
                email_verified_at=clock.now(),
            )
            user.set_password(password)
            user.save()
            audit.record(user, "account.created_by_invitation", user, {"invitation": invitation.pk})
            _join(invitation, user, new_account=True)
    except IntegrityError:
        raise DomainError(
            _("This address already has an account: log in to accept."), code="account_exists"
        ) from None
    return user
