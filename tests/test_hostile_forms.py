"""Guard rail: every form the portal posts, with hostile values in each field (NUL bytes,
10,000-character and longer strings, numbers past any column, negative numbers, impossible
and absurd dates, unknown ids), answers with a 4xx or a form error, never a 5xx, and writes
nothing. Each endpoint's baseline (the same form with sane values) is then accepted, so the
hostile cases exercise the real path. Also run on SQLite (marker `urlwalk`)."""

import logging
from contextlib import nullcontext
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from core import clock
from procurement.calendar_rules import stages_of
from procurement.services.committee import entity_staff
from tests.hostile import HOSTILE
from tests.world import PDF, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.urlwalk]


def _bid_moment(world):
    """Noon of the first day of the world process's bid stage."""

    return clock.local(world.process.stages.get(stage="ofertas").start)


def _draft_document(world):
    from procurement.services import bids

    upload = SimpleUploadedFile("propuesta.pdf", PDF, content_type="application/pdf")
    return bids.upload_draft_document(
        world.supplier_user, world.process, world.supplier, upload, title="Propuesta"
    )


def _with_draft(world):
    return {"documents": [str(_draft_document(world).pk)]}


def _draft_to_discard(world):
    return {"document": str(_draft_document(world).pk)}


def _bid_in_force(world):
    from procurement.services import bids

    item = world.process.items.get()
    bids.submit_bid(
        world.supplier_user,
        world.process,
        world.supplier,
        prices={item.pk: "1250.50"},
        documents=[_draft_document(world).pk],
    )
    return {}


def _lead_to_consent_to(world):
    from tests.factories import SupplierFactory

    return {"lead": SupplierFactory().ruc}


def _consent_given(world):
    from procurement.services import bids
    from tests.factories import SupplierFactory

    bids.give_consortium_consent(
        world.supplier_user, world.process, world.supplier, SupplierFactory()
    )
    return {}


def _calendar_fields(world):
    from tests.factories import lp_calendar

    process = world.draft_process
    call = timezone.localdate() + timedelta(days=7)
    return process, {
        f"{stage}_{edge}": value.isoformat()
        for stage, (start, end) in lp_calendar(call).items()
        if stage in stages_of(process.procedure_type)
        for edge, value in (("start", start), ("end", end))
    }


