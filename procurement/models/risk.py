"""Red flags of corruption risk per process, and the process's risk score (issue 15).

Rows here are derived data: written only by procurement.red_flags.refresh, which runs the
rule functions of procurement.red_flags (one per flag) and replaces the rows of the processes
it recomputed. Never inserted by hand; the auditor pages read them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .entities import Entity
from .processes import ProcurementProcess


class RiskFlagCode(models.TextChoices):
    SINGLE_BIDDER = "single_bidder", _("Single bidder")
    SHORT_BID_WINDOW = "short_bid_window", _("Bid window shorter than the legal minimum")
    AWARD_ABOVE_ESTIMATE = "award_above_estimate", _("Award above the estimated value")
    AMENDED_ABOVE_LIMIT = "amended_above_limit", _("Contract amended above 25%")
    REPEATED_DIRECT = "repeated_direct", _("Repeated direct contracting by the entity")
    RECURRENT_WINNER = "recurrent_winner", _("The same supplier wins again and again")
    NEAR_IDENTICAL_BIDS = "near_identical_bids", _("Identical or near-identical bid amounts")
    SHARED_CONTACT = (
        "shared_contact",
        _("Bidders sharing a legal representative, address, phone or e-mail"),
    )
    FAST_AWARD = "fast_award", _("Very short time from call to award")
    SPLIT_PURCHASE = "split_purchase", _("Purchase split just under a threshold")


class ProcessRiskFlag(models.Model):
    """One red flag raised on a process, with the evidence the rule found."""

    process = models.ForeignKey(ProcurementProcess, models.CASCADE, related_name="risk_flags")
    code = models.CharField(_("flag"), max_length=30, choices=RiskFlagCode.choices)
    evidence = models.JSONField(_("evidence"), default=dict)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        ordering = ["process", "code"]
        verbose_name = _("red flag")
        verbose_name_plural = _("red flags")
        constraints = [
            models.UniqueConstraint(fields=["process", "code"], name="risk_flag_once"),
        ]
        indexes = [models.Index(fields=["code", "process"], name="risk_flag_code")]

    def __str__(self) -> str:
        return f"{self.process_id} {self.code}"


class ProcessRisk(models.Model):
    """The risk score of a flagged process (procurement.red_flags.process_score), with what
    the auditor list sorts and filters by copied from the process."""

    process = models.OneToOneField(
        ProcurementProcess, models.CASCADE, primary_key=True, related_name="risk"
    )
    entity = models.ForeignKey(Entity, models.CASCADE, related_name="+")
    published_at = models.DateTimeField(_("called"))
    score = models.PositiveSmallIntegerField(_("risk score"))
    flag_count = models.PositiveSmallIntegerField(_("red flags"))
    # The codes of its flags (the ProcessRiskFlag rows), for lists and exports in one query.
    codes = models.JSONField(_("flags"), default=list)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        ordering = ["-score", "-process_id"]
        verbose_name = _("process risk")
        verbose_name_plural = _("process risks")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__lte=100), name="process_risk_score_at_most_100"
            ),
        ]
        indexes = [
            models.Index(fields=["score", "process"], name="risk_score_keyset"),
            models.Index(fields=["published_at", "process"], name="risk_date_keyset"),
            models.Index(fields=["entity", "score"], name="risk_entity"),
        ]

    def __str__(self) -> str:
        return f"{self.process_id}: {self.score}"
