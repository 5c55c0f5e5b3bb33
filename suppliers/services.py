"""Everything that changes the supplier registry."""

import secrets
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from accounts.permissions import is_admin, require_supplier_user
from core import audit
from core.errors import DomainError
from core.models import FiscalYear, round_uit

from .models import (
    OwnershipDispute,
    RenewalRequest,
    SizeClassification,
    Supplier,
    SupplierInvitation,
)

# How long a registry stays in force after a registration is confirmed or a renewal approved.
REGISTRY_TERM = timedelta(days=365)


def classify_supplier(
    supplier: Supplier,
    *,
    sales_year: int,
    annual_sales: Decimal,
    workers: int | None,
    actor=None,
    source: str = SizeClassification.Source.DECLARATION,
) -> SizeClassification:
    """Classify the supplier's size from declared annual sales (converted to UIT of the
    sales year) and workers, under the SME rule in force for that year (Law 28015 art. 3 by
    default, Law 30056 where configured). Earlier classifications stay as history."""
    if annual_sales is None or annual_sales < 0:
        raise DomainError(_("Annual sales must be zero or more."), field="annual_sales")
    if workers is not None and workers < 0:
        raise DomainError(_("Workers must be zero or more."), field="workers")
    try:
        year = FiscalYear.objects.select_related("sme_rule").get(pk=sales_year)
    except FiscalYear.DoesNotExist:
        raise DomainError(
            _("There are no parameters (UIT, SME rule) for year %(year)s.") % {"year": sales_year},
            field="sales_year",
        ) from None
    try:
        return _write_classification(supplier, year, annual_sales, workers, actor, source)
    except IntegrityError:
        # classification_one_declaration_per_year: a supplier declares each year once.
        raise DomainError(
            _("The sales of that year are already declared."),
            code="already_declared",
            field="sales_year",
        ) from None


