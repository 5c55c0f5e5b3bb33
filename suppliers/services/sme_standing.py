"""Whether a supplier counts as a micro or small enterprise on a given day: the one answer
behind the SME-only reservation (Law 28015 art. 21), asked at registration and at bid
submission.

The rule, as the portal applies it:

- The classification that counts on `day` is based on the sales of one of the two years
  before it (`day.year - 1` or `day.year - 2`): the newest such sales year, and within it the
  latest classification (an administrative review made after a declaration replaces it).
  Older sales do not count, however small they were.
- The SME rule is the one in force on `day`: the rule of `day`'s fiscal year (or of the
  latest fiscal year before it, while the next year's parameters are not loaded).
- A classification made under another rule (the rule of its sales year, as
  `classify_supplier` does) is not thrown away: its declared sales, in UIT of their own year,
  and its workers are classified again under the rule in force, with the same function
  (`SmeRule.classify`). Declared figures are facts; which thresholds apply is the law of the
  day. So a change of rule neither disqualifies every supplier at once nor keeps one whose
  figures the new rule no longer admits.
"""

from dataclasses import dataclass
from datetime import date

from core import clock
from core.codelists import SizeClass
from core.models import FiscalYear, SmeRule

from ..models import SizeClassification, Supplier


@dataclass(frozen=True)
class SmeStanding:
    """A supplier's size on `day`: the classification that counts (or None), the rule in
    force, and the size class under that rule."""

    day: date
    rule: SmeRule | None
    classification: SizeClassification | None
    size_class: str  # under `rule`; "" when no classification counts

    @property
    def sales_years(self) -> tuple[int, int]:
        """The sales years a classification may be based on, older first."""
        return self.day.year - 2, self.day.year - 1

    @property
    def reclassified(self) -> bool:
        """The classification was made under another rule and re-read under `rule`."""
        return (
            self.classification is not None
            and self.rule is not None
            and self.classification.rule_id != self.rule.pk
        )

    @property
    def is_sme(self) -> bool:
        return SizeClass.is_sme(self.size_class)

    def get_size_class_display(self) -> str:
        return str(SizeClass(self.size_class).label) if self.size_class else ""


def sme_rule_in_force(day: date) -> SmeRule | None:
    """The SME rule in force on `day`: its fiscal year's, or the latest year's before it."""
    year = (
        FiscalYear.objects.filter(year__lte=day.year)
        .select_related("sme_rule")
        .order_by("-year")
        .first()
    )
    return year.sme_rule if year else None


def sme_standing_on(supplier: Supplier, day: date | None = None) -> SmeStanding:
    """The supplier's size on `day` (today by default), by the rule in the module docstring."""
    day = day or clock.today()
    rule = sme_rule_in_force(day)
    classification = (
        SizeClassification.objects.filter(
            supplier=supplier, sales_year__in=[day.year - 1, day.year - 2]
        )
        .select_related("rule", "sales_year")
        .order_by("-sales_year", "-classified_at", "-id")
        .first()
    )
    if classification is None or rule is None:
        return SmeStanding(day, rule, classification, "")
    if classification.rule_id == rule.pk:
        size_class = classification.size_class
    else:
        sales_uit = classification.sales_year.to_uit(classification.annual_sales)
        size_class = rule.classify(sales_uit, classification.workers)
    return SmeStanding(day, rule, classification, str(size_class))
