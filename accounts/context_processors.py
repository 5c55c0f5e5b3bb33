from . import permissions


def portal_roles(request):
    """What the navigation needs to know about the current user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_is_portal_admin": permissions.is_admin(user),
        "user_is_auditor": permissions.is_auditor(user),
        "user_entity_ids": permissions.staff_entity_ids(user),
        "user_supplier_ids": permissions.supplier_ids(user),
        "user_resolves_appeals": bool(permissions.head_entity_ids(user))
        or permissions.is_tribunal(user),
    }
