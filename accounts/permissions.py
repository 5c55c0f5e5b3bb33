"""Object-level permissions: the one place that says who may do what to which object.

Entity staff act only on their own entity's objects; supplier users only for their own
supplier; auditors read everything but change nothing; admins manage reference data and
accounts. Every view, service, admin action and API endpoint asks here.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .models import Role


def _memberships(user) -> list[tuple[str, int | None, int | None]]:
    """The user's memberships as (role, entity_id, supplier_id), cached on the user object."""
    if not user or not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, "_portal_memberships", None)
    if cached is None:
        cached = remember_memberships(user, user.memberships.all())
    return cached


def remember_memberships(user, memberships) -> list[tuple[str, int | None, int | None]]:
    """Keep `memberships` (Membership rows, read already) on `user` as _memberships reads them,
    so no check of this request reads them again."""
    user._portal_memberships = [(m.role, m.entity_id, m.supplier_id) for m in memberships]
    return user._portal_memberships


def is_admin(user) -> bool:
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or any(role == Role.ADMIN for role, _e, _s in _memberships(user))


def is_auditor(user) -> bool:
    return any(role == Role.AUDITOR for role, _e, _s in _memberships(user))


def staff_entity_ids(user) -> set[int]:
    return {e for role, e, _s in _memberships(user) if role == Role.ENTITY_STAFF}


def head_entity_ids(user) -> set[int]:
    """The entities whose appeals the user resolves as their head."""
    return {e for role, e, _s in _memberships(user) if role == Role.ENTITY_HEAD}


def is_tribunal(user) -> bool:
    return any(role == Role.TRIBUNAL for role, _e, _s in _memberships(user))


def supplier_ids(user) -> set[int]:
    return {s for role, _e, s in _memberships(user) if role == Role.SUPPLIER_USER}


def owning_entity_id(obj) -> int | None:
    """The entity an object belongs to: the entity itself, or the object's `entity_id`
    (plans, processes and everything under them expose it)."""
    # Recognised by its model label: accounts sits below procurement and never imports it.
    if getattr(getattr(obj, "_meta", None), "label_lower", None) == "procurement.entity":
        return obj.pk
    return getattr(obj, "entity_id", None)


def can_manage_entity_object(user, obj) -> bool:
    """Staff of the owning entity may change it; nobody else (admins manage reference data
    in the admin site, not an entity's procurement)."""
    entity_id = owning_entity_id(obj)
    return entity_id is not None and entity_id in staff_entity_ids(user)


def can_act_for_supplier(user, supplier) -> bool:
    supplier_id = getattr(supplier, "pk", supplier)
    return supplier_id is not None and supplier_id in supplier_ids(user)


def can_read_audit_trail(user) -> bool:
    return is_admin(user) or is_auditor(user)


# Django permissions a portal role carries beyond what admins hold (admins hold all): apps
# below accounts (core) ask `user.has_perm(...)` and the authentication backend answers here.
ROLE_PERMISSIONS = {
    "core.view_auditentry": can_read_audit_trail,
    "core.view_health_details": is_admin,
}


def holds_role_permission(user, perm: str) -> bool:
    check = ROLE_PERMISSIONS.get(perm)
    return check is not None and check(user)


def require_entity_staff(user, obj) -> None:
    if not can_manage_entity_object(user, obj):
        raise PermissionDenied(_("Only staff of the entity that owns this record may change it."))


def require_audit_reader(user) -> None:
    """The auditor workspace (/auditoria/) is for auditors and admins only."""
    if not can_read_audit_trail(user):
        raise PermissionDenied(_("Only auditors and administrators may use the auditor workspace."))


def require_supplier_user(user, supplier) -> None:
    if not can_act_for_supplier(user, supplier):
        raise PermissionDenied(_("Only users of this supplier may act on its behalf."))