def _endpoints(world):
    """(role, url, baseline data, {field: kind}) for every form; the baseline is valid."""
    process, item, draft = world.process, world.item, world.draft
    year = world.version.plan.fiscal_year_id
    out_of_plan = {
        "entity": world.entity.pk,
        "year": year,
        "procedure_type": "COMPRE",
        "description": "Mascarillas",
        "delivery_place": "Sede",
        "delivery_department": "15",
        "delivery_district": "Lima",
        "object_type": "goods",
        "catalog_code": "44121701",
        "item_description": "Mascarillas KN95",
        "quantity": "1000",
        "unit": "NIU",
        "estimated_value": "50000",
        "outside_plan_reason": "Emergencia",
    }
    plan_item = {
        "object_type": "goods",
        "catalog_code": "44121701",
        "description": "Lápices",
        "quantity": "10",
        "unit": "NIU",
        "estimated_value": "500.00",
        "procedure_type": "COMPRE",
        "planned_month": "3",
    }
    free_items = [i.pk for i in world.version.items.exclude(description="Servidores")]
    calendar_process, calendar = _calendar_fields(world)
    committee = [u.pk for u in entity_staff(world.entity)[:2]]
    price = f"price_{process.items.get().pk}"
    offer_fields = {
        price: "price",
        "documents": "id",
        "lead_share": "number",
        "member_ruc_1": "ruc",
        "member_share_1": "number",
        "supplier": "id",
        "form_token": "text",
    }
    return {
        "supplier_profile": (
            "supplier",
            f"/proveedores/mi-cuenta/{world.supplier.ruc}/perfil/",
            {
                "trade_name": "Andes",
                "address": "Av. Sol 123",
                "email": "ventas@andes.pe",
                "phone": "084-231234",
                "representative_name": "Ana Quispe Mamani",
                "representative_dni": "45678912",
                "domicile": "080101",
                "categories": "44121701",
            },
            {
                "trade_name": "text",
                "address": "text",
                "email": "text",
                "phone": "text",
                "representative_name": "text",
                "representative_dni": "ruc",
                "domicile": "text",
                "categories": "text",
            },
        ),
        "process_register": (
            "new_supplier",
            f"/procesos/{process.identifier}/participar/",
            {"fee_receipt": "R-9"},
            {"fee_receipt": "text", "supplier": "id", "form_token": "text"},
        ),
        "process_ask": (
            "supplier",
            f"/procesos/{process.identifier}/consultas/",
            {"text": "¿Plazo de entrega?", "kind": "question"},
            {"text": "text", "kind": "choice", "supplier": "id", "form_token": "text"},
        ),
        "question_answer": (
            "staff",
            f"/gestion/procesos/consultas/{world.question.pk}/",
            {"answer": "Treinta días."},
            {"answer": "text"},
        ),
        "process_document_publish": (
            "staff",
            f"/gestion/procesos/{process.pk}/documentos/",
            {"kind": "other", "title": "Anexo", "reason": "", "file": PDF},
            {
                "kind": "choice",
                "title": "text",
                "replaces": "id",
                "reason": "text",
                "form_token": "text",
            },
        ),
        "process_create": (
            "staff",
            f"/gestion/procesos/nuevo/{world.version.pk}/",
            {
                "procedure_type": "COMPRE",
                "description": "Útiles",
                "delivery_place": "Sede",
                "delivery_department": "15",
                "delivery_district": "Lima",
                "plan_items": free_items[-1:],
            },
            {
                "procedure_type": "choice",
                "direct_cause": "choice",
                "description": "text",
                "delivery_place": "text",
                "delivery_department": "choice",
                "delivery_district": "text",
                "plan_items": "id",
                "form_token": "text",
            },
        ),
        "process_create_outside_plan": (
            "staff",
            "/gestion/procesos/nuevo/fuera-del-plan/",
            out_of_plan,
            {
                "entity": "id",
                "year": "number",
                "quantity": "number",
                "estimated_value": "number",
                "catalog_code": "text",
                "item_description": "text",
                "outside_plan_reason": "text",
                "unit": "choice",
                "object_type": "choice",
            },
        ),
        "process_calendar": (
            "staff",
            f"/gestion/procesos/{calendar_process.pk}/calendario/",
            calendar,
            {**dict.fromkeys(calendar, "date"), "reason": "text"},
        ),
        "process_committee": (
            "staff",
            f"/gestion/procesos/{world.draft_process.pk}/comite/",
            {"members": committee, "president": committee[0]},
            {"members": "id", "president": "id"},
        ),
        "process_criteria": (
            "staff",
            f"/gestion/procesos/{world.draft_process.pk}/criterios/",
            {
                "award": "whole",
                "criteria-TOTAL_FORMS": "2",
                "criteria-INITIAL_FORMS": "0",
                "criteria-0-kind": "economic",
                "criteria-0-name": "Precio",
                "criteria-0-weight": "100",
                "criteria-1-kind": "",
                "criteria-1-name": "",
                "criteria-1-weight": "",
            },
            {
                "award": "choice",
                "criteria-TOTAL_FORMS": "number",
                "criteria-INITIAL_FORMS": "number",
                "criteria-0-kind": "choice",
                "criteria-0-name": "text",
                "criteria-0-weight": "number",
                "criteria-1-kind": "choice",
                "criteria-1-name": "text",
                "criteria-1-weight": "number",
            },
        ),
        "process_transition": (
            "staff",
            f"/gestion/procesos/{process.pk}/estado/",
            {"action": "suspend", "reason": "Apelación"},
            {"action": "choice", "reason": "text", "return_stage": "choice"},
        ),
        "plan_create": (
            "staff",
            "/gestion/planes/",
            {"entity": world.entity.pk, "year": year + 1},
            {"entity": "id", "year": "number"},
        ),
        "plan_item_add": (
            "staff",
            f"/gestion/planes/{draft.pk}/items/",
            plan_item,
            {
                "quantity": "number",
                "estimated_value": "number",
                "planned_month": "number",
                "description": "text",
                "unit": "choice",
                "catalog_code": "text",
                "object_type": "choice",
                "procedure_type": "choice",
                "form_token": "text",
            },
        ),
        "plan_item_edit": (
            "staff",
            f"/gestion/planes/items/{item.pk}/",
            {**plan_item, "description": "Otro"},
            {
                "quantity": "number",
                "estimated_value": "number",
                "planned_month": "number",
                "description": "text",
            },
        ),
        "plan_publish": (
            "staff",
            f"/gestion/planes/{draft.pk}/publicar/",
            {
                "approval_date": timezone.localdate().isoformat(),
                "reason": "Ajuste",
                "sme_justification": "Mercado",
                "approval_document": "RGG 1-2026",
            },
            {
                "approval_date": "date",
                "reason": "text",
                "sme_justification": "text",
                "approval_document": "text",
            },
        ),
        # The bidder's forms, inside the bid stage, logged in within the password window.
        "bid_review": (
            "supplier",
            f"/procesos/{process.identifier}/oferta/",
            {price: "1250.50"},
            offer_fields,
            {"at": _bid_moment, "setup": _with_draft, "status": 200, "writes": False},
        ),
        "bid_submit": (
            "supplier",
            f"/procesos/{process.identifier}/oferta/enviar/",
            {price: "1250.50"},
            offer_fields,
            {"at": _bid_moment, "setup": _with_draft, "status": 200},
        ),
        "bid_document_upload": (
            "supplier",
            f"/procesos/{process.identifier}/oferta/documentos/",
            {"title": "Propuesta técnica", "file": PDF},
            {"title": "text", "file": "file", "supplier": "id", "form_token": "text"},
            {"at": _bid_moment},
        ),
        "bid_document_discard": (
            "supplier",
            f"/procesos/{process.identifier}/oferta/documentos/descartar/",
            {},
            {"document": "id", "supplier": "id"},
            {"at": _bid_moment, "setup": _draft_to_discard},
        ),
        "bid_withdraw": (
            "supplier",
            f"/procesos/{process.identifier}/oferta/retirar/",
            {},
            {"supplier": "id", "form_token": "text"},
            {"at": _bid_moment, "setup": _bid_in_force, "status": 200},
        ),
        "bid_consent": (
            "supplier",
            f"/procesos/{process.identifier}/oferta/consorcio/",
            {"confirm": "on"},
            {"lead": "ruc", "supplier": "id"},
            {"at": _bid_moment, "setup": _lead_to_consent_to},
        ),
        "bid_consent_withdraw": (
            "supplier",
            f"/procesos/{process.identifier}/oferta/consorcio/retirar/",
            {},
            {"supplier": "id"},
            {"at": _bid_moment, "setup": _consent_given},
        ),
        "process_bids": (
            "staff",
            f"/gestion/procesos/{process.pk}/ofertas/",
            {"ruc": world.supplier.ruc, price: "1250.50", "file": PDF},
            {"ruc": "ruc", price: "price", "file": "file", "form_token": "text"},
            {"at": _bid_moment, "status": 200},
        ),
        "register_plain": (
            "anonymous",
            "/cuentas/registro/sin-ruc/",
            {
                "full_name": "Ana Periodista",
                "email": "ana@diario.pe",
                "password1": "Transparencia-Lima-2026",
                "password2": "Transparencia-Lima-2026",
                "language": "es",
            },
            {
                "full_name": "text",
                "email": "text",
                "password1": "text",
                "password2": "text",
                "language": "choice",
            },
        ),
        "email_language": (
            "supplier",
            "/cuentas/idioma/",
            {"language": "en"},
            {"language": "choice"},
            {"writes": False},  # a change of a row, not a new one
        ),
        "process_follow": (
            "supplier",
            f"/procesos/{process.identifier}/seguir/",
            {"action": "follow"},
            {"action": "choice"},
        ),
        "register": (
            "anonymous",
            "/cuentas/registro/",
            {
                "ruc": "20131312955",
                "legal_name": "Textiles del Cusco S.A.C.",
                "department": "08",
                "district": "wánchaq",
                "full_name": "Rosa Quispe",
                "email": "rosa@textiles.pe",
                "password1": "Alpaca-Andina-2026",
                "password2": "Alpaca-Andina-2026",
                "sales_year": str(year - 1),
                "annual_sales": "350000",
                "workers": "6",
            },
            {
                "ruc": "text",
                "legal_name": "text",
                "department": "choice",
                "district": "text",
                "full_name": "text",
                "email": "text",
                "password1": "text",
                "sales_year": "number",
                "annual_sales": "number",
                "workers": "number",
            },
        ),
    }


