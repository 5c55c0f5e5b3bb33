"""The evaluation table of a process (issue 10): after the opening the committee judges
every bid the act made readable, per lot (the whole process, or each item when it is called
by items). The rules live in procurement.services.evaluation; here are the records.

A table is versioned: version 1 after the opening; a later version (after a founded appeal)
needs its reason. A published version never changes (PostgreSQL triggers refuse UPDATE and
DELETE of a published table and of its rows) and its PDF is an immutable process document
with its SHA-256.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .criteria import EvaluationCriterion
from .opening import BidOpening, OpenedBid
from .processes import ProcessDocument, ProcessItem, ProcurementProcess


class EvaluationQuerySet(models.QuerySet):
    def public(self):
        """Published versions of the tables of published processes (a draft is the
        committee's business): what the evaluation page and the API show."""
        return self.filter(status="published", process__in=ProcurementProcess.objects.published())


class Evaluation(models.Model):
    """One version of a process's evaluation table: a draft the committee fills, then
    published (with its PDF) and immutable."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="evaluations")
    opening = models.ForeignKey(BidOpening, models.PROTECT, related_name="evaluations")
    version = models.PositiveSmallIntegerField(_("version"))
    reason = models.TextField(_("reason for the new version"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # The local SME bonus rate (a fraction of the total) in force when the table was started.
    bonus_rate = models.DecimalField(_("local SME bonus rate"), max_digits=5, decimal_places=4)
    created_at = models.DateTimeField(_("started"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    document = models.OneToOneField(
        ProcessDocument, models.PROTECT, null=True, blank=True, related_name="evaluation"
    )

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        ordering = ["process", "version"]
        verbose_name = _("evaluation table")
        verbose_name_plural = _("evaluation tables")
        constraints = [
            models.UniqueConstraint(
                fields=["process", "version"], name="evaluation_version_unique"
            ),
            models.UniqueConstraint(
                fields=["process"],
                condition=models.Q(status="draft"),
                name="evaluation_one_draft",
            ),
            models.CheckConstraint(
                name="evaluation_new_version_has_reason",
                condition=models.Q(version=1) | ~models.Q(reason=""),
            ),
            models.CheckConstraint(
                name="evaluation_published_has_document",
                condition=models.Q(status="draft")
                | models.Q(document__isnull=False, published_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_id} evaluation v{self.version} ({self.status})"

    @property
    def published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class EvaluationEntry(models.Model):
    """One bid in one lot of an evaluation table: admissible or not (with the reason), its
    scores, the local SME bonus, total and rank. The price is the bid's total, or its line
    for the item when the process is awarded by items. The SME facts are the snapshot taken
    when the table was started (procurement.services.evaluation.bidder_standing)."""

    evaluation = models.ForeignKey(Evaluation, models.PROTECT, related_name="entries")
    opened_bid = models.ForeignKey(OpenedBid, models.PROTECT, related_name="+")
    item = models.ForeignKey(
        ProcessItem, models.PROTECT, null=True, blank=True, related_name="+"
    )  # null: the whole process
    price = models.DecimalField(_("price (S/)"), max_digits=20, decimal_places=2)
    admissible = models.BooleanField(_("admissible"), null=True)  # null: not judged yet
    inadmissible_reason = models.TextField(_("why it is not admissible"), blank=True)
    technical_score = models.DecimalField(
        _("technical score"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    economic_score = models.DecimalField(
        _("economic score"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    bonus = models.DecimalField(
        _("local SME bonus"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    total = models.DecimalField(
        _("total score"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    rank = models.PositiveSmallIntegerField(_("rank"), null=True, blank=True)
    sme = models.BooleanField(_("SME bidder"), default=False)
    local_sme = models.BooleanField(_("local SME (bonus applies)"), default=False)
    # {ruc: size class} of the bidder (each consortium member), as the snapshot found them.
    size_classes = models.JSONField(_("size classes"), default=dict)

    class Meta:
        ordering = ["evaluation", "item_id", "rank", "opened_bid__position"]
        verbose_name = _("evaluation entry")
        verbose_name_plural = _("evaluation entries")
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "opened_bid"],
                condition=models.Q(item__isnull=True),
                name="evaluation_entry_once",
            ),
            models.UniqueConstraint(
                fields=["evaluation", "opened_bid", "item"],
                condition=models.Q(item__isnull=False),
                name="evaluation_entry_once_per_item",
            ),
            models.CheckConstraint(
                name="evaluation_entry_inadmissible_has_reason",
                condition=~models.Q(admissible=False) | ~models.Q(inadmissible_reason=""),
            ),
            models.CheckConstraint(
                name="evaluation_entry_price_positive", condition=models.Q(price__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id} bid {self.opened_bid_id} item {self.item_id}"


class TechnicalScore(models.Model):
    """The score a technical criterion gives one entry: 0 up to the criterion's weight."""

    entry = models.ForeignKey(EvaluationEntry, models.PROTECT, related_name="scores")
    criterion = models.ForeignKey(EvaluationCriterion, models.PROTECT, related_name="+")
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["entry", "criterion__position"]
        verbose_name = _("technical score")
        verbose_name_plural = _("technical scores")
        constraints = [
            models.UniqueConstraint(fields=["entry", "criterion"], name="technical_score_once"),
            models.CheckConstraint(
                name="technical_score_not_negative", condition=models.Q(score__gte=Decimal(0))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.criterion_id}: {self.score}"
