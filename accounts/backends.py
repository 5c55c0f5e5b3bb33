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

    def get_user(self, user_id):
        """The session's user, read with its memberships in one statement (each membership
        row joined to its user) and kept on it as accounts.permissions reads them once per
        request (user._portal_memberships): a request that asks the user's roles, as every
        page's navigation does, reads no second row set. A user without memberships is read
        alone, as Django reads it."""
        from .models import Membership

        rows = list(Membership.objects.filter(user_id=user_id).select_related("user").order_by())
        if not rows:
            user = super().get_user(user_id)
            if user is not None:
                permissions.remember_memberships(user, [])  # known: none (no third query)
            return user
        user = rows[0].user
        permissions.remember_memberships(user, rows)
        return user if self.user_can_authenticate(user) else None

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
