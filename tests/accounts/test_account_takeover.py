"""Registration never touches an existing account (issue 7, items 1 and 13), and accounts
made by admins are verified or get a set-password link."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership, User
from suppliers.models import Supplier
from tests.accounts.test_registration import FORM
from tests.factories import TEST_PASSWORD, EntityFactory, UserFactory, admin_user

pytestmark = pytest.mark.django_db


INLINE = {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}


def _link(body: str) -> str:
    return re.search(r"http://[^\s]+?(/cuentas/[^\s]+/)", body).group(1)


def test_registering_with_an_admin_created_staff_email_does_not_take_the_account_over(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """The review's reproduction: a staff account added in the admin, never verified and
    older than the verification link's lifetime."""
    entity = EntityFactory()
    victim = UserFactory(
        email="jefe.logistica@entidad.gob.pe",
        full_name="Jefe de Logística",
        email_verified_at=None,
        date_joined=timezone.now() - timedelta(days=30),
    )
    Membership.objects.create(user=victim, role="entity_staff", entity=entity)
    password_hash = victim.password

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/cuentas/registro/",
            {**FORM, "email": "Jefe.Logistica@entidad.gob.pe", "full_name": "Atacante"},
        )

    # The same answer as a new registration: nothing says the address has an account.
    assert response.status_code == 302 and response.url == "/cuentas/registro/enviado/"
    victim.refresh_from_db()
    assert victim.password == password_hash and victim.full_name == "Jefe de Logística"
    assert victim.is_active and victim.date_joined < timezone.now() - timedelta(days=29)
    assert list(victim.memberships.values_list("role", "entity_id", "supplier_id")) == [
        ("entity_staff", entity.pk, None)
    ]
    assert not Supplier.objects.filter(ruc=FORM["ruc"]).exists()
    # The owner is told, with the way back in; no verification link is sent.
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["jefe.logistica@entidad.gob.pe"]
    assert "/cuentas/contrasena/restablecer/" in mailoutbox[0].body
    assert "/cuentas/verificar/" not in mailoutbox[0].body
    # And the attacker's password does not open the account.
    response = client.post(
        "/cuentas/ingresar/",
        {"username": victim.email, "password": FORM["password1"]},
    )
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_a_new_and_an_existing_email_get_the_same_answer(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(email="existe@textiles.pe")
    with django_capture_on_commit_callbacks(execute=True):
        existing = client.post("/cuentas/registro/", {**FORM, "email": "existe@textiles.pe"})
    with django_capture_on_commit_callbacks(execute=True):
        new = client.post(
            "/cuentas/registro/", {**FORM, "ruc": "20100070970", "email": "nuevo@textiles.pe"}
        )
    assert (existing.status_code, existing.url) == (new.status_code, new.url)
    pages = [client.get(response.url) for response in (existing, new)]
    assert [t.name for t in pages[0].templates] == [t.name for t in pages[1].templates]
    assert sorted(m.to[0] for m in mailoutbox) == ["existe@textiles.pe", "nuevo@textiles.pe"]


def test_a_registration_still_to_confirm_gets_its_link_again_not_a_second_account(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cuentas/registro/", FORM)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/cuentas/registro/",
            {
                **FORM,
                "ruc": "20100070970",
                "password1": "Otra-Clave-2026",
                "password2": "Otra-Clave-2026",
            },
        )
    assert response.status_code == 302
    assert not Supplier.objects.filter(ruc="20100070970").exists()
    assert [m.to for m in mailoutbox] == [["rosa@textiles.pe"], ["rosa@textiles.pe"]]
    assert "/cuentas/verificar/" in mailoutbox[1].body


@pytest.mark.parametrize(
    "change",
    [
        {"last_login": timezone.now() - timedelta(days=20)},  # it was used
        {"is_active": True},  # an admin activated it
        {"email_verified_at": timezone.now() - timedelta(days=20)},
        {"self_registered": False},  # not made by the registration form
    ],
)
def test_only_a_pure_lapsed_claim_can_be_replaced(client, change):
    client.post("/cuentas/registro/", FORM)
    User.objects.filter(email="rosa@textiles.pe").update(
        date_joined=timezone.now() - timedelta(days=10), **change
    )
    before = User.objects.get(email="rosa@textiles.pe").password
    response = client.post(
        "/cuentas/registro/",
        {
            **FORM,
            "ruc": "20100070970",
            "password1": "Otra-Clave-2026",
            "password2": "Otra-Clave-2026",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(email="rosa@textiles.pe").password == before
    assert not Supplier.objects.filter(ruc="20100070970").exists()


def test_a_lapsed_claim_with_an_extra_membership_is_not_replaced(client):
    client.post("/cuentas/registro/", FORM)
    user = User.objects.get(email="rosa@textiles.pe")
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=10))
    Membership.objects.create(user=user, role="entity_staff", entity=EntityFactory())
    before = user.password
    client.post(
        "/cuentas/registro/",
        {
            **FORM,
            "ruc": "20100070970",
            "password1": "Otra-Clave-2026",
            "password2": "Otra-Clave-2026",
        },
    )
    user.refresh_from_db()
    assert user.password == before and user.memberships.count() == 2


def test_a_lapsed_self_registration_of_the_same_email_is_replaced(client, mailoutbox):
    client.post("/cuentas/registro/", FORM)
    User.objects.filter(email="rosa@textiles.pe").update(
        date_joined=timezone.now() - timedelta(days=10)
    )
    response = client.post(
        "/cuentas/registro/",
        {
            **FORM,
            "ruc": "20100070970",
            "password1": "Otra-Clave-2026",
            "password2": "Otra-Clave-2026",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="rosa@textiles.pe")
    assert user.check_password("Otra-Clave-2026")
    # The lapsed claim's supplier (never public) is gone; the new one waits for confirmation.
    assert not Supplier.objects.filter(ruc=FORM["ruc"]).exists()
    assert list(user.memberships.values_list("supplier__ruc", flat=True)) == ["20100070970"]


def test_an_old_verification_link_does_not_confirm_the_claim_that_replaced_it(
    client, mailoutbox, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cuentas/registro/", FORM)
    old_link = _link(mailoutbox[0].body)
    User.objects.filter(email="rosa@textiles.pe").update(
        date_joined=timezone.now() - timedelta(days=10)
    )
    client.post("/cuentas/registro/", {**FORM, "ruc": "20100070970"})
    assert client.post(old_link, {"password": FORM["password1"]}).status_code == 400
    assert User.objects.get(email="rosa@textiles.pe").email_verified_at is None


# --- Accounts created in the admin -----------------------------------------------------


def test_an_admin_created_account_with_a_password_is_verified(client):
    client.force_login(admin_user())
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "Nuevo.Staff@Entidad.gob.pe",
            "full_name": "Nuevo Staff",
            "usable_password": "true",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
            **INLINE,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="nuevo.staff@entidad.gob.pe")
    assert user.email_verified_at is not None and not user.self_registered


def test_an_admin_created_account_without_password_gets_a_set_password_link(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(admin_user())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/accounts/user/add/",
            {
                "email": "invitada@entidad.gob.pe",
                "full_name": "Invitada",
                "usable_password": "false",
                **INLINE,
            },
        )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="invitada@entidad.gob.pe")
    assert not user.has_usable_password() and user.email_verified_at is None
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["invitada@entidad.gob.pe"]
    link = _link(mailoutbox[0].body)
    assert link.startswith("/cuentas/contrasena/definir/")

    client.logout()
    response = client.get(link)
    assert response.status_code == 302  # Django moves the token out of the URL
    form_url = response.url
    response = client.post(
        form_url, {"new_password1": "Clave-Nueva-2026", "new_password2": "Clave-Nueva-2026"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Clave-Nueva-2026") and user.email_verified_at is not None
    # The link works once.
    assert "_auth_user_id" not in client.session
    assert client.get(link, follow=True).context["validlink"] is False
    response = client.post(
        "/cuentas/ingresar/", {"username": user.email, "password": "Clave-Nueva-2026"}
    )
    assert response.status_code == 302


def test_an_admin_cannot_create_a_second_account_for_an_email(client):
    UserFactory(email="ya@entidad.gob.pe")
    client.force_login(admin_user())
    response = client.post(
        "/admin/accounts/user/add/",
        {"email": "YA@entidad.gob.pe", "usable_password": "false", **INLINE},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.has_error("email", "unique")


# --- Password reset ----------------------------------------------------------------------


def test_the_login_page_links_to_password_reset(client):
    assert (
        'href="/cuentas/contrasena/restablecer/"'
        in client.get("/cuentas/ingresar/").content.decode()
    )


def test_password_reset_by_e_mailed_link(client, mailoutbox, django_capture_on_commit_callbacks):
    user = UserFactory(email="proveedor@textiles.pe")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/cuentas/contrasena/restablecer/", {"email": "Proveedor@Textiles.pe"}
        )
    assert (
        response.status_code == 302 and response.url == "/cuentas/contrasena/restablecer/enviado/"
    )
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["proveedor@textiles.pe"]
    assert mailoutbox[0].alternatives  # text and HTML
    link = _link(mailoutbox[0].body)
    assert link.startswith("/cuentas/contrasena/restablecer/")
    response = client.get(link)
    response = client.post(
        response.url, {"new_password1": "Clave-Nueva-2026", "new_password2": "Clave-Nueva-2026"}
    )
    assert response.status_code == 302 and response.url == "/cuentas/contrasena/lista/"
    user.refresh_from_db()
    assert user.check_password("Clave-Nueva-2026")
    # Used once: the same link no longer offers the form.
    response = client.get(link, follow=True)
    assert response.context["validlink"] is False


def test_password_reset_answers_the_same_for_an_unknown_address(client, mailoutbox):
    response = client.post("/cuentas/contrasena/restablecer/", {"email": "nadie@textiles.pe"})
    assert (
        response.status_code == 302 and response.url == "/cuentas/contrasena/restablecer/enviado/"
    )
    assert mailoutbox == []


def test_password_reset_links_use_the_site_address_not_the_request_host(
    client, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.ALLOWED_HOSTS = ["*"]
    UserFactory(email="proveedor@textiles.pe")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/cuentas/contrasena/restablecer/",
            {"email": "proveedor@textiles.pe"},
            headers={"host": "evil.example"},
        )
    assert "evil.example" not in mailoutbox[0].body
    assert settings.SITE_URL + "/cuentas/contrasena/restablecer/" in mailoutbox[0].body
