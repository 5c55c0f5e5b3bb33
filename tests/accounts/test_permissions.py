import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts import permissions
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    UserFactory,
    admin_user,
    auditor,
    staff_of,
    user_of,
)

pytestmark = pytest.mark.django_db


class Owned:
    """Any record that belongs to an entity (plans, processes...) exposes entity_id."""

    def __init__(self, entity):
        self.entity_id = entity.pk


def test_staff_of_entity_a_is_refused_on_entity_b_objects():
    entity_a, entity_b = EntityFactory(), EntityFactory()
    staff_a = staff_of(entity_a)
    assert permissions.can_manage_entity_object(staff_a, entity_a)
    assert permissions.can_manage_entity_object(staff_a, Owned(entity_a))
    assert not permissions.can_manage_entity_object(staff_a, entity_b)
    assert not permissions.can_manage_entity_object(staff_a, Owned(entity_b))
    permissions.require_entity_staff(staff_a, Owned(entity_a))
    with pytest.raises(PermissionDenied):
        permissions.require_entity_staff(staff_a, Owned(entity_b))


@pytest.mark.parametrize(
    "make_user", ["supplier", "auditor", "admin", "plain", "anonymous", "inactive"]
)
def test_nobody_but_the_entitys_staff_manages_its_objects(make_user):
    entity = EntityFactory()
    user = {
        "supplier": lambda: user_of(SupplierFactory()),
        "auditor": auditor,
        "admin": admin_user,
        "plain": UserFactory,
        "anonymous": AnonymousUser,
        "inactive": lambda: staff_of(entity, is_active=False),
    }[make_user]()
    assert not permissions.can_manage_entity_object(user, entity)
    with pytest.raises(PermissionDenied):
        permissions.require_entity_staff(user, Owned(entity))


def test_supplier_users_act_only_for_their_supplier():
    mine, other = SupplierFactory(), SupplierFactory()
    user = user_of(mine)
    assert permissions.can_act_for_supplier(user, mine)
    assert not permissions.can_act_for_supplier(user, other)
    with pytest.raises(PermissionDenied):
        permissions.require_supplier_user(user, other)
    assert not permissions.can_act_for_supplier(staff_of(EntityFactory()), mine)


def test_audit_trail_readers_are_auditors_and_admins():
    assert permissions.can_read_audit_trail(auditor())
    assert permissions.can_read_audit_trail(admin_user())
    assert not permissions.can_read_audit_trail(staff_of(EntityFactory()))
    assert not permissions.can_read_audit_trail(AnonymousUser())


def test_admin_site_is_for_admins_only(client):
    client.force_login(staff_of(EntityFactory()))
    assert client.get("/admin/").status_code == 302
    client.force_login(auditor())
    assert client.get("/admin/").status_code == 302
    client.force_login(admin_user())
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/procurement/entity/").status_code == 200


def test_the_session_user_is_read_with_its_memberships_in_one_statement():
    """The authentication backend reads the session's user joined to its memberships: the
    roles every page's navigation asks cost no second statement. Without memberships, or
    inactive, the user is read (or refused) as Django reads it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.backends import PortalBackend
    from accounts.models import Membership, Role

    backend = PortalBackend()
    supplier, entity = SupplierFactory(), EntityFactory()
    user = user_of(supplier)
    Membership.objects.create(user=user, role=Role.ENTITY_STAFF, entity=entity)
    with CaptureQueriesContext(connection) as queries:
        found = backend.get_user(user.pk)
        roles = (
            permissions.supplier_ids(found),
            permissions.staff_entity_ids(found),
            permissions.is_auditor(found),
            permissions.is_admin(found),
        )
    assert len(queries) == 1
    assert found == user and found.email == user.email
    assert roles == ({supplier.pk}, {entity.pk}, False, False)
    plain = UserFactory()
    assert backend.get_user(plain.pk) == plain
    assert permissions.supplier_ids(backend.get_user(plain.pk)) == set()
    assert backend.get_user(user_of(supplier, is_active=False).pk) is None
    assert backend.get_user(UserFactory(is_active=False).pk) is None
    assert backend.get_user(10**9) is None


def test_a_user_without_memberships_is_not_asked_for_them_again():
    """The backend found no memberships when it read the session's user: the roles the
    navigation asks then cost no further statement (two in all: memberships, then the user)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.backends import PortalBackend

    plain = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        found = PortalBackend().get_user(plain.pk)
        roles = (permissions.supplier_ids(found), permissions.staff_entity_ids(found))
    assert roles == (set(), set())
    assert len(queries) == 2
