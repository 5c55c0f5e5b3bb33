"""The portal's own OCDS export imports again, into a database without its processes,
entities and suppliers, with nothing refused and the same processes: status, items, each
award's status, winner and amount, each contract's status, amount and winner, its
amendments, its end (who terminated it) and the supplier's evaluation; exported again, the
same amendments, evaluations and ends. The demo data
has every shape the import must read: deserted processes, processes by items with a
deserted lot (built here: the demo has few), consents, amended and evaluated contracts, plans."""

import io
import json
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from procurement.models import Contract, ProcurementProcess
from procurement.ocds.importer import SOURCE
from tests.procurement.test_contracts_by_items import _two_lots

pytestmark = pytest.mark.django_db


def _state(processes) -> dict:
    """What must survive the round trip, by process identifier."""
    state = {}
    for process in processes.prefetch_related(
        "items",
        "awards__supplier",
        "contracts__supplier",
        "contracts__amendments",
        "contracts__evaluation",
    ):
        awards = sorted(
            (
                a.status,
                a.supplier.ruc if a.supplier else None,
                a.amount,
                a.item.source_ref or str(a.item_id) if a.item else None,
            )
            for a in process.awards.all()
        )
        contracts = sorted(
            (
                c.status,
                c.amount,
                c.supplier.ruc,
                c.signed_on,
                c.terminated_by,
                c.end_reason,
                c.ended_on,
                c.final_amount,
                tuple(
                    (
                        a.kind,
                        a.amount,
                        a.percentage,
                        a.cumulative_percentage,
                        a.above_limit,
                        a.reason,
                        a.signed_on,
                        a.created_at,
                    )
                    for a in c.amendments.all()
                ),
                _evaluation(c),
            )
            for c in process.contracts.all()
        )
        state[process.identifier] = {
            "status": process.status,
            "estimated_value": process.estimated_value,
            "items": sorted(i.source_ref or str(i.pk) for i in process.items.all()),
            "awards": awards,
            "contracts": contracts,
        }
    return state


def _evaluation(contract) -> tuple | None:
    try:
        e = contract.evaluation
    except Contract.evaluation.RelatedObjectDoesNotExist:
        return None
    return (e.on_time, e.quality, e.penalties, e.comment, e.evaluated_at)


def _contract_parts(releases: list[dict]) -> Counter:
    """The amendments, evaluations and ends an export states, without the ids (the rows'
    primary keys, new in another database)."""
    parts = Counter()
    for release in releases:
        for contract in release.get("contracts", []):
            for amendment in contract.get("amendments", []):
                stated = {k: v for k, v in amendment.items() if k != "id"}
                parts[("amendment", release["ocid"], release["date"], json.dumps(stated))] += 1
                parts[("value after", release["ocid"], json.dumps(contract["value"]))] += 1
            evaluation = (contract.get("implementation") or {}).get("supplierEvaluation")
            if evaluation:
                parts[("evaluation", release["ocid"], json.dumps(evaluation, sort_keys=True))] += 1
            if release["tag"] != ["contract"] and contract.get("status") in (
                "terminated",
                "cancelled",
            ):
                stated = {k: v for k, v in contract.items() if k not in ("id", "awardID")}
                parts[("end", release["ocid"], json.dumps(stated, sort_keys=True))] += 1
    return parts


def _shapes(releases: list[dict]) -> Counter:
    """How many releases of each shape the import once refused the export has."""
    shapes = Counter()
    tenders = {r["ocid"]: r["date"] for r in releases if "tender" in r["tag"]}
    awarded_lots = {r["ocid"] for r in releases for a in r.get("awards", []) if "items" in a}
    for release in releases:
        if release["tag"] == ["planning"] and release["date"] < tenders[release["ocid"]]:
            shapes["planning before the call"] += 1
        for award in release.get("awards", []):
            if award["status"] == "unsuccessful" and "suppliers" not in award:
                lot = "items" in award and release["ocid"] in awarded_lots
                shapes["deserted lot" if lot else "deserted award"] += 1
            elif "awardUpdate" in release["tag"] and "suppliers" not in award:
                shapes["consent with only its status"] += 1
        for contract in release.get("contracts", []):
            if "status" not in contract and "amendments" in contract:
                shapes["contract amendment without status"] += 1
            if contract.get("terminatedBy"):
                shapes["contract terminated by a party"] += 1
            if (contract.get("implementation") or {}).get("supplierEvaluation"):
                shapes["supplier evaluation"] += 1
    return shapes


def test_the_portal_s_own_export_imports_again_with_nothing_refused(tmp_path):
    call_command(
        "seed_demo",
        "--processes",
        "80",
        "--seed",
        "2",
        "--today",
        "2026-11-25",
        stdout=io.StringIO(),
    )
    _two_lots(desert_second=True)  # by items, the second lot deserted (rare in the demo)
    target = tmp_path / "demo.jsonl"
    call_command("export_ocds", "--jsonl", "--output", str(target))
    releases = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    shapes = _shapes(releases)
    for shape in [
        "planning before the call",
        "deserted award",
        "deserted lot",
        "consent with only its status",
        "contract amendment without status",
        "contract terminated by a party",
        "supplier evaluation",
    ]:
        assert shapes[shape], (shape, shapes)
    expected = _state(ProcurementProcess.objects.published())
    assert any(p["status"] == "desierto" for p in expected.values())
    # An empty portal but for its reference data: processes, entities and suppliers gone
    # (and what hangs from them), inside the test's transaction.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "TRUNCATE procurement_procurementprocess, procurement_entity, suppliers_supplier "
            "CASCADE"
        )
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_ocds", str(target), stdout=out, stderr=err)
    except CommandError as error:
        pytest.fail(f"{error}\n{err.getvalue()[:3000]}")
    assert err.getvalue() == ""
    assert f"{len(releases)} releases loaded, 0 already imported, 0 refused." in out.getvalue()
    imported = ProcurementProcess.objects.filter(source=SOURCE)
    assert _state(imported) == expected
    # Exported again: the same amendments, evaluations and ends (terminations with their
    # party), release for release.
    again = tmp_path / "again.jsonl"
    call_command("export_ocds", "--jsonl", "--output", str(again))
    releases_again = [json.loads(line) for line in again.read_text(encoding="utf-8").splitlines()]
    parts = _contract_parts(releases)
    assert any(kind == "amendment" for kind, *_rest in parts)
    assert any(kind == "evaluation" for kind, *_rest in parts)
    assert _contract_parts(releases_again) == parts
