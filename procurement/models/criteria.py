"""The evaluation criteria of a process (factores de evaluación) and their weights, set
before the call with the bases; after the call changed only by a public amendment with its
reason (CriteriaAmendment). The rule they obey lives in procurement.services.criteria."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .processes import ProcurementProcess


class CriterionKind(models.TextChoices):
    TECHNICAL = "technical", _("Technical")
    ECONOMIC = "economic", _("Economic")


class EvaluationCriterion(models.Model):
    """One criterion of a process's evaluation table: its kind, name and weight (a
    percentage of the total score; the weights of a process add up to 100)."""

    process = models.ForeignKey(ProcurementProcess, models.CASCADE, related_name="criteria")
    kind = models.CharField(_("kind"), max_length=10, choices=CriterionKind.choices)
    name = models.CharField(_("criterion"), max_length=200)
    weight = models.DecimalField(_("weight (%)"), max_digits=5, decimal_places=2)
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        ordering = ["process", "position"]
        verbose_name = _("evaluation criterion")
        verbose_name_plural = _("evaluation criteria")
        constraints = [
            models.UniqueConstraint(fields=["process", "position"], name="criterion_position"),
            models.CheckConstraint(
                name="criterion_weight_range",
                condition=models.Q(weight__gt=0) & models.Q(weight__lte=Decimal(100)),
            ),
            models.CheckConstraint(
                name="criterion_kind_valid",
                condition=models.Q(kind__in=["technical", "economic"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_id}: {self.name} ({self.weight}%)"


class CriteriaAmendment(models.Model):
    """A public change of a called process's criteria or lots: when, why, by whom, and the
    table before and after. Written by procurement.services.criteria.amend_criteria; never
    changed (on PostgreSQL a trigger refuses UPDATE and DELETE)."""

    process = models.ForeignKey(
        ProcurementProcess, models.PROTECT, related_name="criteria_amendments"
    )
    at = models.DateTimeField(_("time"))
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    # {"award_by_items": bool, "criteria": [{"kind": ..., "name": ..., "weight": "60.00"}]}
    before = models.JSONField(_("before"))
    after = models.JSONField(_("after"))

    class Meta:
        ordering = ["process", "at", "id"]
        verbose_name = _("criteria amendment")
        verbose_name_plural = _("criteria amendments")
        constraints = [
            models.CheckConstraint(
                name="criteria_amendment_has_reason", condition=~models.Q(reason="")
            )
        ]

    def __str__(self) -> str:
        return f"{self.process_id} criteria amendment {self.at:%Y-%m-%d}"
