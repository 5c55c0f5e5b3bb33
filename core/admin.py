from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group

from .admin_audit import AuditedModelAdmin
from .models import (
    AuditEntry,
    CatalogItem,
    Department,
    District,
    FiscalYear,
    NonWorkingDay,
    ProcedureStage,
    ProcedureThreshold,
    Province,
    Sector,
    SmeRule,
    StageMinimum,
)
from .signals import sme_suppliable_changed


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Province)
class ProvinceAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "department"]
    list_filter = ["department"]
    search_fields = ["code", "name"]


@admin.register(District)
class DistrictAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "province"]
    list_filter = ["province__department"]
    list_select_related = ["province__department"]
    search_fields = ["code", "name", "province__name"]


@admin.register(CatalogItem)
class CatalogItemAdmin(AuditedModelAdmin):
    list_display = ["code", "level", "name_es", "name_en", "sme_suppliable"]
    list_filter = ["level", "sme_suppliable"]
    list_editable = ["sme_suppliable"]
    search_fields = ["code", "name_es", "name_en"]
    raw_id_fields = ["parent"]
    list_per_page = 50

    def save_model(self, request, obj, form, change):
        """A changed SME-suppliable flag (here or in the list) moves the SME share of every
        contract under the code: the apps above are told once per request."""
        super().save_model(request, obj, form, change)
        if "sme_suppliable" in form.changed_data and not getattr(request, "_sme_told", False):
            request._sme_told = True
            sme_suppliable_changed.send(sender=CatalogItem)


@admin.register(Sector)
class SectorAdmin(AuditedModelAdmin):
    list_display = ["code", "name_es", "name_en"]
    search_fields = ["code", "name_es", "name_en"]


@admin.register(SmeRule)
class SmeRuleAdmin(AuditedModelAdmin):
    list_display = [
        "code",
        "name",
        "micro_max_workers",
        "micro_max_sales_uit",
        "small_max_workers",
        "small_max_sales_uit",
        "medium_max_sales_uit",
    ]
    search_fields = ["code", "name", "law"]


class ProcedureThresholdInline(admin.TabularInline):
    model = ProcedureThreshold
    extra = 0


@admin.register(FiscalYear)
class FiscalYearAdmin(AuditedModelAdmin):
    list_display = ["year", "uit", "sme_rule", "sme_reserved_min_share", "provisional"]
    list_filter = ["sme_rule", "provisional"]
    search_fields = ["year"]
    inlines = [ProcedureThresholdInline]


@admin.register(ProcedureThreshold)
class ProcedureThresholdAdmin(AuditedModelAdmin):
    list_display = [
        "fiscal_year",
        "procedure_type",
        "object_type",
        "min_amount",
        "min_uit",
        "max_amount",
        "max_uit",
    ]
    list_filter = ["fiscal_year", "procedure_type", "object_type"]
    search_fields = ["note"]


@admin.register(ProcedureStage)
class ProcedureStageAdmin(AuditedModelAdmin):
    list_display = ["procedure_type", "position", "stage"]
    list_filter = ["procedure_type", "stage"]
    search_fields = ["procedure_type", "stage"]


@admin.register(StageMinimum)
class StageMinimumAdmin(AuditedModelAdmin):
    list_display = [
        "procedure_type",
        "stage",
        "edge",
        "from_stage",
        "from_edge",
        "working_days",
        "note",
    ]
    list_filter = ["procedure_type", "stage"]
    search_fields = ["note"]


@admin.register(NonWorkingDay)
class NonWorkingDayAdmin(AuditedModelAdmin):
    list_display = ["date", "name", "legal_source"]
    date_hierarchy = "date"
    search_fields = ["name", "legal_source"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only (a database trigger refuses changes too)."""

    list_display = ["sequence", "created_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action", "object_id", "entry_hash"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Django's own Group admin (registered by django.contrib.auth) writes without audit: groups
# grant permissions, so their changes are audited like every other admin write.
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedModelAdmin, DjangoGroupAdmin):
    pass
