"""Inviting colleagues to a supplier's account (issue 8 item 19): signed single-use links
that expire, audited, and never a way into an existing account."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Membership, User
from core.errors import DomainError
from core.models import AuditEntry
from suppliers import services
from suppliers.models import SupplierInvitation
from tests.factories import TEST_PASSWORD, SupplierFactory, UserFactory, user_of

pytestmark = pytest.mark.django_db

NEW_ACCOUNT = {
    "full_name": "Luis Mamani",
    "password1": "Qori-Kancha-2026!",
    "password2": "Qori-Kancha-2026!",
}


@pytest.fixture
def supplier():
    return SupplierFactory()


@pytest.fixture
def member(supplier):
    return user_of(supplier)


@pytest.fixture
def invite(client, member, supplier, mailoutbox, django_capture_on_commit_callbacks):
    """Invite `email` through the page as `member`; returns the link's path."""

    def send(email):
        client.force_login(member)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/proveedores/mi-cuenta/{supplier.ruc}/invitaciones/", {"email": email}
            )
        assert response.status_code == 302, response.content
        client.logout()
        message = mailoutbox[-1]
        assert message.to == [email.lower()]
        return re.search(r"/proveedores/invitacion/[^\s/]+/", message.body).group(0)

    return send


def test_a_new_colleague_accepts_by_choosing_a_password(client, supplier, member, invite):
    link = invite("Luis@Textiles.pe")
    assert AuditEntry.objects.filter(action="supplier.invitation_sent", actor=member).exists()
    page = client.get(link)
    assert page.status_code == 200 and "password1" in page.context["form"].fields
    assert client.post(link, NEW_ACCOUNT).status_code == 302
    user = User.objects.get(email="luis@textiles.pe")
    assert user.is_active and user.email_verified_at is not None
    assert Membership.objects.filter(user=user, supplier=supplier, role="supplier_user").exists()
    invitation = SupplierInvitation.objects.get()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    accepted = AuditEntry.objects.get(action="supplier.invitation_accepted")
    assert accepted.actor == user and accepted.data["new_account"] is True
    assert client.login(username="luis@textiles.pe", password=NEW_ACCOUNT["password1"])
    assert client.get(f"/proveedores/mi-cuenta/{supplier.ruc}/").status_code == 200


def test_an_invitation_cannot_be_used_twice(client, invite):
    link = invite("luis@textiles.pe")
    client.post(link, NEW_ACCOUNT)
    client.logout()
    again = client.post(link, {**NEW_ACCOUNT, "full_name": "Otro"})
    assert again.status_code == 400
    token = link.split("/")[-2]
    with pytest.raises(DomainError) as used:
        services.open_invitation(token)
    assert used.value.code == "invitation_used"
    assert User.objects.get(email="luis@textiles.pe").full_name == "Luis Mamani"


def test_an_invitation_expires(client, invite):
    link = invite("luis@textiles.pe")
    SupplierInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(link, NEW_ACCOUNT).status_code == 400
    with pytest.raises(DomainError) as expired:
        services.open_invitation(link.split("/")[-2])
    assert expired.value.code == "invitation_expired"
    assert not User.objects.filter(email="luis@textiles.pe").exists()


@pytest.mark.parametrize(
    "token", ["nonsense", "%00", "a" * 5000, "eyJpIjoxfQ:1abc:def", "..%2F..%2Fadmin"]
)
def test_tampered_links_are_refused_without_error(client, token):
    assert client.get(f"/proveedores/invitacion/{token}/").status_code in (400, 404)
    assert client.post(f"/proveedores/invitacion/{token}/", NEW_ACCOUNT).status_code in (400, 404)


def test_a_link_with_the_wrong_nonce_is_invalid(invite):
    invite("luis@textiles.pe")
    invitation = SupplierInvitation.objects.get()
    forged = signing.dumps({"i": invitation.pk, "n": "guess"}, salt="suppliers.invitation")
    with pytest.raises(DomainError) as refused:
        services.open_invitation(forged)
    assert refused.value.code == "invitation_invalid"


def test_an_invitation_never_takes_over_an_existing_account(client, supplier, invite):
    victim = UserFactory(email="jefa@textiles.pe", full_name="Jefa")
    link = invite("jefa@textiles.pe")
    page = client.get(link)
    assert page.status_code == 200 and page.context["form"] is None  # log in instead
    response = client.post(link, {**NEW_ACCOUNT, "full_name": "Intruso"})
    assert response.status_code == 400
    with pytest.raises(DomainError) as refused:
        services.accept_invitation_with_new_account(
            token=link.split("/")[-2], full_name="Intruso", password="Intruso-2026-xyz"
        )
    assert refused.value.code == "account_exists"
    victim.refresh_from_db()
    assert victim.check_password(TEST_PASSWORD) and victim.full_name == "Jefa"
    assert not Membership.objects.filter(user=victim).exists()


