"""The demo seed gives every process its selection committee: two staff of its entity, the
`staff.` account presiding and the `staff2.` one the other member, with the audit entry the
designation service writes."""

import pytest
from django.db.models import Count, Q

from accounts.models import Membership, Role
from core.models import AuditEntry
from procurement.models import ProcessStatus, ProcurementProcess
from procurement.services.committee import committee_refusal, entity_staff
from tests.seeding import seeded_once

pytestmark = pytest.mark.django_db
TODAY = "2026-11-25"
DEMO_PASSWORD = "demo-portal-2026"  # CONTRACT.md


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    with seeded_once(
        django_db_blocker, tmp_path_factory, "--processes", "80", "--seed", "3", "--today", TODAY
    ) as seeded:
        yield seeded


def test_every_called_process_has_a_committee_of_its_entitys_staff(seeded):
    called = ProcurementProcess.objects.exclude(status=ProcessStatus.DRAFT)
    assert called.count() > 40
    staff_by_entity: dict[int, set[int]] = {}
    for process in called.select_related("entity"):
        if process.entity_id not in staff_by_entity:
            staff_by_entity[process.entity_id] = set(
                entity_staff(process.entity).values_list("pk", flat=True)
            )
        members = list(process.committee_members.values_list("user_id", "role"))
        assert len(members) >= 2, process.identifier
        assert {user for user, _role in members} <= staff_by_entity[process.entity_id]
        assert [role for _user, role in members].count("president") == 1, process.identifier
        assert process.committee_members.filter(
            designated_at__lte=process.published_at
        ).count() == (len(members)), "designated before the call"
    # The one check behind publish_call finds nothing against any seeded process, drafts too:
    # staff can call a seeded draft from the pages.
    short = ProcurementProcess.objects.annotate(n=Count("committee_members")).filter(n__lt=2)
    assert not short.exists()
    for process in ProcurementProcess.objects.all():
        assert committee_refusal(process) is None, process.identifier


def test_staff_presides_and_staff2_is_the_other_member(seeded):
    for process in ProcurementProcess.objects.all():
        roles = dict(process.committee_members.values_list("role", "user__email"))
        president, member = roles["president"], roles["member"]
        assert president.startswith("staff.") and member.startswith("staff2."), roles
        assert president.removeprefix("staff.") == member.removeprefix("staff2.")
    # The demo entities' committees are the accounts CONTRACT.md names.
    minsa = ProcurementProcess.objects.filter(entity__acronym="MINSA").first()
    if minsa is not None:
        assert set(minsa.committee_members.values_list("user__email", flat=True)) == {
            "staff.minsa@demo.portal.pe",
            "staff2.minsa@demo.portal.pe",
        }


def test_each_designation_has_the_services_audit_entry(seeded):
    entries = AuditEntry.objects.filter(action="process.committee_designated")
    assert entries.count() == ProcurementProcess.objects.count()
    process = ProcurementProcess.objects.exclude(status=ProcessStatus.DRAFT).first()
    entry = entries.get(object_id=str(process.pk))
    after = [
        {"user": user, "role": role}
        for user, role in process.committee_members.order_by("user_id").values_list(
            "user_id", "role"
        )
    ]
    assert entry.data == {"identifier": process.identifier, "before": [], "after": after}
    assert entry.created_at == process.created_at
    assert "committee members" in seeded


def test_staff2_accounts_log_in_and_other_entities_staff_are_not_printed(seeded, client):
    for local in ("minsa", "gorecusco", "mparequipa"):
        email = f"staff2.{local}@demo.portal.pe"
        assert Membership.objects.filter(user__email=email, role=Role.ENTITY_STAFF).exists()
        response = client.post("/cuentas/ingresar/", {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        client.logout()
    # Every entity has its two committee staff; only the contract's accounts are printed.
    entities_short = (
        Membership.objects.filter(role=Role.ENTITY_STAFF)
        .values("entity")
        .annotate(n=Count("pk"))
        .filter(~Q(n=2))
    )
    assert not entities_short.exists()
    assert "staff2.minsa@demo.portal.pe" in seeded
    assert "entidades.demo.portal.pe" not in seeded
