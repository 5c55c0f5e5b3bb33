"""A small world with one of everything a role can reach, for the URL walker and the hostile
form tests: an entity with a published plan in force and a draft modification, a called
process with a document, a participant and its question, and one user per role."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import (
    EntityFactory,
    SupplierFactory,
    UserFactory,
    admin_user,
    auditor,
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    user_of,
)

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    entity: object
    staff: object
    version: object  # published, in force
    draft: object  # the draft modification of the same plan
    item: object  # an item of the draft
    process: object  # called (convocado)
    draft_process: object
    document: object
    supplier: object
    supplier_user: object
    question: object
    invitation: object  # an open invitation to the supplier's account
    auditor: object
    admin: object
    stranger: object  # a verified user with no role
    subscription: object  # the supplier user's


def build_world() -> World:
    from procurement.services import participation, plans, processes
    from procurement.subscriptions.matching import Criteria
    from procurement.subscriptions.services import save_subscription
    from suppliers.services import invite_user

    entity = EntityFactory()
    version, staff = published_plan(
        entity=entity,
        year=timezone.localdate().year,
        items=[
            {
                "description": "Servidores",
                "catalog_item": "43211503",
                "estimated_value": Decimal("450000"),
            },
            {
                "description": "Bolígrafos",
                "sme_reserved": True,
                "estimated_value": Decimal("60000"),
            },
            {"description": "Papel", "estimated_value": Decimal("60000")},
        ],
    )
    items = list(version.items.order_by("reference"))
    process = process_from_plan(staff, version, items=items[:1])
    process = publish_with_lp_calendar(staff, process, call=last_working_day_until_today())
    draft_process = process_from_plan(
        staff, version, items=items[1:2], procedure_type="COMPRE", description="Útiles"
    )
    document = processes.publish_document(
        staff,
        process,
        kind="bases",
        title="Bases",
        upload=SimpleUploadedFile("bases.pdf", PDF),
        announce=False,
    )
    draft = plans.start_modification(staff, version.plan)
    supplier = SupplierFactory()
    supplier_user = user_of(supplier)
    participation.register_participant(supplier_user, process, supplier, fee_receipt="R-1")
    question = participation.submit_question(supplier_user, process, supplier, "¿Plazo?")
    invitation = invite_user(actor=supplier_user, supplier=supplier, email="colega@example.pe")
    subscription = save_subscription(
        actor=supplier_user,
        criteria=Criteria(catalog=("4321",), keywords="servidores"),
        name="Servidores",
        delivery="immediate",
        language="es",
    )
    return World(
        entity=entity,
        staff=staff,
        version=version,
        draft=draft,
        item=draft.items.order_by("reference").first(),
        process=process,
        draft_process=draft_process,
        document=document,
        supplier=supplier,
        supplier_user=supplier_user,
        question=question,
        invitation=invitation,
        auditor=auditor(),
        admin=admin_user(),
        stranger=UserFactory(),
        subscription=subscription,
    )
