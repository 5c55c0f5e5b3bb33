"""Everything that changes the supplier registry."""

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
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
    registry_days: int = 365,
) -> Supplier:
    """Self-registration: the supplier enters the registry with its declared size and its
    first user, who can log in only after confirming the e-mail address. A RUC already in
    the registry is refused (its users must add colleagues)."""
    from accounts.models import Membership, Role, User
    from accounts.services import send_verification_email

    email = email.strip().lower()
    with transaction.atomic():
        if Supplier.objects.filter(ruc=ruc).exists():
            raise DomainError(
                _("This RUC is already in the registry. Ask its users to give you access."),
                field="ruc",
            )
        if User.objects.filter(email__iexact=email).exists():
            raise DomainError(_("An account with this e-mail already exists."), field="email")
        supplier = Supplier.objects.create(
            ruc=ruc,
            legal_name=legal_name.strip(),
            domicile=domicile,
            email=email,
            registry_valid_until=timezone.localdate() + timedelta(days=registry_days),
        )
        user = User.objects.create_user(
            email=email, password=password, full_name=full_name, is_active=False
        )
        Membership.objects.create(user=user, role=Role.SUPPLIER_USER, supplier=supplier)
        audit.record(
            user, "supplier.registered", supplier, {"ruc": ruc, "legal_name": supplier.legal_name}
        )
        classify_supplier(
            supplier, sales_year=sales_year, annual_sales=annual_sales, workers=workers, actor=user
        )
        send_verification_email(user)
    return supplier
