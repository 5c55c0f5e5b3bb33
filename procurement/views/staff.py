"""What every entity-staff page needs: the user's entities, and the record they may manage
(object-level permission from accounts.permissions), or a 403 that says why."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from accounts import permissions

from ..models import Entity


def staff_entities_or_403(user) -> list[Entity]:
    ids = permissions.staff_entity_ids(user)
    if not ids:
        raise PermissionDenied(_("This page is for the staff of a public entity."))
    return list(Entity.objects.filter(pk__in=ids).order_by("name"))


def managed_or_403(user, queryset, **lookup):
    """The record, if it exists (404 otherwise) and belongs to one of the user's entities."""
    obj = get_object_or_404(queryset, **lookup)
    if not permissions.can_manage_entity_object(user, obj):
        raise PermissionDenied(_("Only staff of the entity that owns this record may change it."))
    return obj
