from django.contrib import admin

from core.admin_audit import AuditedModelAdmin

from .models import SizeClassification, Supplier


class SizeClassificationInline(admin.TabularInline):
    model = SizeClassification
    extra = 0
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
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


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
class SizeClassificationAdmin(AuditedModelAdmin):
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

    # Classifications are made by suppliers.services.classify_supplier (it keeps the
    # supplier's current class in step); here they are history to read.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
