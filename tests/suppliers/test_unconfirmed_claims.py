"""An unconfirmed self-registration publishes nothing and locks a RUC only until it lapses
(issue 8, item 5)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from suppliers.models import Supplier
from tests.accounts.test_registration import FORM
from tests.factories import EntityFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def _register(client, **changes):
    return client.post("/cuentas/registro/", {**FORM, **changes})


def _lapse(email):
    User.objects.filter(email=email).update(date_joined=timezone.now() - timedelta(days=4))


def test_an_unconfirmed_registration_is_not_public_until_the_email_is_confirmed(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert _register(client).status_code == 302
    ruc = FORM["ruc"]
    assert Supplier.objects.get(ruc=ruc).awaiting_confirmation
    assert not Supplier.objects.public().filter(ruc=ruc).exists()
    assert client.get(f"/proveedores/{ruc}/").status_code == 404
    listing = client.get("/proveedores/", {"q": ruc})
    assert listing.status_code == 200 and list(listing.context["page"]) == []

    link = re.search(r"/cuentas/verificar/[^\s/]+/", mailoutbox[0].body).group(0)
    client.post(link, {"password": FORM["password1"]})
    assert client.get(f"/proveedores/{ruc}/").status_code == 200
    listing = client.get("/proveedores/", {"q": ruc})
    assert [s.ruc for s in listing.context["page"]] == [ruc]
    assert Supplier.objects.public().filter(ruc=ruc).exists()


def test_a_registry_entry_without_portal_users_stays_public(client):
    supplier = SupplierFactory()
    assert client.get(f"/proveedores/{supplier.ruc}/").status_code == 200


def test_a_second_claimant_is_told_while_the_claim_is_pending_and_nothing_is_published(client):
    _register(client, legal_name="Impostor S.A.C.", email="impostor@example.pe")
    response = _register(client, email="owner@textiles.pe")
    assert response.status_code == 400
    assert response.context["form"].has_error("ruc", "ruc_claim_pending")
    assert not User.objects.filter(email="owner@textiles.pe").exists()
    assert client.get(f"/proveedores/{FORM['ruc']}/").status_code == 404


def test_an_entitys_ruc_claimed_and_never_confirmed_is_released_when_the_claim_lapses(client):
    """The review's reproduction: someone registers an entity's own RUC as a supplier and
    never confirms; the page must not appear and the real owner must get in once it lapses."""
    entity = EntityFactory()
    _register(client, ruc=entity.ruc, legal_name="Falsa S.A.C.", email="falso@example.pe")
    assert client.get(f"/proveedores/{entity.ruc}/").status_code == 404
    _lapse("falso@example.pe")
    response = _register(client, ruc=entity.ruc, legal_name=entity.name, email="real@entidad.pe")
    assert response.status_code == 302
    supplier = Supplier.objects.get(ruc=entity.ruc)
    assert supplier.legal_name == entity.name and supplier.awaiting_confirmation
    assert list(supplier.memberships.values_list("user__email", flat=True)) == ["real@entidad.pe"]
    # The impostor's declarations went with the lapsed claim.
    assert supplier.classifications.count() == 1


def test_a_confirmed_ruc_is_never_released(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _register(client)
    client.post(
        re.search(r"/cuentas/verificar/[^\s/]+/", mailoutbox[0].body).group(0),
        {"password": FORM["password1"]},
    )
    User.objects.filter(email="rosa@textiles.pe").update(
        date_joined=timezone.now() - timedelta(days=400)
    )
    response = _register(client, email="otro@textiles.pe")
    assert response.status_code == 400
    assert response.context["form"].has_error("ruc", "ruc_taken")
