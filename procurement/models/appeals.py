"""Appeals (recurso de apelación, Ley 30225 art. 41) against an award, an admission or a score,
filed by a bidder during the standstill (issue 10). The rules live in
procurement.services.appeals; who resolves (the entity's head, or the national tribunal above
a value threshold) and in how many working days are data in procurement.rules.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core import clock

from .awards import Award
from .evaluation import EvaluationEntry
from .processes import ProcessDocument, ProcurementProcess

OPEN_APPEAL_STATUSES = ["presentado", "admitido"]


def overdue_condition(today) -> models.Q:
    """Appeals still open after the day they were due (their legal term): the one rule
    behind Appeal.is_overdue and the auditors' list of overdue appeals (procurement.stuck)."""
    return models.Q(status__in=OPEN_APPEAL_STATUSES, due_on__lt=today)


class Appeal(models.Model):
    class Subject(models.TextChoices):
        AWARD = "buena_pro", _("The award")
        ADMISSION = "admision", _("The admission of a bid")
        SCORE = "puntaje", _("A score")

    class Status(models.TextChoices):
        FILED = "presentado", _("Filed")
        ADMITTED = "admitido", _("Admitted")
        INADMISSIBLE = "improcedente", _("Inadmissible")
        FOUNDED = "fundado", _("Founded")
        UNFOUNDED = "infundado", _("Unfounded")
        WITHDRAWN = "desistido", _("Withdrawn")

    class Resolver(models.TextChoices):
        ENTITY_HEAD = "entidad", _("The entity's head")
        TRIBUNAL = "tribunal", _("The national tribunal")

    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="appeals")
    award = models.ForeignKey(Award, models.PROTECT, related_name="appeals")
    subject = models.CharField(_("against"), max_length=12, choices=Subject.choices)
    entry = models.ForeignKey(
        EvaluationEntry, models.PROTECT, null=True, blank=True, related_name="appeals"
    )  # the bid whose admission or score is contested
    supplier = models.ForeignKey(
        "suppliers.Supplier", models.PROTECT, related_name="appeals"
    )  # the appellant bidder
    reasons = models.TextField(_("reasons"))
    fee_amount = models.DecimalField(_("appeal fee (S/)"), max_digits=14, decimal_places=2)
    documents = models.ManyToManyField(ProcessDocument, blank=True, related_name="appeals")
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.FILED
    )
    resolver = models.CharField(_("resolved by"), max_length=10, choices=Resolver.choices)
    filed_at = models.DateTimeField(_("filed"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    due_on = models.DateField(_("to be resolved by"))
    resolution = models.TextField(_("resolution"), blank=True)
    resolution_document = models.ForeignKey(
        ProcessDocument, models.PROTECT, null=True, blank=True, related_name="+"
    )
    admitted_at = models.DateTimeField(_("admitted"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["process", "filed_at", "id"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        indexes = [models.Index(fields=["status", "due_on"], name="appeal_due_idx")]
        constraints = [
            models.CheckConstraint(
                name="appeal_status_valid",
                condition=models.Q(
                    status__in=[
                        "presentado",
                        "admitido",
                        "improcedente",
                        "fundado",
                        "infundado",
                        "desistido",
                    ]
                ),
            ),
            models.CheckConstraint(
                name="appeal_fee_positive", condition=models.Q(fee_amount__gt=0)
            ),
            models.CheckConstraint(
                name="appeal_decided_has_resolution",
                condition=~models.Q(status__in=["improcedente", "fundado", "infundado"])
                | (~models.Q(resolution="") & models.Q(resolved_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="appeal_entry_for_admission_or_score",
                condition=models.Q(subject="buena_pro") | models.Q(entry__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_id} appeal {self.pk}: {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_APPEAL_STATUSES

    @property
    def is_overdue(self) -> bool:
        """Still open after its legal term (shown to everyone, auditors included); the same
        rule as overdue_condition."""
        return self.is_open and self.due_on < clock.today()
