"""Admin edits are changes like any other: each save and delete leaves an audit entry, in the
admin's own transaction."""

from django.contrib import admin
from django.db import transaction

from . import audit


class AuditedModelAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                request.user,
                "admin.changed" if change else "admin.added",
                obj,
                {"fields": sorted(form.changed_data)},
            )

    def save_formset(self, request, form, formset, change):
        """Inline rows (memberships, thresholds...) are audited one by one."""
        doomed = [
            (f.instance._meta.label_lower, f.instance.pk, str(f.instance))
            for f in formset.deleted_forms
            if f.instance.pk
        ]
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            for obj in formset.new_objects:
                audit.record(request.user, "admin.added", obj, {"parent": str(form.instance)})
            for obj, fields in formset.changed_objects:
                audit.record(request.user, "admin.changed", obj, {"fields": sorted(fields)})
            for label, pk, text in doomed:
                audit.record(request.user, "admin.deleted", (label, pk), {"repr": text})

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(request.user, "admin.deleted", obj, {"repr": str(obj)})
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit.record(request.user, "admin.deleted", obj, {"repr": str(obj)})
            super().delete_queryset(request, queryset)


class ReadOnlyAdmin(AuditedModelAdmin):
    """For records that change only through services (which enforce the domain rules) or
    never at all: the admin shows them, searchable and filterable, but cannot edit them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields or []

    def has_add_permission(self, request, obj=None):
        return False