def _opening_endpoint():
    """A committee member starting the opening of a process past its bid deadline, with one
    bid (built only for this endpoint: sealing a bid costs more than the shared world)."""
    from tests.procurement.bidding import called_tender

    tender = called_tender(items=1)
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    return (
        tender.staff,
        f"/gestion/procesos/{tender.process.pk}/apertura/",
        {"action": "start", "observer": "Notaría Quispe"},
        {"action": "choice", "observer": "text", "form_token": "text"},
        {"at": tender.process.stages.get(stage="apertura").opens_at + timedelta(minutes=1)},
    )


def _evaluation_endpoint():
    """A committee member starting the evaluation table of an opened process."""
    from tests.procurement.bidding import called_tender
    from tests.procurement.evaluating import open_tender, stage_start

    tender = called_tender(items=1)
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    open_tender(tender)
    return (
        tender.staff,
        f"/gestion/procesos/{tender.process.pk}/evaluacion/",
        {"action": "start", "reason": ""},
        {"action": "choice", "reason": "text"},
        {"at": stage_start(tender, "evaluacion")},
    )


def _consented_award():
    from tests.procurement.evaluating import awarded_tender, consent

    tender, award, _people = awarded_tender()
    award = consent(award)
    return tender, award, clock.local(award.consented_on) + timedelta(days=1)


