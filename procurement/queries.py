"""Read-side queries shared by pages, the API and exports."""

from django.db.models import Count, Q

from core.codelists import SizeClass
from suppliers.models import Supplier

from .models import Entity


def entities_with_location():
    return Entity.objects.select_related("sector", "ubigeo__province__department")


def portal_headline() -> dict:
    """Figures for the home page headline."""
    suppliers = Supplier.objects.aggregate(
        total=Count("id"), sme=Count("id", filter=Q(size_class__in=SizeClass.sme_values()))
    )
    total = suppliers["total"]
    return {
        "entities": Entity.objects.count(),
        "suppliers": total,
        "sme_suppliers": suppliers["sme"],
        "sme_supplier_share": (suppliers["sme"] / total) if total else None,
    }
