"""Loading a plan from a file (all or nothing) and who may edit a plan."""

import csv
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from core.codelists import unit_from_text
from procurement.models import PlanItem, PlanVersion
from procurement.plan_import import COLUMNS, read_plan_file
from procurement.services import plans
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    auditor,
    draft_plan,
    published_plan,
    staff_of,
    user_of,
)

pytestmark = pytest.mark.django_db
HEADER = ",".join(name for name, _field in COLUMNS)
GOOD_ROW = "bienes,44121701,Bolígrafos azules,1200,unidad,1800.50,COMPRE,3,si"


def csv_file(text: str, name="pac.csv", encoding="utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


@pytest.fixture
def workspace(client):
    version, staff = draft_plan(items=[{"description": "Ítem existente"}])
    client.force_login(staff)
    return client, version


def upload(client, version, file, mode="replace"):
    return client.post(f"/gestion/planes/{version.pk}/cargar/", {"file": file, "mode": mode})


def descriptions(version):
    return list(PlanItem.objects.filter(version=version).values_list("description", flat=True))


def test_a_5000_row_csv_loads_completely(workspace):
    client, version = workspace
    rows = [
        f"{'bienes' if n % 3 else 'servicios'},{'44121701' if n % 3 else '72101500'},Ítem {n},{n % 50 + 1},"
        f"unidad,{1000 + n}.25,AS,{n % 12 + 1},{'si' if n % 2 else 'no'}"
        for n in range(5000)
    ]
    response = upload(client, version, csv_file("\n".join([HEADER, *rows])))
    assert response.status_code == 302
    items = PlanItem.objects.filter(version=version)
    assert items.count() == 5000
    assert "Ítem existente" not in descriptions(version)
    assert items.filter(sme_reserved=True).count() == 2500
    refs = list(items.order_by("reference").values_list("reference", flat=True))
    assert len(set(refs)) == 5000


def test_semicolon_csv_and_append_mode(workspace):
    client, version = workspace
    text = HEADER.replace(",", ";") + "\n" + GOOD_ROW.replace(",", ";")
    response = upload(client, version, csv_file(text), mode="append")
    assert response.status_code == 302
    assert sorted(descriptions(version)) == ["Bolígrafos azules", "Ítem existente"]


def test_an_xlsx_file_loads(workspace):
    client, version = workspace
    book = Workbook()
    sheet = book.active
    sheet.append([name for name, _field in COLUMNS])
    sheet.append(["servicios", 72101500, "Mantenimiento", 1, "servicio", 250000, "AS", 5, "no"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(client, version, SimpleUploadedFile("pac.xlsx", buffer.getvalue()))
    assert response.status_code == 302
    assert descriptions(version) == ["Mantenimiento"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("wrong columns", "tipo,codigo,descripcion\nbienes,44121701,x", "Faltan columnas"),
        (
            "bad code",
            f"{HEADER}\n{GOOD_ROW.replace('44121701', '99999999')}",
            "99999999 no está en el catálogo",
        ),
        (
            "negative amount",
            f"{HEADER}\n{GOOD_ROW.replace('1800.50', '-5')}",
            "Debe ser mayor que cero",
        ),
        ("comma amount", f"{HEADER}\n{GOOD_ROW.replace('1800.50', '"1.800,50"')}", "punto decimal"),
        (
            "unquoted comma",
            f"{HEADER}\n{GOOD_ROW.replace('1800.50', '1800,50')}",
            "más valores que columnas",
        ),
        ("bad month", f"{HEADER}\n{GOOD_ROW.replace(',3,si', ',13,si')}", "del 1 al 12"),
        ("header only", HEADER, "no tiene ítems"),
        ("empty", "", "El archivo está vacío"),
    ],
)
def test_broken_files_change_nothing_and_say_why(workspace, name, content, expected):
    client, version = workspace
    file = csv_file(content) if content else SimpleUploadedFile("pac.csv", b"")
    response = upload(client, version, file)
    assert response.status_code == 400, name
    assert expected in response.content.decode(), name
    assert descriptions(version) == ["Ítem existente"]


def test_error_report_names_row_and_column_and_keeps_everything_unchanged(workspace):
    client, version = workspace
    good = [GOOD_ROW] * 10
    bad = GOOD_ROW.replace("bienes", "cosas").replace("COMPRE", "XX")
    response = upload(client, version, csv_file("\n".join([HEADER, *good, bad, *good])))
    html = response.content.decode()
    assert response.status_code == 400
    assert "<td>12</td><td>tipo_objeto</td>" in html
    assert "<td>12</td><td>tipo_procedimiento</td>" in html
    assert descriptions(version) == ["Ítem existente"]


def test_wrong_encoding_is_explained(workspace):
    client, version = workspace
    response = upload(client, version, csv_file(f"{HEADER}\n{GOOD_ROW}", encoding="latin-1"))
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()
    assert descriptions(version) == ["Ítem existente"]


def test_a_20_mb_file_is_refused_before_reading(workspace):
    client, version = workspace
    big = HEADER + "\n" + (GOOD_ROW + "\n") * (20 * 1024 * 1024 // len(GOOD_ROW))
    response = upload(client, version, csv_file(big))
    assert response.status_code == 400
    assert [e.code for e in response.context["upload_result"].errors] == ["file_too_large"]
    assert "5 MB" in response.content.decode()
    assert descriptions(version) == ["Ítem existente"]


def test_binary_renamed_as_spreadsheet_is_refused():
    result = read_plan_file(SimpleUploadedFile("pac.xlsx", os.urandom(2048)))
    assert not result.ok and not result.rows
    result = read_plan_file(SimpleUploadedFile("pac.csv", b"MZ\x90\x00\x03" + os.urandom(512)))
    assert not result.ok


def test_templates_download(client):
    response = client.get("/gestion/planes/plantilla.csv")
    assert response.content.decode("utf-8-sig").startswith(HEADER)
    response = client.get("/gestion/planes/plantilla.xlsx")
    assert response.content.startswith(b"PK")
    assert client.get("/gestion/planes/plantilla.exe").status_code == 404


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_staff", "supplier", "auditor"])
def test_only_the_entitys_staff_can_edit_its_plan(client, who):
    version, _staff = draft_plan(items=[{"description": "Original"}])
    user = {
        "other_staff": lambda: staff_of(EntityFactory()),
        "supplier": lambda: user_of(SupplierFactory()),
        "auditor": auditor,
    }[who]()
    client.force_login(user)
    item = version.items.get()
    base = f"/gestion/planes/{version.pk}/"
    assert client.get(base).status_code == 403
    assert client.post(base + "items/", {"description": "x"}).status_code == 403
    assert client.post(f"/gestion/planes/items/{item.pk}/", {"description": "x"}).status_code == 403
    assert client.post(f"/gestion/planes/items/{item.pk}/eliminar/").status_code == 403
    assert client.post(base + "publicar/", {"approval_date": "2026-01-10"}).status_code == 403
    assert client.post(base + "descartar/").status_code == 403
    assert upload(client, version, csv_file(f"{HEADER}\n{GOOD_ROW}")).status_code == 403
    version.refresh_from_db()
    assert version.status == PlanVersion.Status.DRAFT
    assert descriptions(version) == ["Original"]


def test_services_refuse_other_entities_staff():
    from django.core.exceptions import PermissionDenied

    version, _staff = draft_plan(items=[{}])
    intruder = staff_of(EntityFactory())
    with pytest.raises(PermissionDenied):
        plans.publish_version(intruder, version, approval_date=timezone.localdate())
    with pytest.raises(PermissionDenied):
        plans.create_plan(intruder, version.plan.entity, 2027)


def test_anonymous_users_are_sent_to_log_in(client):
    version, _staff = draft_plan(items=[{}])
    response = client.post(
        f"/gestion/planes/{version.pk}/publicar/", {"approval_date": "2026-01-10"}
    )
    assert response.status_code == 302 and "/cuentas/ingresar/" in response["Location"]
    assert client.get("/gestion/planes/").status_code == 302


def test_staff_workflow_through_the_pages(client):
    entity = EntityFactory()
    staff = staff_of(entity)
    client.force_login(staff)
    response = client.post("/gestion/planes/", {"entity": entity.pk, "year": 2026})
    assert response.status_code == 302
    version = PlanVersion.objects.get(plan__entity=entity)
    item = {
        "object_type": "goods",
        "catalog_code": "44121701",
        "description": "Bolígrafos",
        "quantity": "10",
        "unit": "BX",
        "estimated_value": "500",
        "procedure_type": "COMPRE",
        "planned_month": "4",
    }
    assert client.post(f"/gestion/planes/{version.pk}/items/", item).status_code == 302
    page = client.get(f"/gestion/planes/{version.pk}/").content.decode()
    assert "Por debajo del mínimo" in page  # live share: nothing reserved yet
    response = client.post(
        f"/gestion/planes/{version.pk}/publicar/", {"approval_date": "2026-01-10"}
    )
    assert response.status_code == 400 and "justificación" in response.content.decode()
    item_id = version.items.get().pk
    assert (
        client.post(f"/gestion/planes/items/{item_id}/", {**item, "sme_reserved": "on"}).status_code
        == 302
    )
    assert "Cumple el mínimo" in client.get(f"/gestion/planes/{version.pk}/").content.decode()
    response = client.post(
        f"/gestion/planes/{version.pk}/publicar/", {"approval_date": "2026-01-10"}
    )
    assert response.status_code == 302
    assert client.post("/gestion/planes/", {"entity": entity.pk, "year": 2026}).status_code == 400
    assert (
        client.post("/gestion/planes/", {"entity": EntityFactory().pk, "year": 2026}).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"{HEADER}\n{GOOD_ROW.replace(',3,si', ',inf,si')}", "del 1 al 12"),
        (f"{HEADER}\n{GOOD_ROW.replace(',1200,', ',1000000000000,')}", "12 dígitos"),
        (f"{HEADER}\n{GOOD_ROW.replace('1800.50', '100000000000000')}", "14 dígitos"),
        (
            f'{HEADER}\nbienes,44121701,"{"x" * 140_000}",1,u,1,AS,1,si',
            "No se pudo leer el archivo CSV",
        ),
    ],
)
def test_out_of_range_cells_are_reported_not_crashed_on(workspace, content, expected):
    client, version = workspace
    response = upload(client, version, csv_file(content))
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert descriptions(version) == ["Ítem existente"]


def test_radio_and_checkbox_groups_have_a_legend(workspace):
    client, version = workspace
    html = client.get(f"/gestion/planes/{version.pk}/").content.decode()
    assert "<legend>Qué hacer con los ítems actuales del borrador" in html
    assert 'for=""' not in html


def test_an_unknown_catalog_code_is_a_form_error(client):
    version, staff = draft_plan()
    client.force_login(staff)
    item = {
        "object_type": "goods",
        "catalog_code": "9999-9999",
        "description": "x",
        "quantity": "1",
        "unit": "NIU",
        "estimated_value": "10",
        "procedure_type": "AS",
        "planned_month": "1",
    }
    response = client.post(f"/gestion/planes/{version.pk}/items/", item)
    assert response.status_code == 400
    assert "El código 99999999 no está en el catálogo" in response.content.decode()
    assert not version.items.exists()


def test_units_are_read_into_the_codelist_and_an_unknown_unit_is_reported(workspace):
    client, version = workspace
    rows = [
        GOOD_ROW.replace(",unidad,", ",Cajas,"),
        GOOD_ROW.replace(",unidad,", ",KGM,"),
        GOOD_ROW.replace(",unidad,", ",caja x 100,"),
    ]
    response = upload(client, version, csv_file("\n".join([HEADER, *rows])))
    html = response.content.decode()
    assert response.status_code == 400
    assert "<td>4</td><td>unidad</td>" in html and "caja x 100" in html
    assert "<td>2</td><td>unidad</td>" not in html and "<td>3</td><td>unidad</td>" not in html
    assert descriptions(version) == ["Ítem existente"]

    response = upload(client, version, csv_file("\n".join([HEADER, *rows[:2]])))
    assert response.status_code == 302
    units = PlanItem.objects.filter(version=version).order_by("reference")
    assert list(units.values_list("unit", flat=True)) == ["BX", "KGM"]
    page = client.get(f"/gestion/planes/{version.pk}/").content.decode()
    assert "caja" in page and "kilogramo" in page


def test_the_plan_csv_names_units_in_the_language_and_reads_back_to_the_same_codes(client):
    version, _staff = published_plan(items=[{"unit": "BX"}, {"unit": "LS"}])
    plan = version.plan
    url = f"/planes/{plan.entity.ruc}/{plan.fiscal_year_id}/?format=csv"
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="es")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["unidad"] for row in rows] == ["caja", "global (suma alzada)"]
    assert [unit_from_text(row["unidad"]) for row in rows] == ["BX", "LS"]
