from django.contrib import admin

from core.admin_audit import AuditedModelAdmin

from .models import Entity


@admin.register(Entity)
class EntityAdmin(AuditedModelAdmin):
    list_display = ["ruc", "acronym", "name", "sector", "level", "ubigeo"]
    list_filter = ["level", "sector", "ubigeo__province__department"]
    search_fields = ["ruc", "acronym", "name"]
    raw_id_fields = ["ubigeo"]
    list_select_related = ["sector", "ubigeo"]
