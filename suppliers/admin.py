from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_audit import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline
from core.errors import DomainError

from . import services
from .models import SizeClassification, Supplier


class OwnershipReviewFilter(admin.SimpleListFilter):
    """The review queue: confirmed self-registrations whose claim on the RUC waits for an
    admin."""

    title = _("ownership review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("pending", _("Waiting for review"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(ownership_provisional=True, awaiting_confirmation=False)
        return queryset


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
        "email_domain",
        "registry_valid_until",
        "ownership_provisional",
    ]
    list_filter = [
        OwnershipReviewFilter,
        "size_class",
        "size_rule",
        "domicile__province__department",
    ]
    actions = ["approve_ownership"]
    search_fields = ["ruc", "legal_name", "trade_name", "email"]
    raw_id_fields = ["domicile"]
    autocomplete_fields = ["categories"]
    readonly_fields = ["size_class", "size_rule", "awaiting_confirmation", "ownership_provisional"]
    list_select_related = ["domicile", "size_rule"]
    date_hierarchy = "registered_at"
    inlines = [SizeClassificationInline]

    @admin.display(description=_("e-mail domain"))
    def email_domain(self, supplier):
        return supplier.email.rpartition("@")[2]

    @admin.action(description=_("Approve the ownership claim of the selected suppliers"))
    def approve_ownership(self, request, queryset):
        approved = 0
        for supplier in queryset:
            try:
                services.approve_ownership(supplier, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"{supplier}: {error.message}", messages.ERROR)
            else:
                approved += 1
        self.message_user(
            request,
            ngettext("%(count)d claim approved.", "%(count)d claims approved.", approved)
            % {"count": approved},
            messages.SUCCESS,
        )


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
