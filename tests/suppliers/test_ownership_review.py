"""Who owns a RUC (issue 7 item 8): a self-registered supplier is provisional until an admin
approves its claim from the review queue."""

import re
from datetime import date

import pytest

from core.models import AuditEntry
from suppliers.models import Supplier
from suppliers.services import (
    approve_ownership,
    may_act_in_processes,
    require_may_act_in_processes,
)
from tests.accounts.test_registration import FORM
from tests.domain import raises_domain
from tests.factories import SupplierFactory, admin_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed_registration(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cuentas/registro/", FORM)
    client.post(
        re.search(r"/cuentas/verificar/[^\s/]+/", mailoutbox[0].body).group(0),
        {"password": FORM["password1"]},
    )
    return Supplier.objects.get(ruc=FORM["ruc"])


def test_a_confirmed_self_registration_is_public_but_may_not_act_until_approved(
    client, confirmed_registration
):
    supplier = confirmed_registration
    assert supplier.registry_valid_on() and supplier.ownership_provisional
    assert client.get(f"/proveedores/{supplier.ruc}/").status_code == 200
    assert not may_act_in_processes(supplier)
    with raises_domain("ownership_under_review") as refused:
        require_may_act_in_processes(supplier)
    assert refused.value.code == "ownership_under_review"


def test_the_admin_review_queue_lists_the_claim_and_approving_it_is_audited(
    client, confirmed_registration
):
    supplier = confirmed_registration
    other = SupplierFactory()
    admin = admin_user()
    client.force_login(admin)
    queue = client.get("/admin/suppliers/supplier/", {"review": "pending"})
    assert list(queue.context["cl"].result_list) == [supplier]
    assert "textiles.pe" in queue.content.decode()  # the e-mail domain, for the review

    response = client.post(
        "/admin/suppliers/supplier/",
        {"action": "approve_ownership", "_selected_action": [supplier.pk]},
    )
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert not supplier.ownership_provisional and may_act_in_processes(supplier)
    entry = AuditEntry.objects.get(action="supplier.ownership_approved")
    assert entry.object_id == str(supplier.pk) and entry.actor == admin
    assert may_act_in_processes(other)


def test_an_unconfirmed_registration_cannot_be_approved(client):
    client.post("/cuentas/registro/", FORM)
    supplier = Supplier.objects.get(ruc=FORM["ruc"])
    with raises_domain("registration_unconfirmed") as refused:
        approve_ownership(supplier, actor=admin_user())
    assert refused.value.code == "registration_unconfirmed"


def test_an_expired_registry_may_not_act_whatever_the_review():
    supplier = SupplierFactory(registry_valid_until=date(2020, 1, 1))
    with raises_domain("registry_not_in_force") as refused:
        require_may_act_in_processes(supplier)
    assert refused.value.code == "registry_not_in_force"