def _contract_endpoint():
    """The entity's staff registering the contract of a consented award."""
    tender, award, moment = _consented_award()
    return (
        tender.staff,
        f"/gestion/procesos/{tender.process.pk}/contratos/",
        {
            "award": str(award.pk),
            "number": "C-1-2026",
            "signed_on": award.consented_on.isoformat(),
            "term_days": "60",
            "guarantee": "fiel_cumplimiento",
            "amount": "",
        },
        {
            "award": "id",
            "number": "text",
            "signed_on": "date",
            "term_days": "number",
            "guarantee": "choice",
            "amount": "number",
        },
        {"at": moment},
    )


def _contract_amendment_endpoint():
    """The entity's staff registering an amendment of an active contract."""
    from procurement.services import contracts

    tender, award, moment = _consented_award()
    with clock.pinned(moment):
        contract = contracts.sign_contract(
            actor=tender.staff,
            award=award,
            number="C-2-2026",
            signed_on=award.consented_on,
            term_days=30,
            guarantee="fiel_cumplimiento",
        )
    return (
        tender.staff,
        f"/gestion/contratos/{contract.pk}/",
        {
            "action": "amend",
            "amend-kind": "adicional",
            "amend-amount": "100.00",
            "amend-reason": "Prestación adicional",
            "amend-signed_on": contract.signed_on.isoformat(),
        },
        {
            "action": "choice",
            "amend-kind": "choice",
            "amend-amount": "number",
            "amend-reason": "text",
            "amend-signed_on": "date",
        },
        {"at": moment},
    )


def _appeal_endpoint():
    """The runner-up's user filing an appeal during the standstill."""
    from decimal import Decimal

    from procurement.models import ProcurementProcess
    from tests.procurement.evaluating import awarded_tender

    tender, award, people = awarded_tender(bidders=2)
    ProcurementProcess.objects.filter(pk=tender.process.pk).update(
        estimated_value=Decimal("100000")
    )
    loser, loser_user = people[1]
    return (
        loser_user,
        f"/procesos/{tender.process.identifier}/apelacion/",
        {
            "supplier": str(loser.pk),
            "award": str(award.pk),
            "subject": "buena_pro",
            "entry": "",
            "reasons": "No acredita la experiencia.",
            "fee_amount": "1500.00",
        },
        {
            "supplier": "choice",
            "award": "choice",
            "subject": "choice",
            "entry": "choice",
            "reasons": "text",
            "fee_amount": "number",
            "file": "file",
        },
        {"at": clock.local(award.standstill_ends)},
    )


