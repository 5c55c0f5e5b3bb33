"""Everything that changes the supplier registry."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.errors import DomainError
from core.models import FiscalYear, round_uit

from .models import SizeClassification, Supplier


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
) -> Supplier:
    """Self-registration: the supplier enters the registry with its declared size and its
    first user. Nothing is in force until the e-mail is confirmed: the user cannot log in and
    the registry has no validity (so it cannot bid). A claim on a RUC or an e-mail that was
    never confirmed lapses with its link, so the rightful owner can register again."""
    from accounts.models import Membership, Role, User
    from accounts.services import send_verification_email

    email = email.strip().lower()
    lapsed = timezone.now() - timedelta(seconds=settings.EMAIL_VERIFICATION_MAX_AGE)
    try:
        with transaction.atomic():
            supplier = Supplier.objects.select_for_update().filter(ruc=ruc).first()
            if supplier is not None:
                claims = supplier.memberships.select_related("user")
                if not claims.exists():
                    raise DomainError(
                        _("This RUC is in the registry without portal users: ask the portal's "
                          "administrators for access."),
                        field="ruc",
                    )  # fmt: skip
                if any(m.user.email_verified_at or m.user.date_joined >= lapsed for m in claims):
                    raise DomainError(
                        _("This RUC is already in the registry. Ask its users to give you access."),
                        field="ruc",
                    )
                claims.delete()  # a lapsed, never-confirmed claim
                supplier.legal_name, supplier.domicile, supplier.email = (
                    legal_name.strip(),
                    domicile,
                    email,
                )
                supplier.registry_valid_until = None
                supplier.save()
            else:
                supplier = Supplier.objects.create(
                    ruc=ruc, legal_name=legal_name.strip(), domicile=domicile, email=email
                )
            user = User.objects.select_for_update().filter(email__iexact=email).first()
            if user is not None and (user.email_verified_at or user.date_joined >= lapsed):
                raise DomainError(_("An account with this e-mail already exists."), field="email")
            if user is None:
                user = User(email=email)
            user.full_name, user.is_active, user.date_joined = full_name, False, timezone.now()
            user.set_password(password)
            user.save()
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
        raise DomainError(_("This RUC or e-mail has just been registered.")) from None
    return supplier


def activate_registration(user, *, registry_days: int = 365) -> None:
    """On e-mail confirmation, the registrations the user made come into force."""
    today = timezone.localdate()
    for supplier in Supplier.objects.filter(
        memberships__user=user, registry_valid_until__isnull=True
    ):
        renew_registry(supplier, today + timedelta(days=registry_days), actor=user)
