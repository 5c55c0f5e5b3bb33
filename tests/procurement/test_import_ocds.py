"""`manage.py import_ocds`: a package in the shape Peru's OECE (SEACE v3) publishes is loaded
(entities and suppliers by RUC, the process by its ocid with its nomenclature, awards and
contracts), exports again as valid OCDS under its source ocid, and loading it twice changes
nothing; bad JSON, schema failures, bad RUCs and unknown codes are refused naming the release
and its line, and leave nothing half-loaded."""

import copy
import io
import json

import pytest
from django.core.management import CommandError, call_command

from core.ruc import with_check_digit
from procurement.models import (
    Award,
    Contract,
    Entity,
    ImportedRelease,
    ProcessStatus,
    ProcurementProcess,
    StatusChange,
)
from procurement.ocds import schema
from procurement.ocds.releases import process_releases, release_queryset
from suppliers.models import Supplier
from tests.procurement.status_history import assert_due_stored, assert_last_change_stored

pytestmark = pytest.mark.django_db

BUYER_RUC = with_check_digit("2013160371")
SUPPLIER_RUC = with_check_digit("2060123456")
OCID = "ocds-dgv273-seacev3-1002345"
NOMENCLATURE = "AS-SM-55-2024-ESSALUD-GCL-1"
BUYER = {
    "id": "PE-CONSUCODE-1234",
    "name": "SEGURO SOCIAL DE SALUD",
    "identifier": {"scheme": "PE-CONSUCODE", "id": "1234", "legalName": "SEGURO SOCIAL DE SALUD"},
    "additionalIdentifiers": [{"scheme": "PE-RUC", "id": BUYER_RUC}],
    "address": {"region": "LIMA", "locality": "JESUS MARIA", "countryName": "Perú"},
    "roles": ["buyer", "procuringEntity"],
}
SUPPLIER = {
    "id": f"PE-RUC-{SUPPLIER_RUC}",
    "name": "DISTRIBUIDORA ANDINA S.A.C.",
    "identifier": {"scheme": "PE-RUC", "id": SUPPLIER_RUC},
    "address": {"region": "CUSCO", "locality": "CUSCO"},
    "roles": ["tenderer", "supplier"],
}
ITEM = {
    "id": "1",
    "description": "PAPEL BOND 75 GR TAMAÑO A4",
    "classification": {"scheme": "CUBSO", "id": "4412170100012345", "description": "Papel"},
    "additionalClassifications": [{"scheme": "UNSPSC", "id": "44121701"}],
    "quantity": 100,
    "unit": {
        "scheme": "PE-SEACE3-UnidadMedida",
        "id": "PQT",
        "name": "PAQUETE",
        "value": {"amount": 25.5, "currency": "PEN"},
    },
}


def _release(suffix: str, date: str, tags: list[str], **sections) -> dict:
    return {
        "ocid": OCID,
        "id": f"{OCID}-{suffix}",
        "date": date,
        "tag": tags,
        "initiationType": "tender",
        "buyer": {"id": BUYER["id"], "name": BUYER["name"]},
        **sections,
    }


def oece_package() -> dict:
    tender = {
        "id": "1002345",
        "title": NOMENCLATURE,
        "description": "ADQUISICIÓN DE PAPEL BOND PARA LA GERENCIA CENTRAL DE LOGÍSTICA",
        "status": "active",
        "procuringEntity": {"id": BUYER["id"], "name": BUYER["name"]},
        "items": [ITEM],
        "value": {"amount": 2550, "currency": "PEN"},
        "procurementMethod": "open",
        "procurementMethodDetails": "Adjudicación Simplificada",
        "mainProcurementCategory": "goods",
        "tenderPeriod": {
            "startDate": "2024-03-04T00:00:00-05:00",
            "endDate": "2024-03-15T23:59:59-05:00",
        },
    }
    package = {
        "uri": "https://contratacionesabiertas.oece.gob.pe/api/v1/file/seace_v3/json/2024/03",
        "version": "1.1",
        "publishedDate": "2024-04-01T00:00:00-05:00",
        "publisher": {
            "name": "Organismo Especializado para las Contrataciones Públicas Eficientes"
        },
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "releases": [
            _release(
                "tender", "2024-03-04T10:00:00-05:00", ["tender"], parties=[BUYER], tender=tender
            ),
            _release(
                "award",
                "2024-03-20T10:00:00-05:00",
                ["award"],
                parties=[BUYER, SUPPLIER],
                tender={"id": "1002345", "status": "complete"},
                awards=[
                    {
                        "id": "1002345-1",
                        "status": "active",
                        "date": "2024-03-20T10:00:00-05:00",
                        "value": {"amount": 2400, "currency": "PEN"},
                        "suppliers": [{"id": SUPPLIER["id"], "name": SUPPLIER["name"]}],
                        "items": [{"id": "1"}],
                    }
                ],
            ),
            _release(
                "contract",
                "2024-03-28T10:00:00-05:00",
                ["contract"],
                parties=[BUYER, SUPPLIER],
                contracts=[
                    {
                        "id": "2001",
                        "awardID": "1002345-1",
                        "title": "CONTRATO N° 015-2024-ESSALUD",
                        "status": "active",
                        "value": {"amount": 2400, "currency": "PEN"},
                        "dateSigned": "2024-03-28T00:00:00-05:00",
                        "period": {
                            "startDate": "2024-03-28T00:00:00-05:00",
                            "endDate": "2024-04-27T00:00:00-05:00",
                        },
                    }
                ],
            ),
        ],
    }
    return copy.deepcopy(package)  # the tests spoil it


