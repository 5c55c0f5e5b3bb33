"""Services read the day and the moment from core.clock, the one clock deadlines are judged by,
never from the application server's own clock: a pinned clock moves all of them."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from core import clock
from procurement.services import plans
from suppliers.services.registry import activate_registration
from tests.factories import SupplierFactory, draft_plan, user_of

pytestmark = pytest.mark.django_db


def test_a_registry_is_in_force_by_the_clocks_day():
    supplier = SupplierFactory(registry_valid_until=timezone.localdate() + timedelta(days=30))
    assert supplier.registry_valid_on()
    with clock.pinned(timezone.localdate() + timedelta(days=31)):
        assert not supplier.registry_valid_on()


def test_a_confirmed_registration_is_in_force_from_the_clocks_day():
    supplier = SupplierFactory(awaiting_confirmation=True, registry_valid_until=None)
    user = user_of(supplier)
    day = timezone.localdate() + timedelta(days=40)
    with clock.pinned(day):
        activate_registration(user, registry_days=365)
    supplier.refresh_from_db()
    assert (supplier.awaiting_confirmation, supplier.registry_valid_until) == (
        False,
        day + timedelta(days=365),
    )


def test_a_plan_is_published_at_the_clocks_moment():
    version, staff = draft_plan(items=[{}])
    moment = clock.local(timezone.localdate(), time(9, 15))
    with clock.pinned(moment):
        plans.publish_version(
            staff, version, approval_date=timezone.localdate(), sme_justification="prueba"
        )
    version.refresh_from_db()
    assert version.published_at == moment
