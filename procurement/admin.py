from django.contrib import admin
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from core.admin_audit import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline

from . import search
from .models import (
    Award,
    Bid,
    BidVersion,
    CalendarAmendment,
    CriteriaAmendment,
    Entity,
    Evaluation,
    EvaluationCriterion,
    PlanItem,
    PlanVersion,
    ProcessStage,
    ProcurementPlan,
    ProcurementProcess,
    ReceiptLedgerEntry,
    StatusChange,
)


@admin.register(Entity)
class EntityAdmin(AuditedModelAdmin):
    list_display = ["ruc", "acronym", "name", "sector", "level", "ubigeo"]
    list_filter = ["level", "sector", "ubigeo__province__department"]
    search_fields = ["ruc", "acronym", "name"]
    raw_id_fields = ["ubigeo"]
    list_select_related = ["sector", "ubigeo"]

    def save_model(self, request, obj, form, change):
        """A new name or acronym is searchable in the entity's processes at once."""
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and {"name", "acronym"} & set(form.changed_data):
                search.refresh(obj.processes.all())


class PlanItemInline(ReadOnlyInline):
    model = PlanItem
    raw_id_fields = ["catalog_item"]
    fields = [
        "reference",
        "object_type",
        "catalog_item",
        "description",
        "quantity",
        "unit",
        "estimated_value",
        "procedure_type",
        "planned_month",
        "sme_reserved",
    ]


@admin.register(ProcurementPlan)
class ProcurementPlanAdmin(ReadOnlyAdmin):
    """Read-only: a plan's entity and year are its ownership, set once when staff create it
    (procurement.services.plans); moving it would hand it to another entity's staff."""

    list_display = ["entity", "fiscal_year", "created_at"]
    list_filter = ["fiscal_year", "entity__level", "entity__sector"]
    search_fields = ["entity__name", "entity__acronym", "entity__ruc"]
    raw_id_fields = ["entity"]
    list_select_related = ["entity"]


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdmin):
    """Read-only: plans are prepared and published by entity staff through the services,
    which enforce the 40% rule, deadlines and the audit trail."""

    list_display = [
        "plan",
        "number",
        "status",
        "approval_date",
        "published_at",
        "published_late",
        "sme_share",
        "sme_compliant",
    ]
    list_filter = ["status", "published_late", "sme_compliant", "plan__fiscal_year"]
    search_fields = ["plan__entity__name", "plan__entity__acronym", "plan__entity__ruc", "reason"]
    list_select_related = ["plan__entity"]
    inlines = [PlanItemInline]


@admin.register(PlanItem)
class PlanItemAdmin(ReadOnlyAdmin):
    list_display = [
        "version",
        "reference",
        "object_type",
        "catalog_item",
        "estimated_value",
        "sme_reserved",
    ]
    list_filter = ["object_type", "procedure_type", "sme_reserved", "version__status"]
    search_fields = ["description", "catalog_item__code", "version__plan__entity__acronym"]
    list_select_related = ["version__plan__entity", "catalog_item"]


class ProcessStageInline(ReadOnlyInline):
    model = ProcessStage
    fields = ["position", "stage", "start", "end"]


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    fields = ["at", "action", "from_status", "to_status", "reason", "return_stage", "actor"]


class CalendarAmendmentInline(ReadOnlyInline):
    model = CalendarAmendment
    fields = ["at", "reason", "changes", "actor"]


class EvaluationCriterionInline(ReadOnlyInline):
    model = EvaluationCriterion
    fields = ["position", "kind", "name", "weight"]


class CriteriaAmendmentInline(ReadOnlyInline):
    model = CriteriaAmendment
    fields = ["at", "reason", "before", "after", "actor"]


@admin.register(ProcurementProcess)
class ProcurementProcessAdmin(ReadOnlyAdmin):
    """Read-only: processes change only through procurement.services.processes, run by the
    entity's staff (the state machine, calendar minimums and audit trail live there)."""

    list_display = [
        "identifier",
        "entity",
        "procedure_type",
        "object_type",
        "estimated_value",
        "status",
        "sme_only",
        "published_at",
    ]
    list_filter = ["status", "procedure_type", "object_type", "sme_only", "fiscal_year"]
    search_fields = ["identifier", "description", "entity__name", "entity__ruc", "entity__acronym"]
    list_select_related = ["entity"]
    date_hierarchy = "published_at"
    show_full_result_count = False
    inlines = [
        ProcessStageInline,
        CalendarAmendmentInline,
        EvaluationCriterionInline,
        CriteriaAmendmentInline,
        StatusChangeInline,
    ]


# --- Sealed bids: before the opening the admin shows what the public ledger shows (counts,
# receipt hashes, instants), never content, blind tags or anything naming a bidder.


@admin.register(Bid)
class BidAdmin(ReadOnlyAdmin):
    list_display = ["id", "process", "status", "paper", "version_count", "current_receipt"]
    list_filter = ["status", "paper"]
    search_fields = ["process__identifier"]
    list_select_related = ["process", "current_version"]
    fields = ["id", "process", "status", "paper", "created_at", "version_count", "current_receipt"]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_versions=Count("versions"))

    @admin.display(description=_("versions"), ordering="_versions")
    def version_count(self, bid):
        return bid._versions

    @admin.display(description=_("current receipt hash"))
    def current_receipt(self, bid):
        return bid.current_version.receipt_hash if bid.current_version_id else "—"


@admin.register(BidVersion)
class BidVersionAdmin(ReadOnlyAdmin):
    list_display = ["receipt_hash", "process", "number", "kind", "received_at"]
    list_filter = ["kind"]
    search_fields = ["receipt_hash", "bid__process__identifier"]
    list_select_related = ["bid__process"]
    fields = ["bid", "process", "number", "kind", "received_at", "receipt_hash"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("process"))
    def process(self, version):
        return version.bid.process


@admin.register(ReceiptLedgerEntry)
class ReceiptLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["position", "receipt_hash", "process", "received_at", "kind", "paper"]
    list_filter = ["kind", "paper"]
    search_fields = ["receipt_hash", "process__identifier"]
    list_select_related = ["process"]
    fields = [
        "position",
        "receipt_hash",
        "process",
        "received_at",
        "kind",
        "paper",
        "signature",
        "previous_hash",
        "chain_hash",
    ]
    readonly_fields = fields
    show_full_result_count = False


# --- Evaluation and award: written only by their services (procurement.services.evaluation,
# .awards); the admin reads them.


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ["process", "version", "status", "published_at"]
    list_filter = ["status"]
    search_fields = ["process__identifier"]
    list_select_related = ["process"]
    fields = ["process", "version", "status", "reason", "bonus_rate", "published_at", "document"]
    readonly_fields = fields
    show_full_result_count = False


@admin.register(Award)
class AwardAdmin(ReadOnlyAdmin):
    list_display = ["process", "item", "status", "supplier", "amount", "decided_at"]
    list_filter = ["status", "winner_sme"]
    search_fields = ["process__identifier", "supplier__ruc", "supplier__legal_name"]
    list_select_related = ["process", "item", "supplier"]
    fields = [
        "process",
        "item",
        "status",
        "reason",
        "supplier",
        "amount",
        "winner_sme",
        "winner_size_classes",
        "decided_at",
        "standstill_days",
        "standstill_ends",
        "consented_on",
    ]
    readonly_fields = fields
    show_full_result_count = False
