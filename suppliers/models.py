"""The supplier registry (like Peru's RNP) and each supplier's SME size classification."""

import re
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import clock
from core.codelists import SizeClass
from core.models import CatalogItem, District, FiscalYear, SmeRule
from core.ruc import validate_ruc


def validate_dni(value: str) -> None:
    """A Peruvian national identity document (DNI) number: exactly 8 digits."""
    if value and not DNI.fullmatch(value):
        raise ValidationError(_("A DNI has exactly 8 digits."), code="dni")


DNI = re.compile(r"[0-9]{8}", re.ASCII)


class SupplierQuerySet(models.QuerySet):
    def public(self):
        """The one definition of a public supplier: in the registry, not a self-registration
        whose e-mail was never confirmed (that one is nobody's business until confirmed)."""
        return self.filter(awaiting_confirmation=False)


class Supplier(models.Model):
    ruc = models.CharField(_("RUC"), max_length=11, unique=True, validators=[validate_ruc])
    legal_name = models.CharField(_("legal name"), max_length=255)
    trade_name = models.CharField(_("trade name"), max_length=255, blank=True)
    domicile = models.ForeignKey(
        District, models.PROTECT, verbose_name=_("domicile (UBIGEO)"), related_name="+"
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    # The legal representative as the registry (RNP) records it: two bidders in one process
    # with the same one are a red flag for the auditors (procurement.red_flags).
    representative_name = models.CharField(
        _("legal representative"), max_length=200, blank=True, default="", db_default=""
    )
    representative_dni = models.CharField(
        _("legal representative's DNI"),
        max_length=8,
        blank=True,
        default="",
        db_default="",
        validators=[validate_dni],
    )
    categories = models.ManyToManyField(
        CatalogItem, verbose_name=_("catalog categories"), blank=True, related_name="suppliers"
    )
    registry_valid_until = models.DateField(_("registry valid until"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered"), default=timezone.now)
    # A self-registration stays a private claim until its user confirms the e-mail: not
    # listed, not shown, and replaced by the next registration of the RUC once it lapses.
    awaiting_confirmation = models.BooleanField(
        _("awaiting e-mail confirmation"), default=False, db_index=True
    )
    # A confirmed mailbox does not prove who owns a RUC: a self-registered supplier acts in
    # processes only once an admin approves its claim (suppliers.services.approve_ownership).
    ownership_provisional = models.BooleanField(
        _("ownership under review"), default=False, db_index=True
    )
    # The current classification, kept by suppliers.services.classify_supplier (its history
    # lives in SizeClassification).
    size_class = models.CharField(
        _("size class"), max_length=20, choices=SizeClass.choices, blank=True, db_index=True
    )
    size_rule = models.ForeignKey(
        SmeRule,
        models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("size rule"),
        related_name="+",
    )

    objects = SupplierQuerySet.as_manager()

    class Meta:
        ordering = ["legal_name"]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ruc__regex=r"^(10|15|16|17|20)[0-9]{9}$"),
                name="supplier_ruc_format",
            ),
            models.CheckConstraint(
                condition=models.Q(representative_dni="")
                | models.Q(representative_dni__regex=r"^[0-9]{8}$"),
                name="supplier_representative_dni_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.ruc})"

    @property
    def is_sme(self) -> bool:
        return SizeClass.is_sme(self.size_class)

    def registry_valid_on(self, day: date | None = None) -> bool:
        """Registry in force on `day` (today by default): an expired registration cannot bid."""
        day = day or clock.today()
        return self.registry_valid_until is not None and self.registry_valid_until >= day


class SizeClassification(models.Model):
    """One classification of a supplier's size under a named rule, from its declaration."""

    class Source(models.TextChoices):
        DECLARATION = "declaration", _("Supplier's declaration")
        REVIEW = "review", _("Administrative review")
        IMPORT = "import", _("Imported")

    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="classifications")
    rule = models.ForeignKey(SmeRule, models.PROTECT, verbose_name=_("rule"), related_name="+")
    sales_year = models.ForeignKey(
        FiscalYear, models.PROTECT, verbose_name=_("year of the sales"), related_name="+"
    )
    annual_sales = models.DecimalField(_("annual sales (S/)"), max_digits=16, decimal_places=2)
    workers = models.PositiveIntegerField(_("workers"), null=True, blank=True)
    sales_uit = models.DecimalField(_("annual sales (UIT)"), max_digits=16, decimal_places=2)
    size_class = models.CharField(_("size class"), max_length=20, choices=SizeClass.choices)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    classified_at = models.DateTimeField(_("classified"), default=timezone.now)
    classified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-classified_at", "-id"]
        get_latest_by = ["classified_at", "id"]
        verbose_name = _("size classification")
        verbose_name_plural = _("size classifications")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(annual_sales__gte=0), name="classification_sales_not_negative"
            ),
            # A supplier declares each sales year once; a correction is an admin's review.
            models.UniqueConstraint(
                fields=["supplier", "sales_year"],
                condition=models.Q(source="declaration"),
                name="classification_one_declaration_per_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier.ruc} {self.get_size_class_display()} ({self.rule_id})"


class RenewalRequest(models.Model):
    """A supplier's request to renew its registry; an admin approves it (which calls
    suppliers.services.renew_registry) or rejects it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="renewal_requests")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        verbose_name=_("requested by"),
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("decided by"),
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    valid_until = models.DateField(_("registry valid until"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("registry renewal request")
        verbose_name_plural = _("registry renewal requests")
        constraints = [
            models.UniqueConstraint(
                fields=["supplier"],
                condition=models.Q(status="pending"),
                name="renewal_one_pending_per_supplier",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier.ruc} {self.get_status_display()}"


class SupplierInvitation(models.Model):
    """An invitation, sent by e-mail to `email`, to become a user of the supplier. The link
    carries a signed token naming the invitation and its `nonce`; it works once, until
    `expires_at`, and never for anyone but the owner of the address."""

    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"), max_length=254)
    nonce = models.CharField(max_length=64, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        verbose_name=_("invited by"),
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("accepted by"),
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("supplier invitation")
        verbose_name_plural = _("supplier invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_address",
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="invitation_not_accepted_and_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier.ruc} -> {self.email}"


class OwnershipDispute(models.Model):
    """Another user states that a RUC claimed by the supplier's users is theirs; an admin
    keeps the claim or transfers the supplier to the disputer."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLAIM_KEPT = "claim_kept", _("Claim kept")
        TRANSFERRED = "transferred", _("Transferred to the disputer")

    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="ownership_disputes")
    disputer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        verbose_name=_("disputer"),
        related_name="ownership_disputes",
    )
    statement = models.TextField(_("why the RUC is yours"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("decided by"),
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ownership dispute")
        verbose_name_plural = _("ownership disputes")
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "disputer"],
                condition=models.Q(status="open"),
                name="dispute_one_open_per_disputer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier.ruc}: {self.disputer}"


class SanctionQuerySet(models.QuerySet):
    def in_force_on(self, day: date):
        """Sanctions in force on `day`: started, and not ended (an open end is permanent)."""
        return self.filter(starts_on__lte=day).filter(
            models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=day)
        )