def _flipped(ruc: str) -> str:
    """The RUC with a wrong check digit."""
    return ruc[:-1] + str((int(ruc[-1]) + 1) % 10)


def run(tmp_path, data, *, name="oece.json", text=None):
    path = tmp_path / name
    path.write_text(text if text is not None else json.dumps(data, ensure_ascii=False))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_ocds", str(path), stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue() + str(error)
    return out.getvalue(), err.getvalue()


def counts() -> tuple:
    return tuple(
        model.objects.count()
        for model in (Entity, Supplier, ProcurementProcess, Award, Contract, StatusChange)
    )


def test_an_oece_package_is_loaded_and_exports_as_valid_ocds_under_its_ocid(tmp_path):
    out, err = run(tmp_path, oece_package())
    assert err == "" and "3 releases loaded, 0 already imported, 0 refused." in out
    process = ProcurementProcess.objects.get(ocid=OCID)
    assert process.source == "oece" and process.identifier == NOMENCLATURE
    assert (process.procedure_type, process.sequence, process.call_number) == ("AS", 55, 1)
    assert process.fiscal_year_id == 2024 and process.status == ProcessStatus.CONTRACTED
    entity = process.entity
    assert entity.ruc == BUYER_RUC and entity.sector_id == "salud"
    assert entity.ubigeo.name == "Jesús María"
    [item] = process.items.all()
    assert item.catalog_item_id == "44121701" and str(item.estimated_value) == "2550.00"
    assert item.unit == "PK"  # SEACE's "PAQUETE" (its own scheme) is the codelist's pack
    award = Award.objects.get(process=process)
    assert award.status == Award.Status.CONSENTED and award.supplier.ruc == SUPPLIER_RUC
    contract = Contract.objects.get(process=process)
    assert contract.award == award and contract.term_days == 30
    assert contract.created_by is None and contract.source_ref == "2001"
    # Its releases, rebuilt from what was loaded, validate and keep the source ocid.
    releases = process_releases(release_queryset().get(pk=process.pk))
    for release in releases:
        assert release["ocid"] == OCID
        assert schema.errors(release, "release-schema.json") == [], release["id"]
    compiled = schema.merger().create_compiled_release(releases)
    assert compiled["tender"]["title"] == NOMENCLATURE
    assert compiled["awards"][0]["suppliers"][0]["id"] == f"PE-RUC-{SUPPLIER_RUC}"
    assert compiled["contracts"][0]["awardID"] == compiled["awards"][0]["id"]
    assert "smeWinner" not in compiled["awards"][0]  # the source states no size class
    unit = {"scheme": "UNCEFACT", "id": "PK", "name": "paquete"}
    assert compiled["tender"]["items"][0]["unit"] == unit


def test_the_process_is_served_by_its_source_ocid_and_found_in_search(tmp_path, client):
    run(tmp_path, oece_package())
    package = client.get(f"/api/ocds/releases/{OCID}/").json()
    assert schema.errors(package, "release-package-schema.json") == []
    assert {r["ocid"] for r in package["releases"]} == {OCID}
    found = client.get("/api/v1/processes/", {"q": "papel bond"}).json()["results"]
    assert [(p["identifier"], p["source"], p["ocid"]) for p in found] == [
        (NOMENCLATURE, "oece", OCID)
    ]
    # Its items' catalog codes are stored with its words (search.refresh): found by family.
    by_family = client.get("/api/v1/processes/", {"catalog": "44120000"}).json()["results"]
    assert [p["identifier"] for p in by_family] == [NOMENCLATURE]
    page = client.get(f"/procesos/{NOMENCLATURE}/")
    assert page.status_code == 200
    assert OCID in page.content.decode() and "OECE" in page.content.decode()
    contract = Contract.objects.get()
    for url in [
        "/contratos/",
        f"/contratos/{contract.pk}/",
        f"/proveedores/{SUPPLIER_RUC}/",
        f"/entidades/{BUYER_RUC}/",
        f"/procesos/{NOMENCLATURE}/evaluacion/",
    ]:
        assert client.get(url).status_code in (200, 404), url
    assert client.get(f"/contratos/{contract.pk}/").status_code == 200


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    run(tmp_path, oece_package())
    before = counts(), ImportedRelease.objects.count()
    out, err = run(tmp_path, oece_package())
    assert err == "" and "0 releases loaded, 3 already imported, 0 refused." in out
    assert (counts(), ImportedRelease.objects.count()) == before


