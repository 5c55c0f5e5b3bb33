from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class PortalAdminSite(admin.AdminSite):
    site_header = _("Procurement portal administration")
    site_title = _("Portal administration")

    def has_permission(self, request):
        from accounts import permissions

        return permissions.is_admin(request.user)


class PortalAdminConfig(AdminConfig):
    default_site = "config.admin.PortalAdminSite"
