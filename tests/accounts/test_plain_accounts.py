"""Plain accounts (issue 13): journalists and citizens register with an e-mail only (no RUC),
confirm it like a supplier does, and then follow and subscribe; they act for no supplier, so
they can neither register as participant nor bid."""

import re

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import User
from core import clock
from procurement.services import bids, participation
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FORM = {
    "full_name": "Ana Periodista",
    "email": "Ana@Diario.pe",
    "password1": "Transparencia-Lima-2026",
    "password2": "Transparencia-Lima-2026",
    "language": "en",
}


def test_a_plain_account_registers_confirms_and_logs_in(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    assert client.get("/cuentas/registro/sin-ruc/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/cuentas/registro/sin-ruc/", FORM)
    assert response.status_code == 302
    assert response["Location"] == "/cuentas/registro/sin-ruc/enviado/"
    user = User.objects.get(email="ana@diario.pe")
    assert not user.is_active and user.email_verified_at is None
    assert user.language == "en" and user.is_plain_account
    assert not user.memberships.exists()

    # Unconfirmed: no login.
    login = {"username": "ana@diario.pe", "password": FORM["password1"]}
    assert client.post("/cuentas/ingresar/", login).status_code == 200

    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ana@diario.pe"]
    link = re.search(r"http://[^\s]+/cuentas/verificar/[^\s/]+/", mailoutbox[0].body).group(0)
    page = client.get(link.split("8000", 1)[-1]).content.decode()
    assert "<li>RUC" not in page  # nothing but the account to confirm
    response = client.post(link.split("8000", 1)[-1], {"password": FORM["password1"]})
    assert response.status_code == 302
    assert client.post("/cuentas/ingresar/", login).status_code == 302
    assert client.get("/cuentas/seguidos/").status_code == 200


def test_registration_refuses_weak_or_mismatched_passwords(client):
    weak = {**FORM, "password1": "123", "password2": "123"}
    assert client.post("/cuentas/registro/sin-ruc/", weak).status_code == 400
    mismatch = {**FORM, "password2": "Otra-Clave-Distinta-99"}
    assert client.post("/cuentas/registro/sin-ruc/", mismatch).status_code == 400
    assert not User.objects.exists()


def test_an_existing_address_is_answered_alike_and_its_owner_told(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    owner = UserFactory(email="ana@diario.pe")
    password = owner.password
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/cuentas/registro/sin-ruc/", FORM)
    assert response.status_code == 302
    assert response["Location"] == "/cuentas/registro/sin-ruc/enviado/"
    owner.refresh_from_db()
    assert owner.password == password and owner.is_active  # untouched
    assert User.objects.count() == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ana@diario.pe"]
    assert "verificar" not in mailoutbox[0].body


def test_registration_is_throttled_per_address(client):
    for n in range(3):
        form = {**FORM, "email": f"ana{n}@diario.pe"}
        assert client.post("/cuentas/registro/sin-ruc/", form).status_code == 302
    # Three e-mails to one address in an hour are free; one more is sent, and the next waits.
    for _n in range(4):
        response = client.post("/cuentas/registro/sin-ruc/", {**FORM, "email": "ana9@diario.pe"})
        assert response.status_code == 302
    response = client.post("/cuentas/registro/sin-ruc/", {**FORM, "email": "ana9@diario.pe"})
    assert response.status_code == 429


def test_a_plain_account_can_neither_register_as_participant_nor_bid(client):
    from tests.procurement.bidding import called_tender

    tender = called_tender(items=1)
    supplier, _user = tender.bidder()
    plain = UserFactory(email="ciudadano@correo.pe")
    assert plain.is_plain_account
    with clock.pinned(tender.during):
        with pytest.raises(PermissionDenied):
            participation.register_participant(plain, tender.process, supplier)
        with pytest.raises(PermissionDenied):
            bids.submit_bid(plain, tender.process, supplier, prices=tender.prices(), documents=[])
    # The process page offers it no registration or bid form, only the follow button.
    client.force_login(plain)
    with clock.pinned(tender.during):
        page = client.get(f"/procesos/{tender.process.identifier}/").content.decode()
    assert "Seguir este proceso" in page
    assert f"/procesos/{tender.process.identifier}/oferta/" not in page
    assert f"/procesos/{tender.process.identifier}/participar/" not in page


def test_a_lapsed_plain_claim_is_replaced_but_a_fresh_one_is_not(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    stale = User.objects.create(
        email="ana@diario.pe",
        self_registered=True,
        is_active=False,
        date_joined=timezone.now() - timedelta(seconds=settings.EMAIL_VERIFICATION_MAX_AGE + 60),
    )
    stale.set_password("Otra-Clave-Anterior-77")
    stale.save()
    assert client.post("/cuentas/registro/sin-ruc/", FORM).status_code == 302
    stale.refresh_from_db()
    assert stale.check_password(FORM["password1"]) and stale.language == "en"

    # Registered again at once: the claim is fresh, so it is left alone.
    again = {**FORM, "password1": "Nueva-Clave-Distinta-55", "password2": "Nueva-Clave-Distinta-55"}
    assert client.post("/cuentas/registro/sin-ruc/", again).status_code == 302
    stale.refresh_from_db()
    assert stale.check_password(FORM["password1"])


def test_a_user_chooses_the_language_of_the_notices(client):
    user = UserFactory()
    assert user.language == "es"
    assert client.post("/cuentas/idioma/", {"language": "en"}).status_code == 302  # login
    client.force_login(user)
    page = client.get("/cuentas/seguidos/").content.decode()
    assert 'name="language"' in page
    assert client.post("/cuentas/idioma/", {"language": "en"}).status_code == 302
    user.refresh_from_db()
    assert user.language == "en"
    assert client.post("/cuentas/idioma/", {"language": "fr"}).status_code == 400
    assert client.get("/cuentas/idioma/").status_code == 405
    user.refresh_from_db()
    assert user.language == "en"
