"""The award (buena pro) of a lot and the qualification that leads to it (issue 10).

A lot is the whole process, or one item when the process is called by items. Each lot has at
most one live Award: granted to the best ranked bid that passed the qualification, or
deserted with its reason when no admissible bid is left. An Award keeps what it decided as
it was then (winner, amount, the winner's SME class at that moment): never recomputed.
Contracts and appeals (later slices) hang off an Award. The rules live in
procurement.services.awards.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.codelists import SizeClass

from .evaluation import Evaluation, EvaluationEntry
from .opening import OpenedBid
from .processes import ProcessItem, ProcurementProcess


class Qualification(models.Model):
    """The committee's check of the best ranked bid's qualification requirements (and, when
    it fails, of the next one), with the reason when it fails. Written once."""

    entry = models.OneToOneField(EvaluationEntry, models.PROTECT, related_name="qualification")
    passed = models.BooleanField(_("qualified"))
    reason = models.TextField(_("reason"), blank=True)
    decided_at = models.DateTimeField(_("decided"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")

    class Meta:
        ordering = ["decided_at", "id"]
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        constraints = [
            models.CheckConstraint(
                name="qualification_failure_has_reason",
                condition=models.Q(passed=True) | ~models.Q(reason=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}: {'passed' if self.passed else 'failed'}"


# An award that stands; a revoked one was undone by a founded appeal (the table is redone).
LIVE_STATUSES = ["adjudicado", "consentido", "desierto"]
GRANTED_STATUSES = ["adjudicado", "consentido"]


class AwardQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status__in=LIVE_STATUSES)

    def public(self):
        """What the public sees of awards (the process and evaluation pages, the API): the
        live ones of published processes."""
        return self.live().filter(process__in=ProcurementProcess.objects.published())

    def without_standing_contract(self):
        """The awards none of whose contracts stands (none signed, or every one declared
        void): procurement.models.contracts.STANDING."""
        from .contracts import STANDING_STATUSES

        return self.exclude(contracts__status__in=STANDING_STATUSES)

    def granted(self):
        """The live awards that went to a supplier (not deserted): what supplier statistics,
        the search's winning supplier and the awarded prices count."""
        return self.filter(status__in=GRANTED_STATUSES)


class Award(models.Model):
    """The outcome of one lot: the buena pro granted (then consented once the standstill ends
    with no appeal) or the lot deserted with its reason."""

    class Status(models.TextChoices):
        AWARDED = "adjudicado", _("Awarded")
        CONSENTED = "consentido", _("Award consented")
        DESERTED = "desierto", _("Deserted")
        REVOKED = "revocado", _("Revoked (founded appeal)")

    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="awards")
    item = models.ForeignKey(
        ProcessItem, models.PROTECT, null=True, blank=True, related_name="awards"
    )  # null: the whole process
    evaluation = models.ForeignKey(
        Evaluation, models.PROTECT, null=True, blank=True, related_name="awards"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    reason = models.TextField(_("reason"), blank=True)  # why it is deserted
    entry = models.OneToOneField(
        EvaluationEntry, models.PROTECT, null=True, blank=True, related_name="award"
    )
    opened_bid = models.ForeignKey(
        OpenedBid, models.PROTECT, null=True, blank=True, related_name="awards"
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", models.PROTECT, null=True, blank=True, related_name="awards"
    )  # the lead supplier of the winning bid
    amount = models.DecimalField(
        _("amount (S/)"), max_digits=20, decimal_places=2, null=True, blank=True
    )
    # The winner's size at the award, kept as it was: SME (a single SME, or a consortium of
    # SMEs only), and each member's class {ruc: class}.
    winner_sme = models.BooleanField(_("SME winner"), default=False)
    winner_size_classes = models.JSONField(_("winner's size classes"), default=dict)
    decided_at = models.DateTimeField(_("date"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    standstill_days = models.PositiveSmallIntegerField(
        _("standstill (working days)"), null=True, blank=True
    )
    standstill_ends = models.DateField(_("standstill ends"), null=True, blank=True)
    consented_on = models.DateField(_("consented on"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # The award's id in the source's OCDS data, for an imported process (import_ocds): such
    # an award has no bid here, only its supplier and amount.
    source_ref = models.CharField(max_length=100, blank=True, default="", db_default="")

    objects = AwardQuerySet.as_manager()

    class Meta:
        ordering = ["process", "item_id", "decided_at"]
        verbose_name = _("award")
        verbose_name_plural = _("awards")
        # The consent task looks for granted awards whose standstill has ended.
        indexes = [models.Index(fields=["status", "standstill_ends"], name="award_due_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["process"],
                condition=models.Q(item__isnull=True, status__in=LIVE_STATUSES),
                name="award_one_per_process",
            ),
            models.UniqueConstraint(
                fields=["process", "item"],
                condition=models.Q(item__isnull=False, status__in=LIVE_STATUSES),
                name="award_one_per_item",
            ),
            models.CheckConstraint(
                name="award_status_valid",
                condition=models.Q(status__in=["adjudicado", "consentido", "desierto", "revocado"]),
            ),
            models.CheckConstraint(
                name="award_deserted_has_reason_and_no_winner",
                condition=~models.Q(status="desierto")
                | (~models.Q(reason="") & models.Q(opened_bid__isnull=True, amount__isnull=True)),
            ),
            models.CheckConstraint(
                name="award_granted_has_winner",
                condition=models.Q(status__in=["desierto", "revocado"])
                | (
                    models.Q(supplier__isnull=False, amount__gt=0)
                    & (models.Q(opened_bid__isnull=False) | ~models.Q(source_ref=""))
                ),
            ),
            models.CheckConstraint(
                name="award_consented_has_date",
                condition=~models.Q(status="consentido") | models.Q(consented_on__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_id} item {self.item_id}: {self.status}"

    @property
    def standing_contract(self):
        """The award's contract that stands (procurement.models.contracts.STANDING), or None:
        the award keeps the contracts declared void on record, and may be contracted again."""
        return self.contracts.standing().first()

    @property
    def winner_size_labels(self) -> list[tuple[str, str]]:
        """(RUC, size class label) of each member of the winner, as kept at the award."""
        labels = dict(SizeClass.choices)
        return [(ruc, str(labels.get(size, "—"))) for ruc, size in self.winner_size_classes.items()]

    @property
    def granted(self) -> bool:
        return self.status in (self.Status.AWARDED, self.Status.CONSENTED)
