"""Supplier self-service (issue 8 item 19): a supplier's users keep its profile, declare a
year's sales, and request the registry's renewal; nobody else can."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Membership
from core.errors import DomainError
from core.models import AuditEntry, FiscalYear
from suppliers import services
from suppliers.models import RenewalRequest, SizeClassification, Supplier
from tests.factories import SupplierFactory, UserFactory, admin_user, user_of

pytestmark = pytest.mark.django_db

PROFILE = {
    "trade_name": "Textiles Andinos",
    "address": "Av. El Sol 123",
    "email": "ventas@textiles.pe",
    "phone": "+51 84 123456",
    "domicile": "080108",
    "categories": "44121701, 43211503\n44121701",
}


@pytest.fixture
def supplier():
    return SupplierFactory(legal_name="Textiles del Cusco S.A.C.")


@pytest.fixture
def member(supplier):
    return user_of(supplier)


@pytest.fixture
def outsider():
    return user_of(SupplierFactory())


def url(supplier, page=""):
    return f"/proveedores/mi-cuenta/{supplier.ruc}/{page}"


# --- The account page ----------------------------------------------------------------------


def test_my_account_leads_a_user_to_its_supplier_and_shows_private_figures(
    client, supplier, member
):
    services.classify_supplier(supplier, sales_year=2025, annual_sales=Decimal("123457"), workers=4)
    client.force_login(member)
    assert client.get("/proveedores/mi-cuenta/").url == url(supplier)
    page = client.get(url(supplier))
    assert page.status_code == 200
    assert "123\xa0457,00" in page.content.decode()  # declared figures: only for its users


def test_the_account_page_is_only_for_the_suppliers_users(client, supplier, outsider):
    assert client.get(url(supplier)).status_code == 302  # to the login
    client.force_login(outsider)
    assert client.get(url(supplier)).status_code == 403
    assert client.get("/proveedores/mi-cuenta/00000000000/").status_code == 404
    for hostile in ["%00", "1" * 40, "-1", "mi-cuenta"]:
        assert client.get(f"/proveedores/mi-cuenta/{hostile}/").status_code == 404


def test_a_user_without_supplier_is_told_how_to_get_one(client):
    client.force_login(UserFactory())
    response = client.get("/proveedores/mi-cuenta/")
    assert response.status_code == 200 and response.context["suppliers"] == []


# --- Profile -------------------------------------------------------------------------------


def test_a_user_edits_the_profile_but_not_the_legal_name_or_ruc(client, supplier, member):
    client.force_login(member)
    assert client.get(url(supplier, "perfil/")).status_code == 200
    response = client.post(
        url(supplier, "perfil/"), {**PROFILE, "legal_name": "Otra S.A.", "ruc": "20100070970"}
    )
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert (supplier.legal_name, supplier.ruc) == ("Textiles del Cusco S.A.C.", supplier.ruc)
    assert supplier.trade_name == "Textiles Andinos" and supplier.domicile_id == "080108"
    assert supplier.email == "ventas@textiles.pe"
    assert sorted(supplier.categories.values_list("code", flat=True)) == ["43211503", "44121701"]
    entry = AuditEntry.objects.get(action="supplier.profile_updated")
    assert entry.actor == member and entry.object_id == str(supplier.pk)
    assert entry.data["changes"]["domicile"] == ["080101", "080108"]
    assert entry.data["categories_added"] == ["43211503", "44121701"]


def test_another_suppliers_user_cannot_edit_the_profile(client, supplier, outsider):
    client.force_login(outsider)
    assert client.post(url(supplier, "perfil/"), PROFILE).status_code == 403
    with pytest.raises(PermissionDenied):
        services.update_profile(
            actor=outsider,
            supplier=supplier,
            trade_name="x",
            address="",
            email="",
            phone="",
            domicile=supplier.domicile,
            categories=[],
        )
    supplier.refresh_from_db()
    assert (
        supplier.trade_name == ""
        and not AuditEntry.objects.filter(action="supplier.profile_updated").exists()
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("categories", "44121701 99999999"),
        ("categories", "4412170X"),
        ("categories", "1" * 5001),
        ("categories", " ".join(f"{n:08d}" for n in range(201))),
        ("domicile", "999999"),
        ("domicile", "15012\x00"),
        ("domicile", "١٥٠١٠١"),
        ("trade_name", "Textiles\x00"),
        ("trade_name", "x" * 10_000),
        ("email", "not-an-address"),
        ("phone", "9" * 31),
    ],
)
def test_hostile_profile_input_gives_a_form_error_and_changes_nothing(
    client, supplier, member, field, value
):
    client.force_login(member)
    response = client.post(url(supplier, "perfil/"), {**PROFILE, field: value})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Supplier.objects.get(pk=supplier.pk).trade_name == ""


def test_unknown_category_codes_are_named(client, supplier, member):
    client.force_login(member)
    response = client.post(url(supplier, "perfil/"), {**PROFILE, "categories": "99999999"})
    assert response.context["form"].errors.as_data()["categories"][0].code == "unknown"
    assert "99999999" in response.content.decode()


# --- Declarations --------------------------------------------------------------------------


def test_a_user_declares_a_new_year_and_the_history_is_kept(client, supplier, member):
    services.classify_supplier(
        supplier,
        sales_year=2024,
        annual_sales=Decimal("100000"),
        workers=3,
        source=SizeClassification.Source.IMPORT,
    )
    years = services.declarable_sales_years(supplier)
    assert years and years[0] == timezone.localdate().year - 1 and 2024 in years
    client.force_login(member)
    assert client.get(url(supplier, "declaracion/")).status_code == 200
    response = client.post(
        url(supplier, "declaracion/"),
        {"sales_year": years[0], "annual_sales": "9000000", "workers": "60"},
    )
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.size_class == "medium_or_large"
    declared = supplier.classifications.get(sales_year=years[0])
    assert declared.source == "declaration" and declared.classified_by == member
    assert supplier.classifications.count() == 2  # history kept
    assert AuditEntry.objects.filter(action="supplier.classified", actor=member).exists()
    # An older year than the newest classification can no longer be declared.
    assert years[0] not in services.declarable_sales_years(supplier)
    assert 2024 not in services.declarable_sales_years(supplier)


def test_a_year_is_declared_once_and_only_a_closed_year_with_parameters(supplier, member):
    year = services.declarable_sales_years(supplier)[0]
    declare = {"actor": member, "supplier": supplier, "annual_sales": Decimal("1000"), "workers": 1}
    services.declare_size(sales_year=year, **declare)
    with pytest.raises(DomainError) as again:
        services.declare_size(sales_year=year, **declare)
    assert (again.value.code, again.value.field) == ("already_declared", "sales_year")
    with pytest.raises(DomainError) as older:
        services.declare_size(sales_year=year - 1, **declare)
    assert older.value.code == "sales_year_superseded"
    for not_closed in [timezone.localdate().year, 2027, 1999]:
        with pytest.raises(DomainError) as refused:
            services.declare_size(sales_year=not_closed, **declare)
        assert refused.value.code == "sales_year_not_closed"
    assert supplier.classifications.count() == 1


def test_the_database_holds_one_declaration_per_sales_year(supplier):
    with pytest.raises(DomainError) as refused:
        for _ in range(2):
            services.classify_supplier(
                supplier, sales_year=2025, annual_sales=Decimal("1"), workers=1
            )
    assert refused.value.code == "already_declared"
    # An administrative review of the same year is not a declaration.
    services.classify_supplier(
        supplier,
        sales_year=2025,
        annual_sales=Decimal("2"),
        workers=1,
        source=SizeClassification.Source.REVIEW,
    )
    assert supplier.classifications.count() == 2


def test_another_suppliers_user_cannot_declare(client, supplier, outsider):
    client.force_login(outsider)
    year = services.declarable_sales_years(supplier)[0]
    data = {"sales_year": year, "annual_sales": "1000", "workers": "1"}
    assert client.post(url(supplier, "declaracion/"), data).status_code == 403
    with pytest.raises(PermissionDenied):
        services.declare_size(
            actor=outsider, supplier=supplier, sales_year=year, annual_sales=Decimal(1), workers=1
        )
    assert not supplier.classifications.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("annual_sales", "-1"),
        ("annual_sales", "1e1000"),
        ("annual_sales", "9" * 30),
        ("annual_sales", "abc\x00"),
        ("workers", "9223372036854775808"),
        ("workers", "-3"),
        ("sales_year", "9223372036854775808"),
        ("sales_year", "2027"),
    ],
)
def test_hostile_declarations_give_form_errors(client, supplier, member, field, value):
    client.force_login(member)
    year = services.declarable_sales_years(supplier)[0]
    data = {"sales_year": year, "annual_sales": "1000", "workers": "1", field: value}
    response = client.post(url(supplier, "declaracion/"), data)
    assert response.status_code == 400 and field in response.context["form"].errors
    assert not supplier.classifications.exists()


# --- Renewal -------------------------------------------------------------------------------


def test_a_user_requests_the_renewal_and_an_admin_approves_it(client, supplier, member):
    supplier.registry_valid_until = timezone.localdate() - timedelta(days=3)
    supplier.save()
    client.force_login(member)
    assert client.get(url(supplier, "renovacion/")).status_code == 200
    assert client.post(url(supplier, "renovacion/")).status_code == 302
    request = RenewalRequest.objects.get(supplier=supplier)
    assert request.status == "pending" and request.requested_by == member
    assert AuditEntry.objects.filter(action="supplier.renewal_requested", actor=member).exists()
    again = client.post(url(supplier, "renovacion/"))
    assert again.status_code == 400
    assert again.context["form"].non_field_errors().as_data()[0].code == "renewal_pending"
    page = client.get(url(supplier)).content.decode()
    assert "Pendiente" in page or "Pending" in page

    admin = admin_user()
    client.force_login(admin)
    response = client.post(
        "/admin/suppliers/renewalrequest/",
        {"action": "approve", "_selected_action": [request.pk]},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    supplier.refresh_from_db()
    assert request.status == "approved" and request.decided_by == admin
    assert supplier.registry_valid_until == timezone.localdate() + services.REGISTRY_TERM
    assert request.valid_until == supplier.registry_valid_until
    assert AuditEntry.objects.filter(action="supplier.renewal_approved", actor=admin).exists()
    assert AuditEntry.objects.filter(action="supplier.registry_renewed", actor=admin).exists()
    with pytest.raises(DomainError) as decided:
        services.reject_renewal(actor=admin, request=request)
    assert decided.value.code == "renewal_decided"


def test_approving_never_shortens_the_registry_and_rejecting_changes_nothing(supplier, member):
    far = timezone.localdate() + timedelta(days=600)
    supplier.registry_valid_until = far
    supplier.save()
    admin = admin_user()
    services.approve_renewal(
        actor=admin, request=services.request_renewal(actor=member, supplier=supplier)
    )
    supplier.refresh_from_db()
    assert supplier.registry_valid_until == far
    rejected = services.reject_renewal(
        actor=admin, request=services.request_renewal(actor=member, supplier=supplier)
    )
    assert rejected.status == "rejected"
    supplier.refresh_from_db()
    assert supplier.registry_valid_until == far
    assert AuditEntry.objects.filter(action="supplier.renewal_rejected").exists()


def test_only_the_suppliers_users_request_and_only_admins_decide(
    client, supplier, member, outsider
):
    client.force_login(outsider)
    assert client.post(url(supplier, "renovacion/")).status_code == 403
    with pytest.raises(PermissionDenied):
        services.request_renewal(actor=outsider, supplier=supplier)
    request = services.request_renewal(actor=member, supplier=supplier)
    with pytest.raises(PermissionDenied):
        services.approve_renewal(actor=member, request=request)
    with pytest.raises(PermissionDenied):
        services.reject_renewal(actor=outsider, request=request)
    request.refresh_from_db()
    assert request.status == "pending"


def test_fiscal_years_without_parameters_are_not_offered(supplier):
    FiscalYear.objects.filter(year=timezone.localdate().year - 1).update(provisional=True)
    assert timezone.localdate().year - 1 not in services.declarable_sales_years(supplier)


def test_the_self_service_pages_are_accessible(client, supplier, member, mailoutbox):
    from tests.core.test_accessibility import audit

    second = SupplierFactory()
    user_of(second, email="otra@example.pe")
    client.force_login(member)
    for page in ["", "perfil/", "declaracion/", "renovacion/", "invitaciones/"]:
        audit(client, url(supplier, page))
    invitation = services.invite_user(actor=member, supplier=supplier, email="nuevo@example.pe")
    claimed = SupplierFactory()
    user_of(claimed)
    audit(client, f"/proveedores/{claimed.ruc}/disputar/")
    client.logout()
    audit(client, f"/proveedores/invitacion/{services.invitation_token(invitation)}/")
    both = UserFactory()
    for each in (supplier, second):
        Membership.objects.create(user=both, role="supplier_user", supplier=each)
    client.force_login(both)
    audit(client, "/proveedores/mi-cuenta/")


def test_the_navigation_leads_a_supplier_user_to_its_suppliers(client, member):
    client.force_login(member)
    assert 'href="/proveedores/mi-cuenta/"' in client.get("/").content.decode()
    client.force_login(UserFactory())
    assert 'href="/proveedores/mi-cuenta/"' not in client.get("/").content.decode()
