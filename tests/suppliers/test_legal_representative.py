"""The legal representative in the supplier registry (issue 15: bidders sharing one are a red
flag): its users keep the name and DNI (8 digits) on the profile form."""

import pytest

from core.errors import DomainError
from core.models import AuditEntry
from suppliers import services
from suppliers.models import Supplier
from tests.factories import SupplierFactory, user_of

pytestmark = pytest.mark.django_db

PROFILE = {
    "trade_name": "Textiles Andinos",
    "address": "Av. El Sol 123",
    "email": "ventas@textiles.pe",
    "phone": "+51 84 123456",
    "domicile": "080108",
    "categories": "44121701",
    "representative_name": "  Rosa   Huamán Quispe ",
    "representative_dni": "41234567",
}


def test_users_record_the_legal_representative(client):
    supplier = SupplierFactory()
    client.force_login(user_of(supplier))
    response = client.post(f"/proveedores/mi-cuenta/{supplier.ruc}/perfil/", PROFILE)
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.representative_name == "Rosa Huamán Quispe"
    assert supplier.representative_dni == "41234567"
    entry = AuditEntry.objects.get(action="supplier.profile_updated")
    assert entry.data["changes"]["representative_dni"] == ["", "41234567"]
    page = client.get(f"/proveedores/mi-cuenta/{supplier.ruc}/")
    assert "Rosa Huamán Quispe" in page.content.decode()


@pytest.mark.parametrize("dni", ["1234567", "123456789", "1234567a", "１２３４５６７８"])
def test_a_dni_has_exactly_8_digits(client, dni):
    supplier = SupplierFactory()
    client.force_login(user_of(supplier))
    response = client.post(
        f"/proveedores/mi-cuenta/{supplier.ruc}/perfil/", {**PROFILE, "representative_dni": dni}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["representative_dni"]
    assert Supplier.objects.get(pk=supplier.pk).representative_dni == ""


def test_the_service_refuses_a_bad_dni_too():
    supplier = SupplierFactory()
    with pytest.raises(DomainError) as refused:
        services.update_profile(
            actor=user_of(supplier),
            supplier=supplier,
            trade_name="",
            address="",
            email="",
            phone="",
            domicile=supplier.domicile,
            categories=[],
            representative_name="Rosa Huamán",
            representative_dni="1234",
        )
    assert refused.value.code == "invalid_profile"
    assert refused.value.field == "representative_dni"
