"""The sanctions list (debarments by the Tribunal de Contrataciones del Estado): kept by the
admins, audited, and checked wherever eligibility is."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import clock
from core.models import AuditEntry
from core.workdays import WorkingCalendar
from procurement.models import Participant
from procurement.services import participation
from suppliers.models import Sanction
from suppliers.services import may_act_in_processes, require_may_act_in_processes
from tests.domain import raises_domain
from tests.factories import (
    SupplierFactory,
    admin_user,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    user_of,
)

pytestmark = pytest.mark.django_db


def _debar(supplier, starts_on, ends_on, resolution="01234-2026-TCE-S1"):
    return Sanction.objects.create(
        supplier=supplier,
        starts_on=starts_on,
        ends_on=ends_on,
        resolution=resolution,
        reason="Presentó documentación falsa (art. 50.1 j).",
    )


@pytest.fixture
def called_lp():
    """A called LP whose call starts on the last working day up to today."""
    version, staff = published_plan(
        items=[{"description": "Bienes", "catalog_item": "44121701", "estimated_value": "450000"}]
    )
    process = process_from_plan(staff, version, procedure_type="LP", description="Compra")
    cal, day = WorkingCalendar(), timezone.localdate()
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    process = publish_with_lp_calendar(staff, process, call=day)
    return process, {s.stage: s for s in process.stages.all()}


def test_a_supplier_debarred_today_is_refused_registration_with_the_resolution(called_lp):
    process, stages = called_lp
    day = stages["convocatoria"].start
    supplier = SupplierFactory()
    _debar(supplier, day - timedelta(days=30), day + timedelta(days=200))
    with raises_domain("debarred") as refusal, clock.pinned(day):
        participation.register_participant(user_of(supplier), process, supplier)
    message = refusal.value.message
    assert "01234-2026-TCE-S1" in message
    assert (day + timedelta(days=200)).strftime("%d/%m/%Y") in message
    assert not Participant.objects.filter(supplier=supplier).exists()
    # The page asks the same function and shows the same reason.
    with clock.pinned(day):
        refusal = participation.registration_refusal(process, supplier)
    assert refusal.code == "debarred"


def test_a_permanent_debarment_refuses_and_says_so(called_lp):
    process, stages = called_lp
    day = stages["convocatoria"].start
    supplier = SupplierFactory()
    _debar(supplier, day - timedelta(days=400), None, resolution="0777-2024-TCE-S3")
    with raises_domain("debarred") as refusal, clock.pinned(day):
        participation.register_participant(user_of(supplier), process, supplier)
    assert "0777-2024-TCE-S3" in refusal.value.message
    assert "definitiva" in refusal.value.message or "permanent" in refusal.value.message


@pytest.mark.parametrize("when", ["starts_tomorrow", "ended_yesterday"])
def test_a_sanction_not_in_force_that_day_does_not_refuse(called_lp, when):
    process, stages = called_lp
    day = stages["convocatoria"].start
    supplier = SupplierFactory()
    if when == "starts_tomorrow":
        _debar(supplier, day + timedelta(days=1), day + timedelta(days=90))
    else:
        _debar(supplier, day - timedelta(days=90), day - timedelta(days=1))
    with clock.pinned(day):
        assert may_act_in_processes(supplier)
        participation.register_participant(user_of(supplier), process, supplier)
    assert Participant.objects.filter(supplier=supplier).exists()


def test_the_first_and_last_day_of_a_sanction_are_in_force():
    supplier = SupplierFactory()
    today = clock.today()
    _debar(supplier, today + timedelta(days=1), today + timedelta(days=3))
    for offset, refused in [(0, False), (1, True), (3, True), (4, False)]:
        day = today + timedelta(days=offset)
        assert may_act_in_processes(supplier, day=day) is not refused, offset
    with raises_domain("debarred"):
        require_may_act_in_processes(supplier, day=today + timedelta(days=2))


def test_a_debarred_participant_can_no_longer_ask(called_lp):
    process, stages = called_lp
    supplier = SupplierFactory()
    user = user_of(supplier)
    day = stages["consultas"].start
    with clock.pinned(day):
        participation.register_participant(user, process, supplier)
    _debar(supplier, day, day + timedelta(days=365))
    with raises_domain("debarred"), clock.pinned(day):
        participation.submit_question(user, process, supplier, "¿Plazo de entrega?")


def test_the_end_cannot_come_before_the_start():
    supplier = SupplierFactory()
    today = clock.today()
    with pytest.raises(IntegrityError), transaction.atomic():
        _debar(supplier, today, today - timedelta(days=1))
    _debar(supplier, today, today)  # one day is fine
    _debar(supplier, today, None)  # and so is for good


def test_an_admin_adds_a_sanction_and_it_is_audited(client):
    admin = admin_user()
    client.force_login(admin)
    supplier = SupplierFactory()
    assert client.get("/admin/suppliers/sanction/add/").status_code == 200
    today = clock.today()
    response = client.post(
        "/admin/suppliers/sanction/add/",
        {
            "supplier": supplier.pk,
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
            "resolution": "00042-2026-TCE-S2",
            "reason": "Desistió de su oferta sin causa justificada.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    sanction = Sanction.objects.get(supplier=supplier)
    assert sanction.recorded_by == admin and sanction.resolution == "00042-2026-TCE-S2"
    entry = AuditEntry.objects.get(action="admin.added", object_type="suppliers.sanction")
    assert entry.actor == admin and "resolution" in entry.data["fields"]
    assert not may_act_in_processes(supplier)
    # An end before the start is a form error, not a 500.
    response = client.post(
        "/admin/suppliers/sanction/add/",
        {
            "supplier": supplier.pk,
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=1)).isoformat(),
            "resolution": "X",
            "reason": "Y",
        },
    )
    assert response.status_code == 200 and Sanction.objects.count() == 1


def test_pages_show_the_sanction(client):
    supplier = SupplierFactory(legal_name="Constructora Sancionada S.A.C.")
    today = clock.today()
    _debar(supplier, today - timedelta(days=10), today + timedelta(days=100))
    old = _debar(supplier, today - timedelta(days=900), today - timedelta(days=800), "0001-2024")
    public = client.get(f"/proveedores/{supplier.ruc}/").content.decode()
    assert "01234-2026-TCE-S1" in public
    assert old.resolution not in public  # public page: the sanctions in force
    client.force_login(user_of(supplier))
    own = client.get(f"/proveedores/mi-cuenta/{supplier.ruc}/").content.decode()
    assert "01234-2026-TCE-S1" in own and old.resolution in own


def test_a_sanction_binds_its_supplier_only(called_lp):
    """A sanction binds its supplier only."""
    process, stages = called_lp
    day = stages["convocatoria"].start
    _debar(SupplierFactory(), day, None)
    other = SupplierFactory()
    with clock.pinned(day):
        participation.register_participant(user_of(other), process, other)
    assert Participant.objects.count() == 1
