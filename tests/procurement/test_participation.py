"""Participants, questions and observations, answers and integrated bases."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core import clock
from core.workdays import WorkingCalendar
from notifications.models import Event
from procurement.models import Participant
from procurement.services import participation, processes
from suppliers.services import classify_supplier
from tests.domain import raises_domain
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    compre_calendar,
    designate_committee_of_two,
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    staff_of,
    user_of,
)

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n%%EOF\n"


def _process(sme_only: bool):
    value = Decimal("60000") if sme_only else Decimal("450000")
    version, staff = published_plan(
        items=[
            {
                "description": "Bienes",
                "catalog_item": "44121701",
                "estimated_value": value,
                "sme_reserved": sme_only,
            }
        ]
    )
    return process_from_plan(
        staff, version, procedure_type="COMPRE" if sme_only else "LP", description="Compra"
    ), staff


@pytest.fixture
def called_lp():
    """A called LP whose call started on the last working day up to today, so that 'today'
    is inside the registration and questions windows on any day the tests run."""
    process, staff = _process(sme_only=False)
    process = publish_with_lp_calendar(staff, process, call=last_working_day_until_today())
    stages = {s.stage: s for s in process.stages.all()}
    return process, staff, stages


def test_a_supplier_user_registers_its_company(called_lp):
    process, _staff, stages = called_lp
    supplier = SupplierFactory()
    user = user_of(supplier)
    with clock.pinned(stages["convocatoria"].start):
        participant = participation.register_participant(
            user, process, supplier, fee_receipt="R-001"
        )
    assert participant.fee_receipt == "R-001"
    assert Event.objects.filter(kind="process.participant_registered").exists()
    with raises_domain("already_registered"), clock.pinned(stages["convocatoria"].start):
        participation.register_participant(user, process, supplier)


def test_registration_is_refused_after_the_bid_deadline_and_with_an_expired_registry(called_lp):
    process, _staff, stages = called_lp
    supplier = SupplierFactory()
    user = user_of(supplier)
    with (
        raises_domain("registration_closed"),
        clock.pinned(stages["ofertas"].end + timedelta(days=1)),
    ):
        participation.register_participant(user, process, supplier)
    with clock.pinned(stages["ofertas"].end):
        participation.register_participant(user, process, supplier)
    # Expired the day before the moment tried (the call may be days before today).
    call = stages["convocatoria"].start
    expired = SupplierFactory(registry_valid_until=call - timedelta(days=1))
    with raises_domain("registry_not_in_force"), clock.pinned(call):
        participation.register_participant(user_of(expired), process, expired)


def test_only_the_suppliers_own_users_register_it(called_lp):
    process, staff, stages = called_lp
    supplier = SupplierFactory()
    for intruder in [user_of(SupplierFactory()), staff, staff_of(EntityFactory())]:
        with pytest.raises(PermissionDenied), clock.pinned(stages["convocatoria"].start):
            participation.register_participant(intruder, process, supplier)
    assert not Participant.objects.exists()


def test_sme_only_process_tells_a_non_sme_plainly_why_not():
    process, staff = _process(sme_only=True)
    assert process.sme_only
    cal = WorkingCalendar()
    call = cal.next_working_day(timezone.localdate())
    processes.set_calendar(staff, process, compre_calendar(call))
    designate_committee_of_two(staff, process)
    process = processes.publish_call(actor=staff, process=process)
    # The classification that counts is based on the sales of one of the two previous years.
    big = SupplierFactory(size_class="")
    classify_supplier(big, sales_year=call.year - 1, annual_sales=Decimal("9000000"), workers=80)
    with raises_domain("sme_only") as error, clock.pinned(call):
        participation.register_participant(user_of(big), process, big)
    assert "reservado para micro y pequeñas empresas" in error.value.message
    assert (
        "mediana o gran empresa" in error.value.message
        and "Ley 28015 (2003)" in error.value.message
    )
    unclassified = SupplierFactory(size_class="small")  # a class with no classification
    with raises_domain("sme_only") as error, clock.pinned(call):
        participation.register_participant(user_of(unclassified), process, unclassified)
    assert f"{call.year - 2} o {call.year - 1}" in error.value.message
    small = SupplierFactory(size_class="")
    classify_supplier(small, sales_year=call.year - 1, annual_sales=Decimal("1000000"), workers=20)
    with clock.pinned(call):
        participation.register_participant(user_of(small), process, small)


def test_questions_answers_and_integrated_bases(called_lp):
    process, staff, stages = called_lp
    supplier = SupplierFactory()
    user = user_of(supplier)
    open_day = stages["consultas"].start
    with raises_domain("not_participant"), clock.pinned(open_day):
        participation.submit_question(user, process, supplier, "¿Plazo?")
    with clock.pinned(open_day):
        participation.register_participant(user, process, supplier)
    with clock.pinned(open_day):
        question = participation.submit_question(
            user, process, supplier, "¿Se acepta entrega parcial?"
        )
    with (
        raises_domain("questions_closed"),
        clock.pinned(stages["consultas"].end + timedelta(days=1)),
    ):
        participation.submit_question(user, process, supplier, "Tarde")
    after = stages["consultas"].end + timedelta(days=1)
    pdf = SimpleUploadedFile("absolucion.pdf", PDF)
    with raises_domain("answers_first"):
        participation.publish_integrated_bases(
            staff, process, upload=SimpleUploadedFile("bi.pdf", PDF)
        )
    with raises_domain("questions_open"), clock.pinned(stages["consultas"].end):
        participation.publish_answers(staff, process, upload=pdf)
    with raises_domain("unanswered_questions"), clock.pinned(after):
        participation.publish_answers(staff, process, upload=pdf)
    participation.answer_question(staff, question, "Sí, en dos entregas.")
    with pytest.raises(PermissionDenied):
        participation.answer_question(staff_of(EntityFactory()), question, "Otra")
    with clock.pinned(after):
        participation.publish_answers(
            staff, process, upload=SimpleUploadedFile("absolucion.pdf", PDF)
        )
    with raises_domain("answers_published"):
        participation.answer_question(staff, question, "Cambio tardío")
    participation.publish_integrated_bases(staff, process, upload=SimpleUploadedFile("bi.pdf", PDF))
    kinds = list(
        Event.objects.filter(object_type="procurement.procurementprocess").values_list(
            "kind", flat=True
        )
    )
    assert "process.answers_published" in kinds and "process.integrated_bases_published" in kinds
    assert not Event.objects.filter(
        kind="process.document_published"
    ).exists()  # announced once, not twice
    assert set(process.documents.values_list("kind", flat=True)) == {"answers", "integrated_bases"}


def test_a_supplier_user_reads_the_published_answers_while_the_process_is_called(client, called_lp):
    """The process page gives a supplier user both its "can I take part?" answer and the
    published questions with their answers: neither hides the other."""
    process, staff, stages = called_lp
    supplier = SupplierFactory()
    user = user_of(supplier)
    with clock.pinned(stages["consultas"].start):
        participation.register_participant(user, process, supplier)
        question = participation.submit_question(user, process, supplier, "¿Entrega parcial?")
    participation.answer_question(staff, question, "Sí, en dos entregas.")
    with clock.pinned(stages["consultas"].end + timedelta(days=1)):
        participation.publish_answers(
            staff, process, upload=SimpleUploadedFile("absolucion.pdf", PDF)
        )
        client.force_login(user)
        page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "¿Puedo participar?" in page
    assert "¿Entrega parcial?" in page and "Sí, en dos entregas." in page


def test_the_pages_let_a_supplier_take_part_and_the_committee_answer(client, called_lp):
    process, staff, stages = called_lp
    supplier = SupplierFactory(legal_name="Ferretería Andina S.A.C.")
    client.force_login(user_of(supplier))
    page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "como participante" in page
    assert (
        client.post(
            f"/procesos/{process.identifier}/participar/", {"supplier": supplier.pk}
        ).status_code
        == 302
    )
    assert Participant.objects.filter(process=process, supplier=supplier).exists()
    assert stages["consultas"].start <= timezone.localdate() <= stages["consultas"].end
    client.post(
        f"/procesos/{process.identifier}/consultas/",
        {"supplier": supplier.pk, "text": "¿Garantía mínima?"},
    )
    assert process.questions.count() == 1
    other = SupplierFactory()
    response = client.post(f"/procesos/{process.identifier}/participar/", {"supplier": other.pk})
    assert response.status_code == 403
    response = client.post(f"/procesos/{process.identifier}/participar/", {"supplier": "²"})
    assert response.status_code == 400
    client.force_login(staff)
    page = client.get(f"/gestion/procesos/{process.pk}/").content.decode()
    assert "1 participante registrado" in page


def test_a_non_sme_sees_why_it_cannot_take_part(client):
    process, staff = _process(sme_only=True)
    cal = WorkingCalendar()
    call = cal.next_working_day(timezone.localdate())
    processes.set_calendar(staff, process, compre_calendar(call))
    designate_committee_of_two(staff, process)
    processes.publish_call(actor=staff, process=process)
    big = SupplierFactory(size_class="medium_or_large")
    client.force_login(user_of(big))
    with clock.pinned(call):  # registration is open on the call day (today may be a Sunday)
        page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "reservado para micro y pequeñas empresas" in page
    assert "como participante" not in page
