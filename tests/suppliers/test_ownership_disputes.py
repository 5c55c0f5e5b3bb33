"""A second claimant disputes a RUC claim (issue 7 item 8); an admin keeps the claim or
transfers the supplier, and every decision is audited."""

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import Membership
from core.errors import DomainError
from core.models import AuditEntry
from suppliers import services
from suppliers.models import OwnershipDispute, SupplierInvitation
from tests.factories import SupplierFactory, UserFactory, admin_user, user_of

pytestmark = pytest.mark.django_db

STATEMENT = {"statement": "Soy la gerente general; el dominio de la empresa es textiles.pe."}


@pytest.fixture
def claimed():
    """A confirmed self-registration whose claim waits for review, with its claimant."""
    supplier = SupplierFactory(ownership_provisional=True)
    return supplier, user_of(supplier)


@pytest.fixture
def disputer():
    return UserFactory(email="gerente@textiles.pe")


def dispute_url(supplier):
    return f"/proveedores/{supplier.ruc}/disputar/"


def test_a_second_claimant_disputes_and_the_claim_waits_in_the_review_queue(
    client, claimed, disputer
):
    supplier, _claimant = claimed
    client.force_login(disputer)
    assert dispute_url(supplier) in client.get(f"/proveedores/{supplier.ruc}/").content.decode()
    assert client.get(dispute_url(supplier)).status_code == 200
    assert client.post(dispute_url(supplier), STATEMENT).status_code == 302
    dispute = OwnershipDispute.objects.get()
    assert (dispute.supplier, dispute.disputer, dispute.status) == (supplier, disputer, "open")
    entry = AuditEntry.objects.get(action="supplier.ownership_disputed")
    assert entry.actor == disputer and entry.object_id == str(supplier.pk)

    admin = admin_user()
    client.force_login(admin)
    queue = client.get("/admin/suppliers/supplier/", {"review": "pending"})
    assert list(queue.context["cl"].result_list) == [supplier]
    change = client.get(f"/admin/suppliers/supplier/{supplier.pk}/change/").content.decode()
    assert "gerente@textiles.pe" in change and "textiles.pe" in change
    with pytest.raises(DomainError) as refused:
        services.approve_ownership(supplier, actor=admin)
    assert refused.value.code == "ownership_disputed"


def test_an_approved_supplier_with_an_open_dispute_is_in_the_queue(client, disputer):
    supplier = SupplierFactory()
    user_of(supplier)
    services.dispute_ownership(actor=disputer, supplier=supplier, statement="Es mía")
    client.force_login(admin_user())
    queue = client.get("/admin/suppliers/supplier/", {"review": "pending"})
    assert list(queue.context["cl"].result_list) == [supplier]