class Sanction(models.Model):
    """A debarment (inhabilitación) of a supplier from contracting with the State, imposed
    by the Tribunal de Contrataciones del Estado (Ley 30225 art. 50): from `starts_on` to
    `ends_on`, both inclusive, or for good when `ends_on` is empty. Public in Peru. Kept by
    the portal's administrators in the admin; suppliers.services.require_may_act_in_processes
    refuses a supplier debarred on the day."""

    supplier = models.ForeignKey(
        Supplier,
        models.PROTECT,
        verbose_name=_("supplier"),
        related_name="sanctions",
        # An unconfirmed self-registration is nobody yet (and lapses by deletion).
        limit_choices_to={"awaiting_confirmation": False},
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(
        _("until (inclusive)"),
        null=True,
        blank=True,
        help_text=_("Empty for a permanent debarment."),
    )
    resolution = models.CharField(
        _("resolution"),
        max_length=100,
        help_text=_("Number of the Tribunal's resolution, e.g. 01234-2026-TCE-S1."),
    )
    reason = models.TextField(_("reason"), max_length=2000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        verbose_name=_("recorded by"),
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    objects = SanctionQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("sanction")
        verbose_name_plural = _("sanctions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="sanction_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier.ruc}: {self.resolution}"

    @property
    def permanent(self) -> bool:
        return self.ends_on is None

    def in_force_on(self, day: date | None = None) -> bool:
        day = day or clock.today()
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)
