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
    response = client.post(link.split("8000", 1)[-1], {"password": FORM["password1"]})
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
    assert response.context["form"].has_error("ruc", "ruc_without_users")
    assert not User.objects.exists()


def test_an_ambiguous_or_unknown_district_is_explained(client):
    response = client.post("/cuentas/registro/", {**FORM, "district": "Atlantida"})
    assert response.status_code == 400
    assert "Ningún distrito de Cusco" in response.content.decode()
    assert not Supplier.objects.exists()


def test_a_forged_verification_link_is_refused(client):
    response = client.get("/cuentas/verificar/not-a-token/")
    assert response.status_code == 400


def test_a_district_name_shared_by_two_provinces_must_name_the_province(client):
    data = {**FORM, "department": "02", "district": "Pampas"}
    response = client.post("/cuentas/registro/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Pampas (Huaraz)" in html and "Pampas (Pallasca)" in html
    response = client.post("/cuentas/registro/", {**data, "district": "pampas (pallasca)"})
    assert response.status_code == 302
    assert Supplier.objects.get(ruc=FORM["ruc"]).domicile.province.name == "Pallasca"


def test_registry_comes_into_force_only_when_the_email_is_confirmed(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cuentas/registro/", FORM)
    supplier = Supplier.objects.get(ruc=FORM["ruc"])
    assert supplier.registry_valid_until is None and not supplier.registry_valid_on()
    link = re.search(r"/cuentas/verificar/[^\s/]+/", mailoutbox[0].body).group(0)
    client.post(link, {"password": FORM["password1"]})
    supplier.refresh_from_db()
    assert supplier.registry_valid_on()


def test_a_lapsed_unconfirmed_claim_can_be_replaced_by_the_rightful_owner(client, settings):
    client.post(
        "/cuentas/registro/",
        {**FORM, "legal_name": "Impostor S.A.C.", "email": "impostor@example.pe"},
    )
    # While the link is valid, the RUC is held (but not public: see tests/suppliers).
    response = client.post("/cuentas/registro/", {**FORM, "email": "owner@textiles.pe"})
    assert response.status_code == 400
    assert response.context["form"].has_error("ruc", "ruc_claim_pending")
    User.objects.filter(email="impostor@example.pe").update(date_joined="2020-01-01T00:00:00Z")
    response = client.post("/cuentas/registro/", {**FORM, "email": "owner@textiles.pe"})
    assert response.status_code == 302
    supplier = Supplier.objects.get(ruc=FORM["ruc"])
    assert supplier.legal_name == FORM["legal_name"]
    assert list(supplier.memberships.values_list("user__email", flat=True)) == ["owner@textiles.pe"]


def test_only_closed_official_years_can_be_declared(client):
    from django.utils import timezone

    from core.models import FiscalYear

    this_year = timezone.localdate().year
    FiscalYear.objects.filter(pk=2025).update(provisional=True)  # not yet official
    html = client.get("/cuentas/registro/").content.decode()
    offered = {
        y
        for y in FiscalYear.objects.values_list("year", flat=True)
        if f'<option value="{y}"' in html
    }
    expected = set(
        FiscalYear.objects.filter(year__lt=this_year, provisional=False).values_list(
            "year", flat=True
        )
    )
    assert offered == expected and 2025 not in offered and this_year not in offered
    response = client.post("/cuentas/registro/", {**FORM, "sales_year": "2025"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "field,value",
    [
        ("ruc", "2013131295²"),
        ("ruc", "20١٣١٣١٢٩٥5"),
        ("workers", "99999999999"),
        ("annual_sales", "1" + "0" * 15),
        ("email", "a" * 250 + "@x.pe"),
    ],
)
def test_out_of_range_input_is_a_form_error_not_a_crash(client, field, value):
    response = client.post("/cuentas/registro/", {**FORM, field: value})
    assert response.status_code == 400
    assert not Supplier.objects.exists()
