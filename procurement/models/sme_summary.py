"""The SME share pages' figures summed ahead (issue 11): derived data, written only by
procurement.sme.refresh_summary with the live computation's rules, and read by the national
ranking, the compliance pages, their CSVs and the home headline. At a million processes the
live sums take seconds to minutes; these rows are few (an entity's year has at most twelve)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .entities import Entity

# sme.DECIMAL's precision: an eligible part split across items keeps its decimals, so that
# summing these rows gives the live figures.
VALUE = {"max_digits": 30, "decimal_places": 10, "default": 0}


class SmeShareMonth(models.Model):
    """The actual-share figures (sme.ActualShare) of the contracts an entity signed in one
    month: the grain the compliance page's chart needs, summed for every other figure."""

    entity = models.ForeignKey(Entity, models.CASCADE, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    month = models.PositiveSmallIntegerField(_("month"))
    eligible_value = models.DecimalField(_("eligible value"), **VALUE)
    sme_value = models.DecimalField(_("SME value"), **VALUE)
    micro_value = models.DecimalField(_("micro value"), **VALUE)
    unknown_value = models.DecimalField(_("value of unknown size"), **VALUE)
    contracts = models.PositiveIntegerField(_("contracts"), default=0)
    unknown_contracts = models.PositiveIntegerField(_("contracts of unknown size"), default=0)
    sme_wins_reserved = models.PositiveIntegerField(_("SME wins, SME-only"), default=0)
    sme_wins_open = models.PositiveIntegerField(_("SME wins, open"), default=0)

    class Meta:
        ordering = ["fiscal_year", "entity", "month"]
        verbose_name = _("SME share of a month")
        verbose_name_plural = _("SME shares of months")
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "entity", "month"], name="sme_share_month_once"
            ),
            models.CheckConstraint(
                condition=models.Q(month__gte=1, month__lte=12), name="sme_share_month_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_id} {self.fiscal_year}-{self.month:02d}"


class SmeLeadTimeYear(models.Model):
    """An entity's called processes of a fiscal year and their days from the call to the bid
    deadline, as totals and counts (sme.LeadTime averages them)."""

    entity = models.ForeignKey(Entity, models.CASCADE, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    processes = models.PositiveIntegerField(_("processes"), default=0)
    reserved = models.PositiveIntegerField(_("SME-only processes"), default=0)
    sme_only_days = models.IntegerField(_("days, SME-only processes"), default=0)
    sme_only_timed = models.PositiveIntegerField(_("SME-only processes with both dates"), default=0)
    open_days = models.IntegerField(_("days, open processes"), default=0)
    open_timed = models.PositiveIntegerField(_("open processes with both dates"), default=0)

    class Meta:
        ordering = ["fiscal_year", "entity"]
        verbose_name = _("SME lead time of a year")
        verbose_name_plural = _("SME lead times of years")
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year", "entity"], name="sme_lead_time_once"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_id} {self.fiscal_year}"
