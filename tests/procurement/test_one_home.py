"""One home for each rule (issue 8, section 2 item 4): the plan version in force, the SME share
and its publication snapshot, "public process" and the CSV columns. Each test builds a case
where a second, diverging definition would show: a page, an export or a service that does not
start from the one definition gives a different answer."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import DomainError
from procurement import exports, sme
from procurement.models import (
    PlanItem,
    PlanVersion,
    ProcessDocument,
    ProcessStatus,
    ProcurementProcess,
)
from procurement.queries import planned_sme_summary, plans_in_force
from procurement.services import plans, processes
from tests.factories import (
    SupplierFactory,
    draft_plan,
    plan_item_data,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    user_of,
)

pytestmark = pytest.mark.django_db
D = Decimal
LIMA = ZoneInfo("America/Lima")
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(body)))


# --- The plan version in force ------------------------------------------------------------------


@pytest.fixture
def three_versions():
    """A plan with v0 and v1 published (v1 drops "Sillas" and adds "Escritorios") and a draft
    v2; v0 published on 10 Jan 2026 at noon and v1 on 5 Mar 2026 at 21:30, Lima time (already
    6 March in UTC)."""
    v0, staff = published_plan(
        items=[
            {"description": "Papel bond", "estimated_value": D("60000"), "sme_reserved": True},
            {"description": "Sillas", "estimated_value": D("2000")},
        ]
    )
    v1 = plans.start_modification(staff, v0.plan)
    plans.delete_item(staff, v1.items.get(description="Sillas"))
    plans.add_item(staff, v1, plan_item_data(description="Escritorios", estimated_value=D("900")))
    plans.publish_version(
        staff, v1, approval_date=timezone.localdate(), reason="Nuevas necesidades"
    )
    v2 = plans.start_modification(staff, v0.plan)
    PlanVersion.objects.filter(pk=v0.pk).update(
        published_at=datetime(2026, 1, 10, 12, 0, tzinfo=LIMA)
    )
    PlanVersion.objects.filter(pk=v1.pk).update(
        published_at=datetime(2026, 3, 5, 21, 30, tzinfo=LIMA)
    )
    return v0, v1, v2, staff


def test_the_version_in_force_is_the_latest_published_by_the_date(three_versions):
    v0, v1, v2, _staff = three_versions
    in_force = PlanVersion.objects.in_force
    assert list(in_force()) == [v1]  # not the draft v2, not the first version
    assert list(in_force(on=date(2026, 3, 5))) == [v1]  # the Lima day, not the UTC one
    assert list(in_force(on=date(2026, 3, 4))) == [v0]
    assert list(in_force(on=date(2026, 1, 9))) == []
    assert list(v0.plan.versions.in_force()) == [v1]
    assert list(plans_in_force(on=date(2026, 2, 1))) == [v0]
    # Other plans do not leak into a plan's answer, and each plan gives one row.
    other, _ = published_plan(items=[{}])
    assert set(in_force()) == {v1, other}
    assert list(v0.plan.versions.in_force(on=date(2026, 3, 4))) == [v0]


def test_pages_exports_and_services_agree_on_the_version_in_force(client, three_versions):
    v0, v1, v2, staff = three_versions
    plan = v0.plan
    entity = plan.entity
    # the plan list and its CSV
    response = client.get("/planes/", {"year": plan.fiscal_year_id})
    assert [v.pk for v in response.context["page"]] == [v1.pk]
    rows = _csv(client.get("/planes/", {"format": "csv"}))
    assert [(row[0], row[3]) for row in rows[1:]] == [(entity.ruc, "1")]
    # the plan page opens on the version in force, and says so
    response = client.get(f"/planes/{entity.ruc}/{plan.fiscal_year_id}/")
    assert response.context["in_force"] == v1 and response.context["version"] == v1
    # the entity page and the national summary
    response = client.get(f"/entidades/{entity.ruc}/")
    assert list(response.context["plans"]) == [v1]
    assert planned_sme_summary(plan.fiscal_year_id)["plans"] == 1
    # the draft v2 copied the version in force
    assert set(v2.items.values_list("description", flat=True)) == {"Papel bond", "Escritorios"}
    # a process takes items of the version in force only
    old_item = v0.items.get(description="Papel bond")
    with pytest.raises(DomainError) as refused:
        process_from_plan(staff, v0, [old_item], procedure_type="COMPRE")
    assert refused.value.field == "plan_items"
    new_item = v1.items.get(description="Papel bond")
    process = process_from_plan(staff, v1, [new_item], procedure_type="COMPRE")
    assert process.items.get().plan_item.version_id == v1.pk


def test_a_draft_is_never_in_force():
    version, _staff = draft_plan(items=[{}])
    assert not PlanVersion.objects.in_force().exists()
    assert not version.plan.versions.in_force().exists()


# --- The SME share and its publication snapshot --------------------------------------------------


def test_the_publication_snapshot_is_the_one_sme_computes():
    version, staff = draft_plan(
        items=[
            {"estimated_value": D("100"), "sme_reserved": True},
            {"estimated_value": D("200")},
            {"object_type": "works", "catalog_item": "72130000", "estimated_value": D("999")},
        ]
    )
    live = sme.version_share(version)
    plans.publish_version(
        staff, version, approval_date=timezone.localdate(), sme_justification="prueba"
    )
    version.refresh_from_db()
    recorded = {field: getattr(version, field) for field in sme.SNAPSHOT_FIELDS}
    assert recorded == sme.snapshot(live)
    assert version.sme_share == D("0.333333")  # 100 / 300, at the snapshot's precision
    # what the published version reports afterwards is read back from the snapshot
    assert sme.version_share(version).share == sme.ratio(D("100"), D("300"))


def test_the_national_share_is_the_ratio_of_the_summed_snapshots(client):
    published_plan(
        items=[{"estimated_value": D("100"), "sme_reserved": True}, {"estimated_value": D("300")}]
    )
    published_plan(items=[{"estimated_value": D("500"), "sme_reserved": True}])
    # works only: nothing eligible, counted as a plan but adds nothing to the ratio
    published_plan(items=[{"object_type": "works", "catalog_item": "72130000"}])
    summary = planned_sme_summary(2026)
    assert summary["plans"] == 3
    assert summary["share"] == sme.ratio(D("600"), D("900"))
    assert client.get("/").context["headline"]["plans"]["share"] == summary["share"]


def test_the_ratio_of_nothing_eligible_is_none():
    assert sme.ratio(D("0"), D("0")) is None
    assert sme.ratio(D("5"), D("10")) == D("0.5")


# --- Public process -------------------------------------------------------------------------------


@pytest.fixture
def five_processes():
    """Called, declared void (published, closed), a plain draft, and a draft whose draft bases
    were published in advance (it also has private final bases)."""
    version, staff = published_plan(
        items=[
            {"description": f"Bien {n}", "estimated_value": D("450000"), "catalog_item": "43211503"}
            for n in range(4)
        ]
    )
    items = list(version.items.order_by("reference"))
    called = publish_with_lp_calendar(
        staff, process_from_plan(staff, version, [items[0]], description="Convocado")
    )
    void = publish_with_lp_calendar(
        staff, process_from_plan(staff, version, [items[1]], description="Nulo")
    )
    ProcurementProcess.objects.filter(pk=void.pk).update(status=ProcessStatus.VOID)
    draft = process_from_plan(staff, version, [items[2]], description="Borrador")
    advance = process_from_plan(staff, version, [items[3]], description="Prepublicado")

    def upload(process, kind, name):
        return processes.publish_document(
            staff,
            process,
            upload=SimpleUploadedFile(name, PDF + name.encode()),
            kind=kind,
            title=name,
        )

    documents = {
        "called": upload(called, "bases", "bases-convocado.pdf"),
        "draft": upload(draft, "bases", "bases-borrador.pdf"),
        "advance_draft_bases": upload(advance, "draft_bases", "proyecto.pdf"),
        "advance_final_bases": upload(advance, "bases", "bases-privadas.pdf"),
    }
    return {"called": called, "void": void, "draft": draft, "advance": advance}, documents


def test_public_process_querysets(five_processes):
    procs, documents = five_processes
    public = set(ProcurementProcess.objects.public())
    published = set(ProcurementProcess.objects.published())
    assert public == {procs["called"], procs["void"], procs["advance"]}
    assert published == {procs["called"], procs["void"]}
    assert set(ProcessDocument.objects.public()) == {
        documents["called"],
        documents["advance_draft_bases"],
    }


def test_every_public_view_starts_from_the_one_definition(client, five_processes):
    procs, documents = five_processes
    ours = {p.identifier for p in procs.values()}
    listed = {p.identifier for p in ProcurementProcess.objects.published()}
    visible = {p.identifier for p in ProcurementProcess.objects.public()}
    # lists and the CSV show the published ones
    page = client.get("/procesos/").context["page"]
    assert {p.identifier for p in page} & ours == listed
    rows = _csv(client.get("/procesos/", {"format": "csv"}))
    assert {row[0] for row in rows[1:]} & ours == listed
    entity = procs["called"].entity
    entity_page = client.get(f"/entidades/{entity.ruc}/").context["processes"]
    assert {p.identifier for p in entity_page} == listed
    assert {p.identifier for p in client.get("/").context["latest"]} & ours == listed
    # a process page opens for exactly the public ones
    for process in procs.values():
        status = client.get(f"/procesos/{process.identifier}/").status_code
        assert status == (200 if process.identifier in visible else 404), process.description
    # and a document downloads for exactly the public documents
    public_documents = set(ProcessDocument.objects.public())
    for name, document in documents.items():
        url = f"/procesos/{document.process.identifier}/documentos/{document.pk}/"
        assert client.get(url).status_code == (200 if document in public_documents else 404), name
    detail = client.get(f"/procesos/{procs['advance'].identifier}/")
    assert list(detail.context["documents"]) == [documents["advance_draft_bases"]]


def test_a_draft_published_in_advance_cannot_be_taken_part_in(client, five_processes):
    procs, _documents = five_processes
    supplier = SupplierFactory()
    client.force_login(user_of(supplier))
    for key in ("advance", "draft"):
        url = f"/procesos/{procs[key].identifier}/registro/"
        assert client.post(url, {"supplier": supplier.pk}).status_code == 404
    assert not procs["advance"].participants.exists()


# --- The CSV columns ------------------------------------------------------------------------------

# The header names are a public interface: people's scripts read them. Changing one is a
# decision, taken here on purpose, not a side effect of editing a view.
PUBLIC_HEADERS = {
    "processes": [
        "nomenclatura",
        "ruc_entidad",
        "entidad",
        "procedimiento",
        "objeto",
        "descripcion",
        "valor_estimado",
        "estado",
        "solo_mype",
        "fecha_convocatoria",
    ],
    "plans": [
        "ruc",
        "entidad",
        "anio",
        "version",
        "fecha_aprobacion",
        "fecha_publicacion",
        "valor_total",
        "valor_elegible_mype",
        "valor_reservado_mype",
        "cuota_mype",
        "cumple_40",
        "publicado_tarde",
    ],
    "plan_items": [
        "item",
        "objeto",
        "codigo_catalogo",
        "nombre_catalogo",
        "descripcion",
        "cantidad",
        "unidad",
        "valor_estimado",
        "tipo_procedimiento",
        "mes",
        "reservado_mype",
    ],
}


def test_csv_headers_are_the_export_specs_and_stay_as_published(client):
    version, staff = published_plan(
        items=[
            {
                "description": "=Servidores",
                "catalog_item": "43211503",
                "estimated_value": D("450000"),
                "quantity": D("3"),
                "planned_month": 4,
                "procedure_type": "LP",
            },
            {"description": "Papel bond", "estimated_value": D("60000"), "sme_reserved": True},
        ]
    )
    process = publish_with_lp_calendar(
        staff, process_from_plan(staff, version, [version.items.get(reference=1)])
    )
    assert exports.PROCESSES.header == PUBLIC_HEADERS["processes"]
    assert exports.PLANS.header == PUBLIC_HEADERS["plans"]
    assert exports.PLAN_ITEMS.header == PUBLIC_HEADERS["plan_items"]

    processes_csv = _csv(client.get("/procesos/", {"format": "csv"}))
    assert processes_csv[0] == exports.PROCESSES.header
    row = dict(zip(processes_csv[0], processes_csv[1], strict=True))
    assert row["nomenclatura"] == process.identifier
    assert row["valor_estimado"] == "450000.00"  # machine-readable, never "S/ 450 000,00"
    assert row["solo_mype"] == "no"
    assert row["descripcion"] == "Servidores"
    assert (
        date.fromisoformat(row["fecha_convocatoria"])
        == process.stages.get(stage="convocatoria").start
    )

    plans_csv = _csv(client.get("/planes/", {"format": "csv"}))
    assert plans_csv[0] == exports.PLANS.header
    row = dict(zip(plans_csv[0], plans_csv[1], strict=True))
    assert row["anio"] == "2026" and row["version"] == "0"
    assert row["valor_total"] == "510000.00" and row["valor_elegible_mype"] == "510000.00"
    assert row["cuota_mype"] == str(version.sme_share)
    assert row["cumple_40"] == "no" and row["publicado_tarde"] in ("si", "no")

    url = f"/planes/{version.plan.entity.ruc}/2026/"
    items_csv = _csv(client.get(url, {"format": "csv"}))
    assert items_csv[0] == exports.PLAN_ITEMS.header
    row = dict(zip(items_csv[0], items_csv[1], strict=True))
    assert row["descripcion"] == "'=Servidores"  # the safe writer neutralises formulas
    assert row["codigo_catalogo"] == "43211503" and row["cantidad"] == "3.00"
    assert row["tipo_procedimiento"] == "LP" and row["mes"] == "4"
    assert row["reservado_mype"] == "no"


def test_the_plan_csv_gives_the_publication_day_in_lima(client):
    version, _staff = published_plan(items=[{}])
    # 21:30 in Lima is already the next day in UTC
    PlanVersion.objects.filter(pk=version.pk).update(
        published_at=datetime(2026, 3, 5, 21, 30, tzinfo=LIMA)
    )
    rows = _csv(client.get("/planes/", {"format": "csv"}))
    assert dict(zip(rows[0], rows[1], strict=True))["fecha_publicacion"] == "2026-03-05"


def test_an_export_column_writes_each_kind_one_way():
    item = PlanItem(
        reference=7,
        object_type="goods",
        description="x",
        unit="NIU",
        sme_reserved=True,
        quantity=D("1.50"),
        estimated_value=D("-0.5"),
        procedure_type="AS",
        planned_month=2,
    )
    Column, Kind = exports.Column, exports.Kind
    assert Column("o", "object_type", Kind.LABEL).value(item) == item.get_object_type_display()
    assert Column("v", "estimated_value", Kind.NUMBER).value(item) == D("-0.5")
    assert Column("r", "sme_reserved", Kind.FLAG).value(item) == "si"
    assert Column("n", lambda i: False, Kind.FLAG).value(item) == "no"
    assert Column("n", lambda i: None, Kind.FLAG).value(item) == ""  # unknown: not "no"
    assert Column("d", lambda i: None, Kind.DATE).value(item) == ""
    moment = datetime(2026, 1, 1, 3, 0, tzinfo=ZoneInfo("UTC"))  # 31 Dec 2025 in Lima
    assert Column("d", lambda i: moment, Kind.DATE).value(item) == date(2025, 12, 31)
    # numbers stay numbers for the writer (a negative amount is not a formula)
    assert exports.safe_cell(Column("v", "estimated_value", Kind.NUMBER).value(item)) == D("-0.5")


def test_no_view_writes_its_own_csv_columns():
    """Views hand a queryset to an export spec; a header list in a view is a second home."""
    from pathlib import Path

    from django.conf import settings

    views = Path(settings.BASE_DIR) / "procurement" / "views"
    offenders = [
        path.name
        for path in views.glob("*.py")
        if "csv_response(" in path.read_text(encoding="utf-8")
        or "nomenclatura" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
