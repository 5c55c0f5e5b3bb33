"""A suggested subscription for a supplier's user (issue 13: "a new supplier gets a suggested
subscription from its registry categories and domicile"): the supplier's registry categories
(a family matches its commodities) in its domicile's department. It is only suggested: the
subscriptions page offers it, the form opens filled with it, and nothing is sent until the
user saves it."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.permissions import supplier_ids
from core.catalog import code_prefix
from suppliers.models import Supplier

from .matching import Criteria

MAX_CATEGORIES = 20  # a suggestion names at most this many registry categories


@dataclass(frozen=True)
class Suggestion:
    name: str
    criteria: Criteria
    supplier: Supplier
    categories: list  # the CatalogItems it names
    department: object  # core.models.Department


def suggested_subscription(user) -> Suggestion | None:
    """The suggestion for the first supplier `user` acts for (by name), or None for a user
    who acts for no supplier (a plain account, staff, an auditor)."""
    ids = supplier_ids(user)
    if not ids:
        return None
    supplier = (
        Supplier.objects.select_related("domicile__province__department")
        .filter(pk__in=ids)
        .order_by("legal_name", "pk")
        .first()
    )
    categories = list(supplier.categories.order_by("code")[:MAX_CATEGORIES])
    department = supplier.domicile.province.department
    prefixes = sorted({code_prefix(c.code) for c in categories}, key=lambda p: (len(p), p))
    covered = []  # a family already covers its commodities: name it alone
    for prefix in prefixes:
        if not any(prefix.startswith(shorter) for shorter in covered):
            covered.append(prefix)
    criteria = Criteria(catalog=tuple(sorted(covered)), regions=(department.code,))
    if covered:
        name = _("My categories in %(department)s") % {"department": department.name}
    else:
        name = _("Processes in %(department)s") % {"department": department.name}
    return Suggestion(
        name=name[:100],
        criteria=criteria,
        supplier=supplier,
        categories=categories,
        department=department,
    )