def test_the_process_stores_the_moment_of_its_last_imported_status_change(tmp_path):
    run(tmp_path, oece_package())
    process = ProcurementProcess.objects.get(ocid=OCID)
    assert process.history.count() > 1  # called, then awarded...
    assert assert_last_change_stored()[process.pk] == process.history.latest("at").at
    assert_due_stored()  # an imported process has no calendar: it owes no stage


def test_a_record_package_and_json_lines_load_the_same(tmp_path):
    package = oece_package()
    records = {key: value for key, value in package.items() if key != "releases"} | {
        "records": [{"ocid": OCID, "releases": package["releases"]}]
    }
    out, _err = run(tmp_path, records, name="records.json")
    assert "3 releases loaded" in out
    lines = "\n".join(json.dumps(r) for r in package["releases"])
    out, _err = run(tmp_path, None, name="releases.jsonl", text=lines)
    assert "3 already imported" in out


def test_bad_json_names_the_line(tmp_path):
    text = json.dumps(oece_package(), indent=1)
    broken = text.replace('"tag": [', '"tag" [', 1)
    line = broken.splitlines().index(next(x for x in broken.splitlines() if '"tag" [' in x)) + 1
    _out, err = run(tmp_path, None, text=broken)
    assert f"line {line}: bad JSON" in err
    assert not ProcurementProcess.objects.exists() and not ImportedRelease.objects.exists()


@pytest.mark.parametrize(
    "spoil, message",
    [
        (
            lambda r: r["parties"][0]["additionalIdentifiers"][0].update(id=_flipped(BUYER_RUC)),
            "bad RUC",
        ),
        (lambda r: r["tender"]["items"][0]["additionalClassifications"].clear(), "unknown UNSPSC"),
        (
            lambda r: r["tender"].update(procurementMethodDetails="Régimen Especial"),
            "unknown procedure",
        ),
        (lambda r: r.update(date="ayer"), "fails the OCDS schema"),
        (lambda r: r["tender"].update(value={"amount": 10, "currency": "USD"}), "not PEN"),
        (lambda r: r["tender"].update(title="COMPRA DE PAPEL"), "not a SEACE nomenclature"),
        (lambda r: r["tender"].update(mainProcurementCategory="land"), "fails the OCDS schema"),
        (lambda r: r["tender"]["items"][0].update(quantity=0), "conflicts with data"),
    ],
)
def test_bad_input_is_refused_naming_the_release_and_line_and_nothing_is_half_loaded(
    tmp_path, spoil, message
):
    package = oece_package()
    spoil(package["releases"][0])
    text = json.dumps(package, indent=1, ensure_ascii=False)
    _out, err = run(tmp_path, None, text=text)
    release_line = text.splitlines().index(' "releases": [') + 2
    assert f"line {release_line}, release {OCID}-tender: not loaded: " in err
    assert message in err
    assert "refused" in err
    # The award and contract releases need the process: refused too, nothing loaded.
    assert counts()[2:] == (0, 0, 0, 0)
    assert not Entity.objects.filter(ruc=BUYER_RUC).exists()


def test_a_bad_supplier_ruc_refuses_the_award_release_only(tmp_path):
    package = oece_package()
    bad = copy.deepcopy(SUPPLIER)
    bad["identifier"]["id"] = _flipped(SUPPLIER_RUC)
    package["releases"][1]["parties"] = [BUYER, bad]
    _out, err = run(tmp_path, package)
    assert f"release {OCID}-award: not loaded: party PE-RUC-{SUPPLIER_RUC}" in err
    assert "bad RUC" in err
    process = ProcurementProcess.objects.get(ocid=OCID)
    assert process.status == ProcessStatus.CALLED and not process.awards.exists()
    assert not Supplier.objects.exists()


def test_a_unit_outside_the_codelist_is_kept_apart_and_said(tmp_path):
    """SEACE writes units such as "CAJA X 100": not a unit of the codelist, so the item is
    loaded with the codelist's "other unit" (never compared in price statistics), the
    source's name kept at the end of its description, and the import says so."""
    package = oece_package()
    package["releases"][0]["tender"]["items"][0]["unit"]["name"] = "CAJA X 100"
    out, err = run(tmp_path, package)
    assert "3 releases loaded" in out and "refused" not in err
    assert "unit of measure 'CAJA X 100' (PE-SEACE3-UnidadMedida PQT) is not in the codelist" in (
        out + err
    )
    [item] = ProcurementProcess.objects.get(ocid=OCID).items.all()
    assert item.unit == "ZZ" and item.description.endswith(" [CAJA X 100]")