def test_an_existing_account_accepts_after_logging_in_as_itself(client, supplier, invite):
    colleague = UserFactory(email="jefa@textiles.pe")
    other = UserFactory()
    link = invite("jefa@textiles.pe")
    client.force_login(other)
    refused = client.post(link)
    assert refused.status_code == 400
    codes = [e.code for e in refused.context["form"].non_field_errors().as_data()]
    assert codes == ["invitation_for_another_address"]
    assert not Membership.objects.filter(user=other).exists()

    client.force_login(colleague)
    assert client.post(link).status_code == 302
    assert Membership.objects.filter(user=colleague, supplier=supplier).exists()
    accepted = AuditEntry.objects.get(action="supplier.invitation_accepted")
    assert accepted.actor == colleague and accepted.data["new_account"] is False


def test_an_unconfirmed_account_cannot_accept(invite):
    unconfirmed = UserFactory(email="jefa@textiles.pe", email_verified_at=None)
    link = invite("jefa@textiles.pe")
    with pytest.raises(DomainError) as refused:
        services.accept_invitation(token=link.split("/")[-2], user=unconfirmed)
    assert refused.value.code == "email_unconfirmed"


def test_only_users_of_the_supplier_invite(client, supplier):
    outsider = user_of(SupplierFactory())
    client.force_login(outsider)
    url = f"/proveedores/mi-cuenta/{supplier.ruc}/invitaciones/"
    assert client.post(url, {"email": "x@example.pe"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.invite_user(actor=outsider, supplier=supplier, email="x@example.pe")
    assert not SupplierInvitation.objects.exists()


def test_a_claim_under_review_cannot_invite(member, supplier):
    supplier.ownership_provisional = True
    supplier.save()
    with pytest.raises(DomainError) as refused:
        services.invite_user(actor=member, supplier=supplier, email="x@example.pe")
    assert refused.value.code == "ownership_under_review"


@pytest.mark.parametrize("email", ["not-an-address", "a\x00@b.pe", "x" * 300 + "@b.pe", ""])
def test_hostile_invitation_addresses_give_form_errors(client, member, supplier, email):
    client.force_login(member)
    response = client.post(f"/proveedores/mi-cuenta/{supplier.ruc}/invitaciones/", {"email": email})
    assert response.status_code == 400 and "email" in response.context["form"].errors
    assert not SupplierInvitation.objects.exists()


def test_inviting_a_member_or_too_many_is_refused(member, supplier):
    with pytest.raises(DomainError) as already:
        services.invite_user(actor=member, supplier=supplier, email=member.email.upper())
    assert (already.value.code, already.value.field) == ("already_member", "email")
    for n in range(services.MAX_INVITATIONS_PER_DAY):
        services.invite_user(actor=member, supplier=supplier, email=f"c{n}@example.pe")
    with pytest.raises(DomainError) as too_many:
        services.invite_user(actor=member, supplier=supplier, email="one-more@example.pe")
    assert too_many.value.code == "too_many_invitations"


def test_inviting_again_replaces_the_earlier_link_and_a_member_can_withdraw_one(
    client, member, supplier, invite
):
    first = invite("luis@textiles.pe")
    second = invite("luis@textiles.pe")
    with pytest.raises(DomainError) as replaced:
        services.open_invitation(first.split("/")[-2])
    assert replaced.value.code == "invitation_revoked"
    invitation = SupplierInvitation.objects.get(revoked_at__isnull=True)

    outsider = user_of(SupplierFactory())
    client.force_login(outsider)
    revoke = f"/proveedores/mi-cuenta/{supplier.ruc}/invitaciones/{invitation.pk}/retirar/"
    assert client.post(revoke).status_code == 403
    client.force_login(member)
    assert client.get(revoke).status_code == 405
    assert client.post(revoke).status_code == 302
    assert (
        client.post(
            f"/proveedores/mi-cuenta/{supplier.ruc}/invitaciones/999999999999999999/retirar/"
        ).status_code
        == 404
    )
    client.logout()
    assert client.post(second, NEW_ACCOUNT).status_code == 400
    assert AuditEntry.objects.filter(action="supplier.invitation_revoked").count() == 2
    with pytest.raises(DomainError) as closed:
        services.revoke_invitation(actor=member, invitation=invitation)
    assert closed.value.code == "invitation_closed"


def test_the_database_keeps_one_open_invitation_per_address(member, supplier):
    from django.db import IntegrityError, transaction

    invitation = services.invite_user(actor=member, supplier=supplier, email="a@example.pe")
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplierInvitation.objects.create(
            supplier=supplier, email="a@example.pe", nonce="x", expires_at=invitation.expires_at
        )
