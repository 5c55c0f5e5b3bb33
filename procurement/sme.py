"""The 40% SME reservation rule (Law 28015 art. 21): the one place that computes the share.

Planned share = value of SME-reserved eligible items / value of all eligible items, where
eligible means goods and services whose catalog code SMEs can supply (works and consultancy
for works, and codes flagged not SME-suppliable, are left out). The minimum comes from the
fiscal year's parameters (40% by default).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from core.codelists import ObjectType

ELIGIBLE_OBJECTS = (ObjectType.GOODS, ObjectType.SERVICES)
ZERO = Decimal("0")
# A published version records its share with this precision (PlanVersion.sme_share).
SHARE_PLACES = Decimal("0.000001")


def ratio(reserved_value: Decimal, eligible_value: Decimal) -> Decimal | None:
    """Reserved / eligible value: the SME share of one plan or of many plans summed, or None
    when nothing is eligible."""
    if not eligible_value:
        return None
    return reserved_value / eligible_value


@dataclass(frozen=True)
class SmeShare:
    total_value: Decimal
    eligible_value: Decimal
    reserved_value: Decimal
    minimum: Decimal

    @property
    def share(self) -> Decimal | None:
        """Reserved / eligible, or None when nothing in the plan is eligible."""
        return ratio(self.reserved_value, self.eligible_value)

    @property
    def compliant(self) -> bool:
        """At or above the minimum; a plan with nothing eligible has nothing to reserve."""
        share = self.share
        return share is None or share >= self.minimum

    @property
    def shortfall(self) -> Decimal:
        """Value that would still have to be reserved to reach the minimum."""
        if self.compliant:
            return ZERO
        return (self.eligible_value * self.minimum - self.reserved_value).quantize(Decimal("0.01"))


def eligible_items_condition(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}object_type__in": ELIGIBLE_OBJECTS,
            f"{prefix}catalog_item__sme_suppliable": True,
        }
    )


def _sums() -> dict:
    eligible = eligible_items_condition()
    return {
        "total": Coalesce(Sum("estimated_value"), ZERO),
        "eligible": Coalesce(Sum("estimated_value", filter=eligible), ZERO),
        "reserved": Coalesce(Sum("estimated_value", filter=eligible & Q(sme_reserved=True)), ZERO),
    }


def planned_share(items: QuerySet, minimum: Decimal) -> SmeShare:
    """The planned SME share of a set of plan items (one aggregate query)."""
    totals = items.aggregate(**_sums())
    return SmeShare(totals["total"], totals["eligible"], totals["reserved"], minimum)


def planned_shares_by_version(items: QuerySet, minimums: dict[int, Decimal]) -> dict[int, SmeShare]:
    """planned_share for many versions at once (one grouped query), keyed by version id;
    `minimums` maps each version id to its fiscal year's minimum."""
    rows = items.order_by().values("version_id").annotate(**_sums())
    return {
        row["version_id"]: SmeShare(
            row["total"], row["eligible"], row["reserved"], minimums[row["version_id"]]
        )
        for row in rows
    }


def version_share(version) -> SmeShare:
    """The planned share of a plan version under its fiscal year's minimum: live for a draft,
    the figures recorded at publication for a published version (its items never change, and
    a later edit of the catalog's flags must not rewrite what was published)."""
    if version.status == "published":
        minimum = version.sme_min_share
        if minimum is None:
            minimum = version.plan.fiscal_year.sme_reserved_min_share
        return SmeShare(
            version.total_value, version.sme_eligible_value, version.sme_reserved_value, minimum
        )
    minimum = version.plan.fiscal_year.sme_reserved_min_share
    return planned_share(version.items.all(), minimum)


# PlanVersion fields holding the figures recorded at publication, in the order snapshot() gives.
SNAPSHOT_FIELDS = (
    "total_value",
    "sme_eligible_value",
    "sme_reserved_value",
    "sme_share",
    "sme_compliant",
    "sme_min_share",
)


def snapshot(share: SmeShare) -> dict:
    """The figures a version records when it is published, keyed by PlanVersion field: what
    version_share reads back afterwards, and what lists, exports and national totals sum."""
    return {
        "total_value": share.total_value,
        "sme_eligible_value": share.eligible_value,
        "sme_reserved_value": share.reserved_value,
        "sme_share": share.share.quantize(SHARE_PLACES) if share.share is not None else None,
        "sme_compliant": share.compliant,
        "sme_min_share": share.minimum,
    }


def record_snapshot(version, share: SmeShare) -> None:
    """Set a version's publication snapshot (the caller saves it)."""
    for field, value in snapshot(share).items():
        setattr(version, field, value)
