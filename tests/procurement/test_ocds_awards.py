"""OCDS releases after the opening: each award's decision, consent and revocation, the
contract with its amendments, its end and the after-sales evaluation; the SME class at the
award in the extension; a deserted process is tender status `unsuccessful`. Every release
type validates against the shipped schema with the extension."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core import clock
from procurement.models import Contract
from procurement.ocds import schema
from procurement.ocds.packages import record
from procurement.ocds.releases import process_releases, release_queryset
from procurement.services import appeals, awards, contracts, evaluation
from suppliers.models import Supplier
from tests.factories import tribunal_member
from tests.procurement.bidding import classify
from tests.procurement.evaluating import (
    awarded_tender,
    committee,
    consent,
    open_tender,
    stage_start,
    tender_in,
    unit_prices,
)
from tests.procurement.test_appeals import _filed
from tests.procurement.test_contracts import _after, _sign

pytestmark = pytest.mark.django_db


def releases_of(process) -> list[dict]:
    return process_releases(release_queryset().get(pk=process.pk))


def assert_valid(releases: list[dict]) -> None:
    for release in releases:
        assert schema.errors(release, "release-schema.json") == [], release["id"]


def contracted_and_evaluated():
    tender, award, people = awarded_tender(size_class="micro")
    award = consent(award)
    with _after(award):
        contract = _sign(tender, award, amount=Decimal("1000"))
        contracts.amend_contract(
            actor=tender.staff,
            contract=contract,
            kind="adicional",
            amount=Decimal("200"),
            reason="Mayor cantidad",
            signed_on=contract.signed_on,
        )
        contracts.complete_contract(
            actor=tender.staff,
            contract=contract,
            completed_on=contract.signed_on,
            final_amount=Decimal("1190"),
        )
        contracts.evaluate_supplier(
            actor=tender.staff, contract=contract, on_time=False, quality=4, penalties=10
        )
    return tender, award, contract, people


def test_award_contract_amendment_end_and_evaluation_releases_validate_and_compile():
    tender, award, contract, people = contracted_and_evaluated()
    supplier = people[0][0]
    # The supplier grows after the award: the award keeps the class it had then.
    classify(Supplier.objects.get(pk=supplier.pk), "medium_or_large", tender.during.year)
    process = release_queryset().get(pk=tender.process.pk)
    releases = process_releases(process)
    assert_valid(releases)
    tags = {tag for release in releases for tag in release["tag"]}
    assert {
        "award",
        "awardUpdate",
        "contract",
        "contractAmendment",
        "implementation",
        "implementationUpdate",
    } <= tags
    compiled = record(process)["compiledRelease"]
    assert schema.errors(compiled, "release-schema.json") == []
    [compiled_award] = compiled["awards"]
    assert compiled_award["status"] == "active"
    assert compiled_award["statusDetails"] == "consentido"
    assert compiled_award["value"] == {"amount": float(award.amount), "currency": "PEN"}
    assert compiled_award["suppliers"] == [
        {"id": f"PE-RUC-{supplier.ruc}", "name": supplier.legal_name}
    ]
    assert compiled_award["smeWinner"] is True
    assert compiled_award["sizeClassesAtAward"] == [
        {"id": f"PE-RUC-{supplier.ruc}", "sizeClass": "micro"}
    ]
    [compiled_contract] = compiled["contracts"]
    assert compiled_contract["awardID"] == compiled_award["id"]
    assert compiled_contract["status"] == "terminated"
    assert compiled_contract["statusDetails"] == Contract.Status.COMPLETED
    assert compiled_contract["value"] == {"amount": 1200.0, "currency": "PEN"}
    assert compiled_contract["finalValue"] == {"amount": 1190.0, "currency": "PEN"}
    assert compiled_contract["amendments"][0]["rationale"] == "Mayor cantidad"
    evaluation_data = compiled_contract["implementation"]["supplierEvaluation"]
    assert evaluation_data["quality"] == 4 and evaluation_data["onTime"] is False
    assert evaluation_data["penalties"] == {"amount": 10.0, "currency": "PEN"}
    parties = {party["id"]: party for party in compiled["parties"]}
    assert "supplier" in parties[f"PE-RUC-{supplier.ruc}"]["roles"]


def test_a_terminated_contract_is_a_contract_termination_release():
    tender, award, _people = awarded_tender()
    award = consent(award)
    with _after(award):
        contract = _sign(tender, award)
        contracts.terminate_contract(
            actor=tender.staff,
            contract=contract,
            party="entidad",
            reason="Incumplimiento de plazos",
            terminated_on=contract.signed_on,
        )
    releases = releases_of(tender.process)
    assert_valid(releases)
    [ended] = [r["contracts"][0] for r in releases if r["tag"] == ["contractTermination"]]
    assert ended["status"] == "terminated" and ended["statusDetails"] == "resuelto"
    assert ended["description"] == "Incumplimiento de plazos" and "finalValue" not in ended


def test_an_award_revoked_by_a_founded_appeal_is_an_award_cancellation():
    tender, award, _people, appeal, moment = _filed()
    judge = tribunal_member()
    with clock.pinned(moment + timedelta(days=2)):
        appeals.decide_appeal(actor=judge, appeal=appeal, decision="admit")
        appeals.decide_appeal(
            actor=judge, appeal=appeal, decision="founded", resolution="No acredita."
        )
    releases = releases_of(tender.process)
    assert_valid(releases)
    [revoked] = [r["awards"][0] for r in releases if r["tag"] == ["awardCancellation"]]
    assert revoked["id"] == str(award.pk) and revoked["status"] == "cancelled"
    compiled = schema.merger().create_compiled_release(releases)
    assert [a["statusDetails"] for a in compiled["awards"]] == ["revocado"]
    assert compiled["tender"]["status"] == "active"  # back to evaluation


def test_a_granted_award_is_pending_until_consented():
    tender, award, _people = awarded_tender()
    releases = releases_of(tender.process)
    assert_valid(releases)
    [award_release] = [r for r in releases if r["tag"] == ["award"]]
    assert award_release["awards"][0]["status"] == "pending"
    assert not [r for r in releases if r["tag"] == ["awardUpdate"]]


def test_a_deserted_lot_is_an_unsuccessful_award_and_tender():
    tender = tender_in("080101")
    supplier, user = tender.bidder(size_class="micro", domicile_id="080101")
    tender.submit(user, supplier, prices=unit_prices(tender, "1000"))
    open_tender(tender)
    first, _second = committee(tender)
    criterion = tender.process.criteria.get(kind="technical")
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
        for entry in draft.entries.all():
            evaluation.record_entry(
                actor=first, entry=entry, admissible=True, scores={criterion.pk: "60"}
            )
        evaluation.publish_evaluation(actor=first, process=tender.process)
    published = evaluation.published_evaluation(tender.process)
    with clock.pinned(stage_start(tender, "buena_pro")):
        awards.qualify(
            actor=first,
            process=tender.process,
            entry=awards.next_to_qualify(published, None),
            passed=False,
            reason="No acredita experiencia",
        )
    releases = releases_of(tender.process)
    assert_valid(releases)
    [deserted] = [r["awards"][0] for r in releases if r["tag"] == ["award"]]
    assert deserted["status"] == "unsuccessful" and deserted["statusDetails"] == "desierto"
    assert "value" not in deserted and "suppliers" not in deserted
    compiled = schema.merger().create_compiled_release(releases)
    assert compiled["tender"]["status"] == "unsuccessful"
    assert compiled["tender"]["statusDetails"] == "desierto"


def test_evaluations_awards_and_contracts_are_in_the_api_and_its_schema(client):
    tender, award, contract, people = contracted_and_evaluated()
    supplier = people[0][0]
    identifier = tender.process.identifier
    evaluations = client.get(f"/api/v1/evaluations/?process={identifier}").json()["results"]
    [table] = evaluations
    assert table["version"] == 1 and table["entries"][0]["bidder_ruc"] == supplier.ruc
    assert client.get(f"/api/v1/evaluations/{table['id']}/").status_code == 200
    [listed] = client.get(f"/api/v1/awards/?supplier={supplier.ruc}").json()["results"]
    assert listed["status"] == "consentido" and listed["winner_size_classes"] == {
        supplier.ruc: "micro"
    }
    assert client.get(f"/api/v1/awards/{award.pk}/").json()["amount"] == str(award.amount)
    body = client.get(f"/api/v1/contracts/{contract.pk}/").json()
    assert body["status"] == "culminado" and body["award"] == award.pk
    assert body["amendments"][0]["kind"] == "adicional"
    assert body["evaluation"]["quality"] == 4
    [row] = client.get(f"/api/v1/contracts/?supplier={supplier.ruc}").json()["results"]
    assert row["number"] == contract.number
    assert client.get("/api/v1/contracts/?status=bogus").status_code == 400
    schema_paths = set(client.get("/api/schema/?format=json").json()["paths"])
    assert {
        "/api/v1/evaluations/",
        "/api/v1/awards/{id}/",
        "/api/v1/contracts/",
        "/api/v1/contracts/{id}/",
    } <= schema_paths


def test_a_draft_evaluation_is_not_in_the_api(client):
    tender = tender_in("080101")
    supplier, user = tender.bidder(size_class="micro", domicile_id="080101")
    tender.submit(user, supplier, prices=unit_prices(tender, "1000"))
    open_tender(tender)
    first, _second = committee(tender)
    with clock.pinned(stage_start(tender, "evaluacion")):
        draft = evaluation.start_evaluation(actor=first, process=tender.process)
    assert client.get("/api/v1/evaluations/").json()["results"] == []
    assert client.get(f"/api/v1/evaluations/{draft.pk}/").status_code == 404
