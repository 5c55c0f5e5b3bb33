import hashlib
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from accounts.models import Membership, User
from core import clock
from core.codelists import GovernmentLevel
from core.ruc import is_valid_ruc
from procurement.models import Entity, PlanItem, PlanVersion
from procurement.queries import plans_in_force
from procurement.sme import SNAPSHOT_FIELDS, planned_share, snapshot
from suppliers.models import SizeClassification, Supplier

pytestmark = pytest.mark.django_db
TODAY = "2026-11-25"


def digest() -> str:
    """A fingerprint of the demo rows by natural keys (database ids differ between runs)."""
    parts = [
        list(
            Entity.objects.order_by("ruc").values_list(
                "ruc", "name", "acronym", "sector_id", "level", "ubigeo_id"
            )
        ),
        list(
            Supplier.objects.order_by("ruc").values_list(
                "ruc",
                "legal_name",
                "domicile_id",
                "email",
                "registry_valid_until",
                "size_class",
                "registered_at",
            )
        ),
        list(
            SizeClassification.objects.order_by("supplier__ruc").values_list(
                "supplier__ruc", "annual_sales", "workers", "sales_uit", "size_class", "rule_id"
            )
        ),
        list(
            Supplier.categories.through.objects.order_by(
                "supplier__ruc", "catalogitem_id"
            ).values_list("supplier__ruc", "catalogitem_id")
        ),
        list(User.objects.order_by("email").values_list("email", "password", "full_name")),
        list(
            Membership.objects.order_by("user__email").values_list(
                "user__email", "role", "entity__ruc", "supplier__ruc"
            )
        ),
        list(
            PlanVersion.objects.order_by(
                "plan__entity__ruc", "plan__fiscal_year", "number"
            ).values_list(
                "plan__entity__ruc",
                "plan__fiscal_year",
                "number",
                "approval_date",
                "published_at",
                "reason",
                "sme_share",
                "sme_compliant",
                "published_late",
                "sme_justification",
            )
        ),
        list(
            PlanItem.objects.order_by(
                "version__plan__entity__ruc",
                "version__plan__fiscal_year",
                "version__number",
                "reference",
            ).values_list(
                "version__plan__entity__ruc",
                "version__number",
                "reference",
                "object_type",
                "catalog_item_id",
                "estimated_value",
                "procedure_type",
                "planned_month",
                "sme_reserved",
            )
        ),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def seeded_digest(seed: int) -> str:
    # A pinned clock: seeding for today caps the day's history at the moment of the seed.
    with transaction.atomic(), clock.pinned(date.fromisoformat(TODAY)):
        call_command(
            "seed_demo",
            "--processes",
            "100",
            "--seed",
            str(seed),
            "--today",
            TODAY,
            stdout=StringIO(),
        )
        value = digest()
        transaction.set_rollback(True)
    return value


def test_same_seed_gives_the_same_data_and_another_seed_does_not():
    first = seeded_digest(7)
    assert Entity.objects.count() == 0  # rolled back
    assert seeded_digest(7) == first
    assert seeded_digest(8) != first


def test_demo_data_is_realistic():
    out = StringIO()
    call_command("seed_demo", "--processes", "100", "--seed", "3", "--today", TODAY, stdout=out)
    entities = Entity.objects.all()
    assert 300 <= entities.count() <= 1000
    assert set(entities.values_list("level", flat=True)) == set(GovernmentLevel.values)
    assert entities.values("sector").distinct().count() >= 15
    assert entities.values("ubigeo__province__department").distinct().count() == 25
    assert all(is_valid_ruc(ruc) for ruc in entities.values_list("ruc", flat=True))

    suppliers = Supplier.objects.all()
    total = suppliers.count()
    assert total >= 1500
    micro = suppliers.filter(size_class="micro").count() / total
    small = suppliers.filter(size_class="small").count() / total
    # the registry of state suppliers (parties.SIZE_MIX): mostly micro and small, about one
    # in ten medium or large
    assert 0.67 <= micro <= 0.77
    assert 0.14 <= small <= 0.22
    assert 0.07 <= 1 - micro - small <= 0.13
    assert all(is_valid_ruc(ruc) for ruc in suppliers.values_list("ruc", flat=True))
    assert SizeClassification.objects.count() == total
    assert suppliers.filter(registry_valid_until__lt=date(2026, 11, 25)).exists()  # some expired

    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {
        "admin",
        "auditor",
        "entity_staff",
        "entity_head",
        "supplier_user",
        "tribunal",
    }
    printed = out.getvalue()
    assert "admin@demo.portal.pe" in printed and "demo-portal-2026" in printed


def test_seed_refuses_a_non_empty_portal_unless_asked_to_skip():
    call_command(
        "seed_demo", "--processes", "10", "--seed", "1", "--today", TODAY, stdout=StringIO()
    )
    with pytest.raises(CommandError):
        call_command("seed_demo", "--processes", "10", "--today", TODAY, stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", "--if-empty", "--today", TODAY, stdout=out)
    assert "already present" in out.getvalue()
    assert "staff.minsa@demo.portal.pe" in out.getvalue()


def test_demo_plans_cover_every_entity_with_modifications_and_some_non_compliant():
    call_command(
        "seed_demo", "--processes", "100", "--seed", "5", "--today", TODAY, stdout=StringIO()
    )
    in_force = plans_in_force().filter(plan__fiscal_year=2026)
    assert in_force.count() == Entity.objects.count()
    non_compliant = in_force.filter(sme_compliant=False).count() / in_force.count()
    assert 0.1 <= non_compliant <= 0.3
    assert not in_force.filter(sme_compliant=False, sme_justification="").exists()
    assert PlanVersion.objects.filter(number__gte=1).exclude(reason="").count() > 50
    assert PlanVersion.objects.filter(published_late=True).exists()
    # Every recorded share is what the one SME-share function computes.
    for version in PlanVersion.objects.select_related("plan__fiscal_year").order_by("?")[:25]:
        share = planned_share(version.items.all(), version.plan.fiscal_year.sme_reserved_min_share)
        assert {field: getattr(version, field) for field in SNAPSHOT_FIELDS} == snapshot(share)


CONTRACT_ACCOUNTS = {
    "admin@demo.portal.pe": "admin",
    "auditor@demo.portal.pe": "auditor",
    "tribunal@demo.portal.pe": "tribunal",
    **{
        f"titular.{local}@demo.portal.pe": "entity_head"
        for local in ("minsa", "gorecusco", "mparequipa")
    },
    **{
        f"{prefix}.{local}@demo.portal.pe": "entity_staff"
        for prefix in ("staff", "staff2")
        for local in ("minsa", "gorecusco", "mparequipa")
    },
    "proveedor.micro@demo.portal.pe": "supplier_user",
    "proveedor.pequena@demo.portal.pe": "supplier_user",
    "proveedor.mediana@demo.portal.pe": "supplier_user",
}


def test_every_demo_account_of_the_contract_logs_in_with_its_role(client):
    call_command(
        "seed_demo", "--processes", "10", "--seed", "1", "--today", TODAY, stdout=StringIO()
    )
    for email, role in CONTRACT_ACCOUNTS.items():
        assert Membership.objects.filter(user__email=email, role=role).exists(), email
        response = client.post(
            "/cuentas/ingresar/", {"username": email, "password": "demo-portal-2026"}
        )
        assert response.status_code == 302, email
        client.logout()
    # Both committee members and the head of an entity belong to the same entity.
    minsa = Membership.objects.filter(user__email__endswith=".minsa@demo.portal.pe")
    assert minsa.count() == 3 and len(set(minsa.values_list("entity_id", flat=True))) == 1
    # Each demo supplier user has a subscription (CONTRACT.md: seed_demo makes subscriptions),
    # listed on its own page.
    from notifications.models import Subscription

    for email in [e for e, role in CONTRACT_ACCOUNTS.items() if role == "supplier_user"]:
        owned = Subscription.objects.filter(owner__email=email)
        assert owned.count() == 1 and owned.get().criteria.exists(), email
        client.post("/cuentas/ingresar/", {"username": email, "password": "demo-portal-2026"})
        page = client.get("/cuentas/suscripciones/").content.decode()
        assert owned.get().name in page, email
        client.logout()