def _appeal_decision_endpoint():
    """The entity's head admitting a filed appeal."""
    from tests.factories import head_of

    user, url, baseline, _fields, options = _appeal_endpoint()
    from procurement.models import Appeal

    client = Client()
    client.force_login(user)
    with clock.pinned(options["at"]):
        assert client.post(url, baseline).status_code == 302
    appeal = Appeal.objects.get()
    return (
        head_of(appeal.process.entity),
        f"/gestion/apelaciones/{appeal.pk}/",
        {"decision": "admit", "resolution": ""},
        {"decision": "choice", "resolution": "text", "file": "file"},
        options,
    )


def _auditor_note_endpoint():
    """An auditor's note on a called process (the only form an auditor posts)."""
    from tests.factories import auditor
    from tests.procurement.searching import published

    process = published("Computadoras para auditoría")
    return (
        auditor(),
        f"/auditoria/notas/{process.identifier}/",
        {"text": "Revisar el plazo de la convocatoria."},
        {"text": "text"},
        {},
    )


# Endpoints whose state is built on demand, in the shape of _endpoints' entries (with the
# user itself instead of a role).
LAZY_ENDPOINTS = {
    "process_opening": _opening_endpoint,
    "process_evaluation": _evaluation_endpoint,
    "process_contracts": _contract_endpoint,
    "contract_manage": _contract_amendment_endpoint,
    "process_appeal": _appeal_endpoint,
    "appeal_decide": _appeal_decision_endpoint,
    "audit_notes": _auditor_note_endpoint,
}


def _counts() -> dict[str, int]:
    """The rows of every table of the portal's apps, counted in one statement (a query per
    table, twice per URL, took most of the walks' time)."""
    models = [
        model
        for model in apps.get_models()
        if model._meta.app_label
        in {"procurement", "suppliers", "notifications", "accounts", "core"}
        and model._meta.model_name != "formsubmission"
    ]
    quote = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})" for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        row = cursor.fetchone()
    return {model._meta.label: count for model, count in zip(models, row, strict=True)}


def _post(client, url, data):
    data = dict(data)
    if isinstance(data.get("file"), bytes):
        data["file"] = SimpleUploadedFile("anexo.pdf", data["file"])
    return client.post(url, data)


@pytest.fixture(autouse=True)
def quiet_request_log():
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


ENDPOINTS = [
    "supplier_profile",
    "process_register",
    "process_ask",
    "question_answer",
    "process_document_publish",
    "process_create",
    "process_create_outside_plan",
    "process_calendar",
    "process_criteria",
    "process_transition",
    "plan_create",
    "plan_item_add",
    "plan_item_edit",
    "plan_publish",
    "bid_review",
    "bid_submit",
    "bid_document_upload",
    "bid_document_discard",
    "bid_withdraw",
    "bid_consent",
    "bid_consent_withdraw",
    "process_bids",
    "register",
    "register_plain",
    "email_language",
    "process_follow",
    "process_opening",
    "process_evaluation",
    "process_contracts",
    "contract_manage",
    "process_appeal",
    "appeal_decide",
    "audit_notes",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_hostile_values_are_refused_and_write_nothing(endpoint):
    from tests.factories import SupplierFactory, user_of

    world = build_world()
    if endpoint in LAZY_ENDPOINTS:
        who, url, baseline, fields, options = LAZY_ENDPOINTS[endpoint]()
    else:
        who, url, baseline, fields, *rest = _endpoints(world)[endpoint]
        options = rest[0] if rest else {}
    # Some forms work only at a moment of the calendar (bids: inside the bid stage): "at" is
    # that moment, or a function of the world giving it.
    moment = options.get("at")
    moment = moment(world) if callable(moment) else moment
    with clock.pinned(moment) if moment else nullcontext():
        if isinstance(who, str):
            who = {
                "anonymous": None,
                "staff": world.staff,
                "supplier": world.supplier_user,
                "new_supplier": user_of(SupplierFactory()),
            }[who]
        user = who
        _hostile_values_are_refused(world, endpoint, user, url, baseline, fields, options)


def _hostile_values_are_refused(world, endpoint, user, url, baseline, fields, options):
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)  # logging in opens the password window (accounts.reauth)
    if "setup" in options:
        baseline = {**baseline, **options["setup"](world)}
    before = _counts()
    answer = world.question.answer
    problems = []
    for field, kind in fields.items():
        for value in HOSTILE[kind]:
            response = _post(client, url, {**baseline, field: value})
            shown = f"{field}={value[:30]!r}"
            if response.status_code >= 500:
                problems.append(f"{shown}: {response.status_code}")
            elif response.status_code not in (302, 400, 403, 404):
                problems.append(f"{shown}: accepted with {response.status_code}")
            if _counts() != before:
                changed = {k: v for k, v in _counts().items() if before[k] != v}
                problems.append(f"{shown}: wrote {changed}")
                before = _counts()
    world.question.refresh_from_db()
    assert world.question.answer == answer
    assert not problems, "\n".join(problems)
    # The same form with sane values goes through: the cases above reached the real checks.
    response = _post(client, url, baseline)
    form = (response.context or {}).get("form") if response.status_code == 400 else None
    expected = options.get("status", 302)
    assert response.status_code == expected, (
        endpoint,
        form.errors if form else response.content[:500],
    )
    writes = options.get("writes", endpoint not in ("question_answer", "plan_item_edit"))
    if writes:
        assert _counts() != before, f"{endpoint}: the baseline wrote nothing"


