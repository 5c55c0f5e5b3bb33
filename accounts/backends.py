"""Authentication by e-mail; Django's permission checks (admin site, and the pages of apps
that must not import accounts, such as core's audit trail) go through accounts.permissions,
so that every check has the same single source as the portal."""

from django.contrib.auth.backends import ModelBackend

from . import permissions


class PortalBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        return super().authenticate(
            request, username=username or email, password=password, **kwargs
        )

    def has_perm(self, user_obj, perm, obj=None):
        if permissions.is_admin(user_obj):
            return True
        if perm in permissions.ROLE_PERMISSIONS and permissions.holds_role_permission(
            user_obj, perm
        ):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if permissions.is_admin(user_obj):
            return True
        return super().has_module_perms(user_obj, app_label)
