from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from core.admin_audit import AuditedModelAdmin

from . import services
from .forms import AdminAccountCreationForm
from .models import Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["entity", "supplier"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "email_verified_at",
        "date_joined",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "memberships__role"]
    search_fields = ["email", "full_name"]
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal data"), {"fields": ("full_name",)}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "email_verified_at")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_form = AdminAccountCreationForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    def save_model(self, request, obj, form, change):
        """A new account is either verified (the admin set its password) or is sent a
        set-password link; it is never left unverified for a registration to claim."""
        super().save_model(request, obj, form, change)
        if not change and getattr(form, "sends_set_password_link", False):
            services.send_set_password_email(obj)


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ["user", "role", "entity", "supplier", "created_at"]
    list_filter = ["role"]
    search_fields = [
        "user__email",
        "entity__name",
        "entity__ruc",
        "supplier__legal_name",
        "supplier__ruc",
    ]
    raw_id_fields = ["user", "entity", "supplier"]
    list_select_related = ["user", "entity", "supplier"]
