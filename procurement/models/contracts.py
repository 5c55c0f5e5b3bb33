"""The contract signed from a consented award, its amendments, its end and the after-sales
evaluation of the supplier (issue 10). The rules live in procurement.services.contracts; the
status moves through CONTRACT_TRANSITIONS there.

A contract keeps what the award decided as it was (the winner, its size classes at the award):
copied from the Award, never recomputed from the supplier's current class.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.codelists import SizeClass

from .awards import Award
from .entities import Entity
from .processes import ProcessItem, ProcurementProcess

# The cumulative share of additional works or of reductions above which an amendment is
# marked (Ley 30225, art. 34: up to 25% of the contract's original amount).
AMENDMENT_MARK_PERCENT = 25
# The retention on payments an SME may choose instead of the performance bond (Reglamento,
# art. 149): 10% of the contract's amount, for goods and services only.
RETENTION_PERCENT = 10


class ContractQuerySet(models.QuerySet):
    def public(self):
        return self.select_related("entity", "supplier", "process", "item")

    def standing(self):
        """The contracts that stand: all but those declared void (STANDING)."""
        return self.filter(STANDING)


# A contract stands unless declared void (nulo, Ley 30225 art. 44: as if never signed). One
# completed or terminated (resuelto) stands: its lot was contracted and stays so. The one
# place that says which contracts an award's lot counts; read through
# ContractQuerySet.standing(), AwardQuerySet.without_standing_contract() and
# Award.standing_contract.
STANDING_STATUSES = ("vigente", "culminado", "resuelto")
STANDING = models.Q(status__in=STANDING_STATUSES)


class Contract(models.Model):
    """The contract of one award (the whole process, or one item)."""

    class Status(models.TextChoices):
        ACTIVE = "vigente", _("Active")
        COMPLETED = "culminado", _("Completed")
        TERMINATED = "resuelto", _("Terminated")
        VOID = "nulo", _("Declared void")

    class Guarantee(models.TextChoices):
        PERFORMANCE_BOND = "fiel_cumplimiento", _("Performance bond")
        # xgettext:no-python-format
        RETENTION = "retencion", _("10% retention on payments (SME)")

    class Party(models.TextChoices):
        ENTITY = "entidad", _("The entity")
        SUPPLIER = "contratista", _("The supplier")

    # An award has at most one standing contract (contract_one_standing_per_award); a contract
    # declared void stays on record and the award may be contracted again.
    award = models.ForeignKey(Award, models.PROTECT, related_name="contracts")
    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="contracts")
    item = models.ForeignKey(
        ProcessItem, models.PROTECT, null=True, blank=True, related_name="contracts"
    )
    entity = models.ForeignKey(Entity, models.PROTECT, related_name="contracts")
    supplier = models.ForeignKey(
        "suppliers.Supplier", models.PROTECT, related_name="contracts"
    )  # the lead supplier; the consortium's members are the award's size classes' RUCs
    number = models.CharField(_("contract number"), max_length=60)
    signed_on = models.DateField(_("signing date"))
    amount = models.DecimalField(_("amount (S/)"), max_digits=20, decimal_places=2)
    term_days = models.PositiveIntegerField(_("term (days)"))
    # Copied from the award: the winner's size at that moment, never recomputed.
    winner_sme = models.BooleanField(_("SME winner"))
    size_class = models.CharField(
        _("size class at award"), max_length=20, choices=SizeClass.choices, blank=True
    )  # the lead supplier's
    size_classes = models.JSONField(_("size classes at award"), default=dict)
    guarantee = models.CharField(_("guarantee"), max_length=20, choices=Guarantee.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    terminated_by = models.CharField(
        _("terminated by"), max_length=12, choices=Party.choices, blank=True
    )
    ended_on = models.DateField(_("end date"), null=True, blank=True)
    end_reason = models.TextField(_("reason"), blank=True)
    final_amount = models.DecimalField(
        _("final amount (S/)"), max_digits=20, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(_("registered"))
    # Null only for a contract imported from another portal (source_ref set).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_ref = models.CharField(max_length=100, blank=True, default="", db_default="")

    objects = ContractQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_on", "-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            models.UniqueConstraint(fields=["entity", "number"], name="contract_number_unique"),
            models.UniqueConstraint(
                fields=["award"],
                condition=STANDING,
                name="contract_one_standing_per_award",
            ),
            models.CheckConstraint(
                name="contract_amount_positive", condition=models.Q(amount__gt=0)
            ),
            models.CheckConstraint(
                name="contract_term_positive", condition=models.Q(term_days__gt=0)
            ),
            models.CheckConstraint(
                name="contract_has_author_or_source",
                condition=models.Q(created_by__isnull=False) | ~models.Q(source_ref=""),
            ),
            models.CheckConstraint(
                name="contract_status_valid",
                condition=models.Q(status__in=["vigente", "culminado", "resuelto", "nulo"]),
            ),
            models.CheckConstraint(
                name="contract_retention_only_for_sme",
                condition=~models.Q(guarantee="retencion") | models.Q(winner_sme=True),
            ),
            models.CheckConstraint(
                name="contract_completed_has_date_and_amount",
                condition=~models.Q(status="culminado")
                | models.Q(ended_on__isnull=False, final_amount__gt=0),
            ),
            models.CheckConstraint(
                name="contract_terminated_has_party_date_reason",
                condition=~models.Q(status="resuelto")
                | (
                    models.Q(ended_on__isnull=False, terminated_by__in=["entidad", "contratista"])
                    & ~models.Q(end_reason="")
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.entity_id})"

    @property
    def size_labels(self) -> list[tuple[str, str]]:
        labels = dict(SizeClass.choices)
        return [(ruc, str(labels.get(size, "—"))) for ruc, size in self.size_classes.items()]


class ContractAmendment(models.Model):
    """An additional work (adicional) or a reduction (reducción) of the contract's amount, with
    its percentage of the original amount, the cumulative percentage of its kind at that
    point, and the mark when that passes AMENDMENT_MARK_PERCENT. Written once."""

    class Kind(models.TextChoices):
        ADDITIONAL = "adicional", _("Additional")
        REDUCTION = "reduccion", _("Reduction")

    contract = models.ForeignKey(Contract, models.PROTECT, related_name="amendments")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount (S/)"), max_digits=20, decimal_places=2)
    percentage = models.DecimalField(_("percentage"), max_digits=9, decimal_places=2)
    cumulative_percentage = models.DecimalField(
        _("cumulative percentage"), max_digits=9, decimal_places=2
    )
    above_limit = models.BooleanField(_("above 25%"))
    reason = models.TextField(_("reason"))
    signed_on = models.DateField(_("date"))
    created_at = models.DateTimeField(_("registered"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    # The amendment's id at the source, for one imported from an OCDS release (import_ocds).
    source_ref = models.CharField(max_length=100, blank=True, default="", db_default="")

    class Meta:
        ordering = ["contract", "signed_on", "id"]
        verbose_name = _("contract amendment")
        verbose_name_plural = _("contract amendments")
        constraints = [
            models.CheckConstraint(
                name="amendment_amount_positive", condition=models.Q(amount__gt=0)
            ),
            models.CheckConstraint(name="amendment_has_reason", condition=~models.Q(reason="")),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.kind} {self.amount}"


class SupplierEvaluation(models.Model):
    """The entity's after-sales evaluation of the supplier once the contract ended."""

    contract = models.OneToOneField(Contract, models.PROTECT, related_name="evaluation")
    on_time = models.BooleanField(_("delivered on time"))
    quality = models.PositiveSmallIntegerField(_("quality (1-5)"))
    penalties = models.DecimalField(
        _("penalties applied (S/)"), max_digits=20, decimal_places=2, default=0
    )
    comment = models.TextField(_("comment"), blank=True)
    evaluated_at = models.DateTimeField(_("evaluated"))
    evaluated_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-evaluated_at"]
        verbose_name = _("supplier evaluation")
        verbose_name_plural = _("supplier evaluations")
        constraints = [
            models.CheckConstraint(
                name="supplier_evaluation_quality_1_5",
                condition=models.Q(quality__gte=1, quality__lte=5),
            ),
            models.CheckConstraint(
                name="supplier_evaluation_penalties_not_negative",
                condition=models.Q(penalties__gte=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id}: {self.quality}"
