from django.contrib import admin

from core.admin_audit import AuditedModelAdmin

from .models import Event


@admin.register(Event)
class EventAdmin(AuditedModelAdmin):
    """Events are written by services; an admin may only delete them, and that is audited."""

    list_display = [
        "created_at",
        "kind",
        "entity",
        "object_type",
        "object_id",
        "dispatched_at",
        "attempts",
    ]
    list_filter = ["kind", "audience", "dispatched_at"]
    search_fields = ["object_id", "entity__name", "entity__ruc"]
    raw_id_fields = ["entity"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
