"""Everything that changes the supplier registry."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import is_admin
from core import audit, clock, formatting
from core.errors import DomainError
from core.models import FiscalYear, round_uit

from ..models import (
    OwnershipDispute,
    Sanction,
    SizeClassification,
    Supplier,
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
        date_joined__lt=clock.now() - _claim_lapse_age(),
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
            % {"moment": formatting.moment(lapses_at)},
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
                # The work a new account costs (hashing its password), so that the time of
                # the answer does not tell either.
                make_password(password)
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
                # The lapsed row may hold a look-alike the database matched (a dotless 'ı'):
                # the new registration's address is the one to confirm.
                user.email = email
            else:
                user = User(email=email, self_registered=True)
            user.full_name, user.is_active, user.date_joined = full_name, False, clock.now()
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
    today = clock.today()
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


def debarment_on(supplier: Supplier, day: date | None = None) -> Sanction | None:
    """The sanction that debars the supplier on `day` (today by default), or None; of
    several, the one that lasts longest (a permanent one first)."""
    day = day or clock.today()
    in_force = Sanction.objects.in_force_on(day).filter(supplier=supplier)
    return in_force.order_by(F("ends_on").desc(nulls_first=True), "-id").first()


def debarment_text(sanction: Sanction) -> str:
    """The reason a debarred supplier is refused: the resolution and until when."""
    if sanction.ends_on is None:
        return _(
            "Your company is permanently debarred from contracting with the State by "
            "resolution %(resolution)s of the Tribunal de Contrataciones del Estado."
        ) % {"resolution": sanction.resolution}
    return _(
        "Your company is debarred from contracting with the State by resolution "
        "%(resolution)s of the Tribunal de Contrataciones del Estado, until %(date)s."
    ) % {"resolution": sanction.resolution, "date": formatting.day(sanction.ends_on)}


def require_may_act_in_processes(supplier: Supplier, *, day: date | None = None) -> None:
    """The one check of "may act for this supplier in processes" (register as participant,
    ask, bid): its ownership is not under review, it is not debarred on `day` (the sanctions
    list, Ley 30225 art. 50) and its registry is in force on `day`."""
    if supplier.ownership_provisional or supplier.awaiting_confirmation:
        raise DomainError(
            _(
                "The portal's administrators are reviewing who owns this RUC: you can take part "
                "in processes once they approve it."
            ),
            code="ownership_under_review",
        )
    day = day or clock.today()
    sanction = debarment_on(supplier, day)
    if sanction is not None:
        raise DomainError(debarment_text(sanction), code="debarred")
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
