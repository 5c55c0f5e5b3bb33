from django.contrib import admin

from core.admin_audit import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline

from .models import SizeClassification, Supplier


class SizeClassificationInline(ReadOnlyInline):
    model = SizeClassification
    fields = [
        "classified_at",
        "rule",
        "sales_year",
        "annual_sales",
        "workers",
        "sales_uit",
        "size_class",
        "source",
    ]


@admin.register(Supplier)
class SupplierAdmin(AuditedModelAdmin):
    list_display = [
        "ruc",
        "legal_name",
        "size_class",
        "size_rule",
        "domicile",
        "registry_valid_until",
    ]
    list_filter = ["size_class", "size_rule", "domicile__province__department"]
    search_fields = ["ruc", "legal_name", "trade_name", "email"]
    raw_id_fields = ["domicile"]
    autocomplete_fields = ["categories"]
    readonly_fields = ["size_class", "size_rule"]
    list_select_related = ["domicile", "size_rule"]
    date_hierarchy = "registered_at"
    inlines = [SizeClassificationInline]


@admin.register(SizeClassification)
class SizeClassificationAdmin(ReadOnlyAdmin):
    """History to read: classifications are made by suppliers.services.classify_supplier,
    which keeps the supplier's current class in step."""

    list_display = [
        "supplier",
        "rule",
        "sales_year",
        "annual_sales",
        "workers",
        "size_class",
        "classified_at",
    ]
    list_filter = ["rule", "size_class", "source", "sales_year"]
    search_fields = ["supplier__ruc", "supplier__legal_name"]
    raw_id_fields = ["supplier", "classified_by"]
    list_select_related = ["supplier"]