def _write_classification(supplier, year, annual_sales, workers, actor, source):
    rule = year.sme_rule
    sales_uit = year.to_uit(annual_sales)
    with transaction.atomic():
        classification = SizeClassification.objects.create(
            supplier=supplier,
            rule=rule,
            sales_year=year,
            annual_sales=annual_sales,
            workers=workers,
            sales_uit=round_uit(sales_uit),
            size_class=rule.classify(sales_uit, workers),
            source=source,
            classified_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        Supplier.objects.filter(pk=supplier.pk).update(
            size_class=classification.size_class, size_rule=rule
        )
        supplier.size_class, supplier.size_rule = classification.size_class, rule
        audit.record(
            actor,
            "supplier.classified",
            supplier,
            {
                "rule": rule.code,
                "sales_year": year.year,
                "annual_sales": annual_sales,
                "workers": workers,
                "sales_uit": round_uit(sales_uit),
                "size_class": classification.size_class,
            },
        )
    return classification


def renew_registry(supplier: Supplier, valid_until: date, *, actor=None) -> None:
    """Set the registry validity date (an expired registration cannot bid)."""
    with transaction.atomic():
        previous = supplier.registry_valid_until
        supplier.registry_valid_until = valid_until
        supplier.save(update_fields=["registry_valid_until"])
        audit.record(
            actor,
            "supplier.registry_renewed",
            supplier,
            {"previous": previous, "valid_until": valid_until},
        )


def _claim_lapse_age() -> timedelta:
    return timedelta(seconds=settings.EMAIL_VERIFICATION_MAX_AGE)


def lapsed_registration_claims():
    """Accounts that are nothing but a lapsed self-registration claim: made by the public
    registration form, never confirmed, never logged in, inactive, older than the
    verification link, and with no membership other than the ones their unconfirmed
    registrations created. Only these may be replaced by a new registration; every other
    account is never touched by registration."""
    from accounts.models import Membership, Role, User

    other_memberships = Membership.objects.filter(user=OuterRef("pk")).exclude(
        role=Role.SUPPLIER_USER, supplier__awaiting_confirmation=True
    )
    return User.objects.filter(
        self_registered=True,
        email_verified_at__isnull=True,
        last_login__isnull=True,
        is_active=False,
        is_staff=False,
        is_superuser=False,
        date_joined__lt=timezone.now() - _claim_lapse_age(),
    ).exclude(Exists(other_memberships))


def _check_ruc_claimable(supplier: Supplier) -> None:
    """A RUC in the registry can be registered again only when it is an unconfirmed claim
    whose every claimant has lapsed; a RUC is public, so saying it is taken reveals nothing."""
    claimants = supplier.memberships.all()
    if not supplier.awaiting_confirmation:
        if not claimants.exists():
            raise DomainError(
                _(
                    "This RUC is in the registry without portal users: ask the portal's "
                    "administrators for access."
                ),
                code="ruc_without_users",
                field="ruc",
            )
        raise DomainError(
            _("This RUC is already in the registry. Ask its users to give you access."),
            code="ruc_taken",
            field="ruc",
        )
    pending = claimants.exclude(user__in=lapsed_registration_claims())
    newest = pending.order_by("-user__date_joined").values_list("user__date_joined", flat=True)
    if newest:
        lapses_at = timezone.localtime(newest[0] + _claim_lapse_age())
        raise DomainError(
            _(
                "A registration of this RUC is waiting for its e-mail to be confirmed. If it is "
                "not yours, you can register the RUC from %(moment)s, when that unconfirmed "
                "claim lapses, or ask the portal's administrators."
            )
            % {"moment": formats.date_format(lapses_at, "SHORT_DATETIME_FORMAT")},
            code="ruc_claim_pending",
            field="ruc",
        )


def _release_lapsed_claim(supplier: Supplier) -> None:
    """Remove a lapsed, never-confirmed registration of a RUC (it was never public)."""
    audit.record(
        None,
        "supplier.claim_lapsed",
        supplier,
        {
            "ruc": supplier.ruc,
            "claimants": sorted(supplier.memberships.values_list("user__email", flat=True)),
        },
    )
    supplier.delete()


def register_supplier(
    *,
    ruc: str,
    legal_name: str,
    domicile,
    email: str,
    password: str,
    full_name: str = "",
    sales_year: int,
    annual_sales: Decimal,
    workers: int | None,
) -> Supplier | None:
    """Self-registration: the supplier enters the registry with its declared size and its
    first user. Nothing is public or in force until the e-mail is confirmed: the user cannot
    log in, the supplier is not listed and its registry has no validity (it cannot bid). A
    claim never confirmed lapses with its link, so the rightful owner can register again.

    Registration never touches an existing account: when the e-mail already has one (other
    than a lapsed claim), nothing is written, its owner is told by e-mail, and None is
    returned, so the caller answers exactly as for a new registration."""
    from accounts.models import Membership, Role, User
    from accounts.services import send_registration_attempt_notice, send_verification_email

    email = email.strip().lower()
    try:
        with transaction.atomic():
            supplier = Supplier.objects.select_for_update().filter(ruc=ruc).first()
            if supplier is not None:
                _check_ruc_claimable(supplier)
            user = User.objects.select_for_update().filter(email__iexact=email).first()
            if user is not None and not lapsed_registration_claims().filter(pk=user.pk).exists():
                if user.self_registered and user.email_verified_at is None and not user.is_active:
                    send_verification_email(user)  # its own registration, still to confirm
                else:
                    send_registration_attempt_notice(user)
                return None
            if supplier is not None:
                _release_lapsed_claim(supplier)
            if user is not None:
                for earlier in Supplier.objects.select_for_update().filter(
                    memberships__user=user, awaiting_confirmation=True
                ):
                    if not earlier.memberships.exclude(user=user).exists():
                        _release_lapsed_claim(earlier)
                user.memberships.all().delete()
            else:
                user = User(email=email, self_registered=True)
            user.full_name, user.is_active, user.date_joined = full_name, False, timezone.now()
            user.set_password(password)
            user.save()
            supplier = Supplier.objects.create(
                ruc=ruc,
                legal_name=legal_name.strip(),
                domicile=domicile,
                email=email,
                awaiting_confirmation=True,
                ownership_provisional=True,
            )
            Membership.objects.create(user=user, role=Role.SUPPLIER_USER, supplier=supplier)
            audit.record(
                user,
                "supplier.registered",
                supplier,
                {"ruc": ruc, "legal_name": supplier.legal_name},
            )
            classify_supplier(
                supplier,
                sales_year=sales_year,
                annual_sales=annual_sales,
                workers=workers,
                actor=user,
            )
            send_verification_email(user)
    except IntegrityError:
        # Two submissions raced (a double click on a slow link): the first one won.
        raise DomainError(
            _("This RUC or e-mail has just been registered."), code="registration_race"
        ) from None
    return supplier


def activate_registration(user, *, registry_days: int = REGISTRY_TERM.days) -> None:
    """On e-mail confirmation, the registrations the user made come into force and become
    public."""
    today = timezone.localdate()
    for supplier in Supplier.objects.select_for_update().filter(
        memberships__user=user, awaiting_confirmation=True
    ):
        supplier.awaiting_confirmation = False
        supplier.save(update_fields=["awaiting_confirmation"])
        renew_registry(supplier, today + timedelta(days=registry_days), actor=user)


def approve_ownership(supplier: Supplier, *, actor) -> None:
    """An admin, having reviewed the claim (legal name, domicile, e-mail domain against the
    RUC), confirms that the supplier's users act for the company; until then they can browse
    and subscribe but not take part in processes."""
    with transaction.atomic():
        supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
        if supplier.awaiting_confirmation:
            raise DomainError(
                _("The registration's e-mail is not confirmed yet."),
                code="registration_unconfirmed",
            )
        if not supplier.ownership_provisional:
            return
        if supplier.ownership_disputes.filter(status=OwnershipDispute.Status.OPEN).exists():
            raise DomainError(
                _("Another user disputes this claim: decide the dispute first."),
                code="ownership_disputed",
            )
        supplier.ownership_provisional = False
        supplier.save(update_fields=["ownership_provisional"])
        audit.record(
            actor,
            "supplier.ownership_approved",
            supplier,
            {
                "ruc": supplier.ruc,
                "users": sorted(supplier.memberships.values_list("user__email", flat=True)),
            },
        )


def require_may_act_in_processes(supplier: Supplier, *, day: date | None = None) -> None:
    """The one check of "may act for this supplier in processes" (register as participant,
    bid): its registry is in force on `day` and its ownership is not under review."""
    if supplier.ownership_provisional or supplier.awaiting_confirmation:
        raise DomainError(
            _(
                "The portal's administrators are reviewing who owns this RUC: you can take part "
                "in processes once they approve it."
            ),
            code="ownership_under_review",
        )
    if not supplier.registry_valid_on(day):
        raise DomainError(
            _("Your supplier registry is not in force: renew it to take part."),
            code="registry_not_in_force",
        )


def may_act_in_processes(supplier: Supplier, *, day: date | None = None) -> bool:
    """What pages ask before offering a process action (the same rule the services apply)."""
    try:
        require_may_act_in_processes(supplier, day=day)
    except DomainError:
        return False
    return True


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise PermissionDenied(_("Only the portal's administrators may decide this."))


def _locked(supplier: Supplier) -> Supplier:
    return Supplier.objects.select_for_update().get(pk=supplier.pk)


# --- Self-service: what a supplier's users keep up to date ---------------------------------

MAX_CATEGORIES = 200
PROFILE_FIELDS = ("trade_name", "address", "email", "phone", "domicile")


def _profile_values(supplier: Supplier) -> dict[str, str]:
    return {
        field: str(supplier.domicile_id if field == "domicile" else getattr(supplier, field))
        for field in PROFILE_FIELDS
    }


def update_profile(
    *,
    actor,
    supplier: Supplier,
    trade_name: str,
    address: str,
    email: str,
    phone: str,
    domicile,
    categories,
) -> Supplier:
    """A supplier's users keep its trade name, contact data, domicile (UBIGEO) and catalog
    categories. The RUC and the legal name come from the tax registry (SUNAT): only the
    portal's administrators change them."""
    require_supplier_user(actor, supplier)
    categories = list(categories)
    if len(categories) > MAX_CATEGORIES:
        raise DomainError(
            _("Declare at most %(count)d catalog categories.") % {"count": MAX_CATEGORIES},
            code="too_many_categories",
            field="categories",
        )
    with transaction.atomic():
        supplier = _locked(supplier)
        before = _profile_values(supplier)
        supplier.trade_name = trade_name.strip()
        supplier.address = address.strip()
        supplier.email = email.strip().lower()
        supplier.phone = phone.strip()
        supplier.domicile = domicile
        try:
            supplier.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            field, messages = next(iter(error.message_dict.items()))
            raise DomainError(messages[0], code="invalid_profile", field=field) from None
        supplier.save(update_fields=[*PROFILE_FIELDS])
        after = _profile_values(supplier)
        old_codes = set(supplier.categories.values_list("code", flat=True))
        new_codes = {item.code for item in categories}
        supplier.categories.set(categories)
        changes = {f: [before[f], after[f]] for f in PROFILE_FIELDS if before[f] != after[f]}
        audit.record(
            actor,
            "supplier.profile_updated",
            supplier,
            {
                "changes": changes,
                "categories_added": sorted(new_codes - old_codes),
                "categories_removed": sorted(old_codes - new_codes),
            },
        )
    return supplier


def declarable_sales_years(supplier: Supplier) -> list[int]:
    """The sales years a supplier may declare now, newest first: closed years with official
    parameters, not older than its newest classification, and not declared already."""
    newest = supplier.classifications.aggregate(newest=Max("sales_year"))["newest"] or 0
    declared = supplier.classifications.filter(source=SizeClassification.Source.DECLARATION).values(
        "sales_year"
    )
    return list(
        FiscalYear.objects.filter(
            year__lt=timezone.localdate().year, year__gte=newest, provisional=False
        )
        .exclude(year__in=declared)
        .order_by("-year")
        .values_list("year", flat=True)
    )


def declare_size(
    *, actor, supplier: Supplier, sales_year: int, annual_sales: Decimal, workers: int | None
) -> SizeClassification:
    """A supplier declares a closed year's sales and workers and is classified under the SME
    rule of that year (classify_supplier); earlier classifications stay as history. Each
    sales year is declared once (the database holds it), never older than the newest
    classification; a correction is an administrative review."""
    require_supplier_user(actor, supplier)
    with transaction.atomic():
        supplier = _locked(supplier)
        if sales_year not in declarable_sales_years(supplier):
            year = FiscalYear.objects.filter(pk=sales_year).first()
            if supplier.classifications.filter(
                source=SizeClassification.Source.DECLARATION, sales_year=sales_year
            ).exists():
                message, code = (
                    _("You already declared the sales of that year."),
                    "already_declared",
                )
            elif year is None or year.provisional or sales_year >= timezone.localdate().year:
                message, code = (
                    _("Sales are declared for a closed year with official parameters."),
                    "sales_year_not_closed",
                )
            else:
                message, code = (
                    _("A newer year is already classified: declare that year or a later one."),
                    "sales_year_superseded",
                )
            raise DomainError(message, code=code, field="sales_year")
        return classify_supplier(
            supplier,
            sales_year=sales_year,
            annual_sales=annual_sales,
            workers=workers,
            actor=actor,
            source=SizeClassification.Source.DECLARATION,
        )


def request_renewal(*, actor, supplier: Supplier) -> RenewalRequest:
    """A supplier's user asks for the registry's renewal; an admin decides it. One request
    waits at a time (the database holds it)."""
    require_supplier_user(actor, supplier)
    with transaction.atomic():
        supplier = _locked(supplier)
        if supplier.awaiting_confirmation:
            raise DomainError(
                _("The registration's e-mail is not confirmed yet."),
                code="registration_unconfirmed",
            )
        if supplier.renewal_requests.filter(status=RenewalRequest.Status.PENDING).exists():
            raise DomainError(
                _("A renewal request is already waiting for the administrators."),
                code="renewal_pending",
            )
        request = RenewalRequest.objects.create(supplier=supplier, requested_by=actor)
        audit.record(actor, "supplier.renewal_requested", supplier, {"request": request.pk})
    return request


def _locked_pending_renewal(request: RenewalRequest) -> RenewalRequest:
    request = (
        RenewalRequest.objects.select_for_update().select_related("supplier").get(pk=request.pk)
    )
    if request.status != RenewalRequest.Status.PENDING:
        raise DomainError(_("This request was already decided."), code="renewal_decided")
    return request


def approve_renewal(*, actor, request: RenewalRequest) -> RenewalRequest:
    """An admin approves a renewal: the registry is in force for REGISTRY_TERM from today
    (never shortened)."""
    _require_admin(actor)
    with transaction.atomic():
        request = _locked_pending_renewal(request)
        supplier = _locked(request.supplier)
        today = timezone.localdate()
        valid_until = max(today + REGISTRY_TERM, supplier.registry_valid_until or today)
        renew_registry(supplier, valid_until, actor=actor)
        request.status, request.valid_until = RenewalRequest.Status.APPROVED, valid_until
        request.decided_by, request.decided_at = actor, timezone.now()
        request.save(update_fields=["status", "valid_until", "decided_by", "decided_at"])
        audit.record(
            actor,
            "supplier.renewal_approved",
            supplier,
            {"request": request.pk, "valid_until": valid_until},
        )
    return request


def reject_renewal(*, actor, request: RenewalRequest) -> RenewalRequest:
    """An admin rejects a renewal request; the registry stays as it was."""
    _require_admin(actor)
    with transaction.atomic():
        request = _locked_pending_renewal(request)
        request.status = RenewalRequest.Status.REJECTED
        request.decided_by, request.decided_at = actor, timezone.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(actor, "supplier.renewal_rejected", request.supplier, {"request": request.pk})
    return request


# --- Invitations: a supplier's users bring in colleagues -----------------------------------

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
    now = timezone.now()
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
        from .tasks import send_invitation_email

        transaction.on_commit(lambda: send_invitation_email.delay(invitation.pk), robust=True)
    return invitation


def _revoke(actor, invitation: SupplierInvitation, *, reason: str) -> None:
    invitation.revoked_at = timezone.now()
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
    if invitation.expires_at <= timezone.now():
        raise DomainError(_("This invitation has expired."), code="invitation_expired")
    return invitation


def _join(invitation: SupplierInvitation, user, *, new_account: bool):
    from accounts.models import Membership, Role

    if invitation.supplier.memberships.filter(user=user).exists():
        raise DomainError(_("You are already a user of this supplier."), code="already_member")
    membership = Membership.objects.create(
        user=user, role=Role.SUPPLIER_USER, supplier=invitation.supplier
    )
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
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
                email_verified_at=timezone.now(),
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


# --- Disputes: who owns a RUC (issue 7 item 8) ---------------------------------------------

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
        dispute.decided_by, dispute.decided_at = actor, timezone.now()
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
        dispute.decided_by, dispute.decided_at = actor, timezone.now()
        dispute.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            actor,
            "supplier.ownership_transferred",
            supplier,
            {"dispute": dispute.pk, "removed_users": removed, "new_user": disputer.email},
        )
    return dispute
