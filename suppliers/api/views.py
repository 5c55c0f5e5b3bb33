"""The supplier registry in the public API (/api/v1/suppliers/): the public record only,
starting from Supplier.objects.public() like the pages."""

from django.db.models import Prefetch
from rest_framework import viewsets

from core import clock

from ..filters import SupplierFilter
from ..models import Sanction, SizeClassification, Supplier
from . import serializers


class SupplierViewSet(viewsets.ReadOnlyModelViewSet):
    """Suppliers in the registry (an unconfirmed self-registration is nobody's business)."""

    queryset = Supplier.objects.public()
    filterset_class = SupplierFilter
    lookup_field = "ruc"
    cursor_ordering = "ruc"

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                "categories",
                Prefetch(
                    "classifications", SizeClassification.objects.order_by("-classified_at", "-id")
                ),
                Prefetch(
                    "sanctions",
                    Sanction.objects.in_force_on(clock.today()),
                    to_attr="sanctions_in_force",
                ),
            )
        return queryset

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.SupplierDetailSerializer
        return serializers.SupplierSerializer
