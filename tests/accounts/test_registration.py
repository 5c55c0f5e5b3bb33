import re

import pytest

from accounts.models import Membership, User
from core.models import AuditEntry
from suppliers.models import Supplier
from tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

FORM = {
    "ruc": "20131312955",
    "legal_name": "Textiles del Cusco S.A.C.",
    "department": "08",
    "district": "wánchaq",
    "full_name": "Rosa Quispe",
    "email": "Rosa@Textiles.pe",
    "password1": "Alpaca-Andina-2026",
    "password2": "Alpaca-Andina-2026",
    "sales_year": "2025",
    "annual_sales": "350000",
    "workers": "6",
}


def test_supplier_registers_verifies_email_and_logs_in(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/cuentas/registro/", FORM)
    assert response.status_code == 302
    supplier = Supplier.objects.get(ruc="20131312955")
    assert supplier.domicile_id == "080108"  # Wanchaq, Cusco
    assert supplier.size_class == "micro" and supplier.size_rule_id == "ley-28015"
    user = User.objects.get(email="rosa@textiles.pe")
    assert not user.is_active and user.email_verified_at is None
    assert Membership.objects.filter(user=user, supplier=supplier, role="supplier_user").exists()
    assert AuditEntry.objects.filter(
        action="supplier.registered", object_id=str(supplier.pk)
    ).exists()

    # Unverified: login is refused with a message that says why.
    response = client.post(
        "/cuentas/ingresar/", {"username": "rosa@textiles.pe", "password": FORM["password1"]}
    )
    assert response.status_code == 200
    assert "Confirme su correo" in response.content.decode()

    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["rosa@textiles.pe"]
    link = re.search(r"http://[^\s]+/cuentas/verificar/[^\s/]+/", mailoutbox[0].body).group(0)
    response = client.get(link.split("8000", 1)[-1])
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active and user.email_verified_at is not None

    response = client.post(
        "/cuentas/ingresar/", {"username": "ROSA@textiles.pe", "password": FORM["password1"]}
    )
    assert response.status_code == 302


def test_a_wrong_ruc_check_digit_is_a_form_error(client):
    response = client.post("/cuentas/registro/", {**FORM, "ruc": "20131312954"})
    assert response.status_code == 400
    assert "dígito verificador" in response.content.decode()
    assert not Supplier.objects.exists() and not User.objects.exists()


def test_an_existing_ruc_is_refused_and_nothing_is_written(client):
    SupplierFactory(ruc="20131312955")
    response = client.post("/cuentas/registro/", FORM)
    assert response.status_code == 400
    assert "ya está en el registro" in response.content.decode()
    assert not User.objects.exists()


def test_an_ambiguous_or_unknown_district_is_explained(client):
    response = client.post("/cuentas/registro/", {**FORM, "district": "Atlantida"})
    assert response.status_code == 400
    assert "Ningún distrito de Cusco" in response.content.decode()
    assert not Supplier.objects.exists()


def test_a_forged_verification_link_is_refused(client):
    response = client.get("/cuentas/verificar/not-a-token/")
    assert response.status_code == 400
