"""Supplier pages write amounts, counts and dates in the active language's format
(core.formatting): 'S/ 1 234,50' and 26/11/2026 in Spanish, 'S/ 1,234.50' and 11/26/2026 in
English (issue 8, item 7)."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from suppliers import services
from suppliers.models import SupplierInvitation
from tests.factories import SupplierFactory, user_of

pytestmark = pytest.mark.django_db
LIMA = timezone.get_fixed_timezone(-300)


@pytest.fixture
def supplier():
    # Dates in the future: the page shows a registry in force and an invitation pending.
    supplier = SupplierFactory(registry_valid_until=date(2030, 11, 26))
    services.classify_supplier(
        supplier, sales_year=2025, annual_sales=Decimal("1234567.5"), workers=1250
    )
    return supplier


def _page(client, path, language):
    client.cookies["django_language"] = language
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("language", "expected", "wrong"),
    [
        (
            "es",
            ["1\xa0234\xa0567,50", "1\xa0250", "26/11/2030", "30/11/2030 18:45"],
            "1,234,567.50",
        ),
        (
            "en",
            ["1,234,567.50", "1,250", "11/26/2030", "11/30/2030 6:45 p.m."],
            "1\xa0234\xa0567,50",
        ),
    ],
)
def test_the_account_page_shows_sales_counts_and_dates_in_the_language(
    client, supplier, language, expected, wrong
):
    member = user_of(supplier)
    invitation = services.invite_user(actor=member, supplier=supplier, email="luis@example.pe")
    SupplierInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=datetime(2030, 11, 30, 18, 45, tzinfo=LIMA)
    )
    client.force_login(member)
    html = _page(client, f"/proveedores/mi-cuenta/{supplier.ruc}/", language)
    for text in expected:
        assert text in html, text
    assert wrong not in html and "1234567.50" not in html


@pytest.mark.parametrize(("language", "day"), [("es", "26/11/2030"), ("en", "11/26/2030")])
def test_the_public_record_shows_the_registry_date_in_the_language(client, supplier, language, day):
    html = _page(client, f"/proveedores/{supplier.ruc}/", language)
    assert day in html
    assert "1\xa0234\xa0567" not in html and "1,234,567" not in html  # private figures
