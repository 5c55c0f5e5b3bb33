"""Self-service: what a supplier's users keep up to date (issue 8 item 19)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.permissions import require_supplier_user
from core import audit, clock, formatting
from core.errors import DomainError
from core.models import FiscalYear

from ..models import (
    RenewalRequest,
    SizeClassification,
    Supplier,
)
from .registry import REGISTRY_TERM, _locked, _require_admin, classify_supplier, renew_registry

MAX_CATEGORIES = 200
PROFILE_FIELDS = (
    "trade_name",
    "address",
    "email",
    "phone",
    "representative_name",
    "representative_dni",
    "domicile",
)


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
    representative_name: str = "",
    representative_dni: str = "",
) -> Supplier:
    """A supplier's users keep its trade name, contact data, legal representative (name and
    DNI, 8 digits), domicile (UBIGEO) and catalog categories. The RUC and the legal name come from the tax registry (SUNAT): only the
    portal's administrators change them."""
    require_supplier_user(actor, supplier)
    categories = list(categories)
    if len(categories) > MAX_CATEGORIES:
        raise DomainError(
            _("Declare at most %(max)s catalog categories.")
            % {"max": formatting.number(MAX_CATEGORIES)},
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
        supplier.representative_name = " ".join(representative_name.split())
        supplier.representative_dni = representative_dni.strip()
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
        FiscalYear.objects.filter(year__lt=clock.today().year, year__gte=newest, provisional=False)
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
            elif year is None or year.provisional or sales_year >= clock.today().year:
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
        today = clock.today()
        valid_until = max(today + REGISTRY_TERM, supplier.registry_valid_until or today)
        renew_registry(supplier, valid_until, actor=actor)
        request.status, request.valid_until = RenewalRequest.Status.APPROVED, valid_until
        request.decided_by, request.decided_at = actor, clock.now()
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
        request.decided_by, request.decided_at = actor, clock.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(actor, "supplier.renewal_rejected", request.supplier, {"request": request.pk})
    return request