# The public search's parameters (procurement.filters.ProcessFilter, the page's sort and
# cursor): hostile values give a form error (400) or are ignored, never a 5xx, on the page and
# in the CSV (whose body is read to its end: a streamed export fails while it is sent).
SEARCH_PARAMETERS = {
    "q": "text",
    "entity": "text",
    "sector": "choice",
    "level": "choice",
    "department": "choice",
    "ubigeo": "text",
    "procedure_type": "choice",
    "object_type": "choice",
    "status": "choice",
    "stage": "choice",
    "year": "number",
    "call_from": "date",
    "call_to": "date",
    "deadline_from": "date",
    "deadline_to": "date",
    "catalog": "text",
    "sme_only": "choice",
    "min_value": "number",
    "max_value": "number",
    "sort": "choice",
    "cursor": "text",
    "page": "number",
}


@pytest.mark.parametrize("export", [False, True], ids=["page", "csv"])
def test_hostile_search_values_are_form_errors_never_500(export):
    world = build_world()
    client = Client(raise_request_exception=False)
    problems = []
    for field, kind in SEARCH_PARAMETERS.items():
        for value in [*HOSTILE[kind], *HOSTILE["text"]]:
            params = {field: value, "q": "servidores"} if field != "q" else {field: value}
            if export:
                params["format"] = "csv"
            try:
                response = client.get("/procesos/", params)
                if response.streaming:
                    b"".join(response.streaming_content)
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                problems.append(f"{field}={value[:30]!r}: {error!r}")
                continue
            if response.status_code >= 500:
                problems.append(f"{field}={value[:30]!r}: {response.status_code}")
    assert not problems, "\n".join(problems)
    # the baseline search finds the world's process, so the cases above ran real queries
    response = client.get("/procesos/", {"q": "servidores"})
    assert world.process.pk in {p.pk for p in response.context["page"]}


# The auditors' search pages (auditor-only, GET): their filters' hostile values are form
# errors (400) or ignored, never a 5xx, on the page and in the CSV.
AUDIT_SEARCHES = {
    "/auditoria/atascados/": {
        "entity": "text",
        "department": "choice",
        "procedure_type": "choice",
        "stage": "choice",
        "cursor": "text",
    },
    "/auditoria/registro/": {
        "action": "text",
        "object_type": "text",
        "object_id": "text",
        "actor": "text",
        "entity": "text",
        "since": "date",
        "until": "date",
        "cursor": "text",
    },
}


@pytest.mark.parametrize("url", list(AUDIT_SEARCHES))
def test_hostile_audit_search_values_are_never_500(url):
    world = build_world()
    client = Client(raise_request_exception=False)
    client.force_login(world.auditor)
    problems = []
    for field, kind in AUDIT_SEARCHES[url].items():
        for value in [*HOSTILE[kind], *HOSTILE["text"]]:
            for extra in ({}, {"format": "csv"}):
                try:
                    response = client.get(url, {field: value, **extra})
                    if response.streaming:
                        b"".join(response.streaming_content)
                except Exception as error:  # noqa: BLE001 - any failure is the finding
                    problems.append(f"{field}={value[:30]!r}: {error!r}")
                    continue
                if response.status_code >= 500:
                    problems.append(f"{field}={value[:30]!r}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert client.get(url).status_code == 200