def test_keeping_the_claim_is_audited_and_changes_nothing_else(client, claimed, disputer):
    supplier, claimant = claimed
    dispute = services.dispute_ownership(actor=disputer, supplier=supplier, statement="Es mía")
    admin = admin_user()
    client.force_login(admin)
    response = client.post(
        "/admin/suppliers/ownershipdispute/",
        {"action": "keep_claim", "_selected_action": [dispute.pk]},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "claim_kept" and dispute.decided_by == admin
    assert list(supplier.memberships.values_list("user", flat=True)) == [claimant.pk]
    assert AuditEntry.objects.filter(action="supplier.dispute_claim_kept", actor=admin).exists()
    services.approve_ownership(supplier, actor=admin)  # no open dispute left
    with pytest.raises(DomainError) as decided:
        services.transfer_ownership(actor=admin, dispute=dispute)
    assert decided.value.code == "dispute_decided"


def test_transferring_gives_the_supplier_to_the_disputer(client, claimed, disputer):
    supplier, claimant = claimed
    accomplice = user_of(supplier)
    supplier.ownership_provisional = False  # approved by mistake, then invited a colleague
    supplier.save()
    services.invite_user(actor=claimant, supplier=supplier, email="otro@example.pe")
    dispute = services.dispute_ownership(actor=disputer, supplier=supplier, statement="Es mía")
    admin = admin_user()
    client.force_login(admin)
    response = client.post(
        "/admin/suppliers/ownershipdispute/",
        {"action": "transfer", "_selected_action": [dispute.pk]},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    supplier.refresh_from_db()
    assert dispute.status == "transferred" and dispute.decided_by == admin
    assert list(supplier.memberships.values_list("user", flat=True)) == [disputer.pk]
    assert not supplier.ownership_provisional
    assert not SupplierInvitation.objects.filter(revoked_at__isnull=True).exists()
    entry = AuditEntry.objects.get(action="supplier.ownership_transferred")
    assert entry.actor == admin
    assert entry.data["removed_users"] == sorted([claimant.email, accomplice.email])
    assert entry.data["new_user"] == disputer.email
    client.force_login(claimant)
    assert client.get(f"/proveedores/mi-cuenta/{supplier.ruc}/").status_code == 403
    client.force_login(disputer)
    assert client.get(f"/proveedores/mi-cuenta/{supplier.ruc}/").status_code == 200


def test_a_transfer_is_decided_one_dispute_at_a_time(client, claimed, disputer):
    supplier, claimant = claimed
    first = services.dispute_ownership(actor=disputer, supplier=supplier, statement="Es mía")
    second = services.dispute_ownership(actor=UserFactory(), supplier=supplier, statement="No")
    client.force_login(admin_user())
    client.post(
        "/admin/suppliers/ownershipdispute/",
        {"action": "transfer", "_selected_action": [first.pk, second.pk]},
    )
    assert OwnershipDispute.objects.filter(status="open").count() == 2
    assert list(supplier.memberships.values_list("user", flat=True)) == [claimant.pk]


def test_only_admins_decide(claimed, disputer):
    supplier, claimant = claimed
    dispute = services.dispute_ownership(actor=disputer, supplier=supplier, statement="Es mía")
    for actor in [claimant, disputer]:
        with pytest.raises(PermissionDenied):
            services.transfer_ownership(actor=actor, dispute=dispute)
        with pytest.raises(PermissionDenied):
            services.keep_ownership_claim(actor=actor, dispute=dispute)
    dispute.refresh_from_db()
    assert dispute.status == "open"


def test_who_may_dispute(client, claimed, disputer):
    supplier, claimant = claimed
    unconfirmed = UserFactory(email_verified_at=None)
    cases = [
        (unconfirmed, supplier, "email_unconfirmed"),
        (claimant, supplier, "already_member"),
        (disputer, SupplierFactory(), "no_claim"),  # in the registry, nobody claims it
    ]
    for actor, target, code in cases:
        with pytest.raises(DomainError) as refused:
            services.dispute_ownership(actor=actor, supplier=target, statement="Es mía")
        assert refused.value.code == code
    services.dispute_ownership(actor=disputer, supplier=supplier, statement="Es mía")
    with pytest.raises(DomainError) as pending:
        services.dispute_ownership(actor=disputer, supplier=supplier, statement="Otra vez")
    assert pending.value.code == "dispute_pending"
    for _ in range(services.MAX_OPEN_DISPUTES_PER_USER - 1):
        other = SupplierFactory()
        user_of(other)
        services.dispute_ownership(actor=disputer, supplier=other, statement="Es mía")
    last = SupplierFactory()
    user_of(last)
    with pytest.raises(DomainError) as too_many:
        services.dispute_ownership(actor=disputer, supplier=last, statement="Es mía")
    assert too_many.value.code == "too_many_disputes"
    # The page asks the same rule: a member is not offered the form.
    client.force_login(claimant)
    page = client.get(dispute_url(supplier))
    assert page.status_code == 200 and page.context["form"] is None
    assert client.post(dispute_url(supplier), STATEMENT).status_code == 400
    assert OwnershipDispute.objects.filter(disputer=claimant).count() == 0


def test_the_dispute_page_needs_a_login_and_a_public_supplier(client, disputer):
    supplier = SupplierFactory()
    user_of(supplier)
    assert client.get(dispute_url(supplier)).status_code == 302
    private = SupplierFactory(awaiting_confirmation=True)
    user_of(private)
    client.force_login(disputer)
    assert client.get(dispute_url(private)).status_code == 404
    for hostile in ["%00", "9" * 40, "abc"]:
        assert client.get(f"/proveedores/{hostile}/disputar/").status_code == 404


@pytest.mark.parametrize("statement", ["", "   ", "x" * 2001, "Es mía\x00"])
def test_hostile_statements_give_form_errors(client, claimed, disputer, statement):
    supplier, _claimant = claimed
    client.force_login(disputer)
    response = client.post(dispute_url(supplier), {"statement": statement})
    assert response.status_code == 400 and "statement" in response.context["form"].errors
    assert not OwnershipDispute.objects.exists()


def test_a_deactivated_disputer_cannot_receive_the_supplier(claimed, disputer):
    supplier, claimant = claimed
    dispute = services.dispute_ownership(actor=disputer, supplier=supplier, statement="Es mía")
    disputer.is_active = False
    disputer.save()
    with pytest.raises(DomainError) as refused:
        services.transfer_ownership(actor=admin_user(), dispute=dispute)
    assert refused.value.code == "disputer_unavailable"
    assert Membership.objects.filter(supplier=supplier, user=claimant).exists()
