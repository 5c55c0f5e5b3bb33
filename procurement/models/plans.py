"""Annual procurement plans (PAC): one per entity and fiscal year, published in numbered
versions (0 = the approved plan, 1.. = modifications). Every version keeps a full copy of
its items, so any published version stays readable and any two can be compared."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.codelists import ObjectType, ProcedureType, Unit
from core.models import CatalogItem, FiscalYear

from .entities import Entity


class ProcurementPlan(models.Model):
    entity = models.ForeignKey(
        Entity, models.PROTECT, related_name="plans", verbose_name=_("entity")
    )
    fiscal_year = models.ForeignKey(
        FiscalYear, models.PROTECT, related_name="plans", verbose_name=_("fiscal year")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-fiscal_year", "entity__name"]
        verbose_name = _("annual procurement plan")
        verbose_name_plural = _("annual procurement plans")
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "fiscal_year"], name="plan_unique_per_entity_year"
            )
        ]

    def __str__(self) -> str:
        return f"PAC {self.fiscal_year_id} · {self.entity}"


class PlanVersionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PlanVersion.Status.PUBLISHED)

    def in_force(self, on: date | None = None):
        """The one definition of "the plan version in force": for each plan, its published
        version with the highest number, counting only versions published by the end of day
        `on` (Lima time) when a date is given. A draft is never in force; one row per plan."""
        candidates = PlanVersion.objects.published()
        if on is not None:
            candidates = candidates.filter(published_at__date__lte=on)
        latest = candidates.filter(plan=models.OuterRef("plan")).order_by("-number").values("pk")
        return self.published().filter(pk=models.Subquery(latest[:1]))


class PlanVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    plan = models.ForeignKey(ProcurementPlan, models.CASCADE, related_name="versions")
    entity = models.ForeignKey(Entity, models.PROTECT, related_name="+", editable=False)
    number = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    reason = models.TextField(_("reason for the modification"), blank=True)
    approval_date = models.DateField(_("approval date"), null=True, blank=True)
    approval_document = models.CharField(_("approving resolution"), max_length=200, blank=True)
    sme_justification = models.TextField(
        _("justification for an SME share below the minimum"), blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Snapshots taken at publication (a published version's items never change).
    published_late = models.BooleanField(_("published late"), default=False)
    total_value = models.DecimalField(
        _("total value (S/)"), max_digits=18, decimal_places=2, default=0
    )
    sme_eligible_value = models.DecimalField(
        _("SME-eligible value (S/)"), max_digits=18, decimal_places=2, default=0
    )
    sme_reserved_value = models.DecimalField(
        _("SME-reserved value (S/)"), max_digits=18, decimal_places=2, default=0
    )
    sme_share = models.DecimalField(
        _("planned SME share"), max_digits=7, decimal_places=6, null=True, blank=True
    )
    sme_compliant = models.BooleanField(_("meets the SME reservation"), null=True)
    sme_min_share = models.DecimalField(
        _("minimum SME share in force at publication"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
    )

    objects = PlanVersionQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "number"]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_unique_number"),
            models.UniqueConstraint(
                fields=["plan"], condition=models.Q(status="draft"), name="plan_single_draft"
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft")
                | models.Q(published_at__isnull=False, approval_date__isnull=False),
                name="plan_version_published_has_dates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_modification(self) -> bool:
        return self.number > 0


class PlanItem(models.Model):
    version = models.ForeignKey(PlanVersion, models.CASCADE, related_name="items")
    entity = models.ForeignKey(Entity, models.PROTECT, related_name="+", editable=False)
    # Stable across versions of one plan: the diff matches items by it.
    reference = models.PositiveIntegerField(_("item no."))
    object_type = models.CharField(_("object"), max_length=20, choices=ObjectType.choices)
    catalog_item = models.ForeignKey(
        CatalogItem, models.PROTECT, related_name="+", verbose_name=_("catalog code")
    )
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    unit = models.CharField(_("unit"), max_length=3, choices=Unit.choices)
    estimated_value = models.DecimalField(
        _("estimated value (S/)"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    procedure_type = models.CharField(
        _("procedure type"), max_length=8, choices=ProcedureType.choices
    )
    planned_month = models.PositiveSmallIntegerField(
        _("planned month"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    sme_reserved = models.BooleanField(_("reserved for SMEs"), default=False)

    class Meta:
        ordering = ["version", "reference"]
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "reference"], name="plan_item_unique_reference"
            ),
            models.CheckConstraint(
                condition=models.Q(estimated_value__gt=0), name="plan_item_value_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="plan_item_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit__in=Unit.values), name="plan_item_unit_in_codelist"
            ),
            models.CheckConstraint(
                condition=models.Q(planned_month__gte=1, planned_month__lte=12),
                name="plan_item_month_1_12",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}. {self.description}"
