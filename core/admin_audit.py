"""Admin edits are changes like any other: each save and delete (one by one or with the bulk
"delete selected" action) and each password set by an admin leaves an audit entry, in the
admin's own transaction. Every model registered in the admin uses AuditedModelAdmin or is
read-only there (a test walks the registry)."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
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
        """The bulk "delete selected" action: one entry per deleted row."""
        with transaction.atomic():
            for obj in queryset:
                audit.record(request.user, "admin.deleted", obj, {"repr": str(obj)})
            super().delete_queryset(request, queryset)

    def user_change_password(self, request, id, form_url=""):
        """Django's UserAdmin sets a password with its own form and view, not save_model: audit
        it here, in the same transaction. (Reached only when this class comes before Django's
        UserAdmin in the bases; other models have no such view.) The hash is never recorded."""
        with transaction.atomic():
            user = self.get_object(request, unquote(id))
            before = user.password if user is not None else None
            response = super().user_change_password(request, id, form_url)
            if user is not None:
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    audit.record(
                        request.user,
                        "admin.password_changed",
                        user,
                        {"usable": user.has_usable_password()},
                    )
            return response


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
