"""OCDS 1.1: the releases of a process validate against the official schema shipped in the
repository (with the portal's extension), name parties by PE-RUC and items by UNSPSC, carry
document hashes, compile into a record with ocdsmerge offline, and reveal nothing sealed."""

import socket
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core import clock
from core.workdays import WorkingCalendar
from procurement.ocds import schema
from procurement.services import processes
from tests.procurement.api_world import build_api_world, open_bids

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_api_world()


def amend_award_dates(world):
    """Move the award and what follows it one working day later, with a reason."""
    process = world.tender.process
    dates = {s.stage: (s.start, s.end) for s in process.stages.all()}
    cal = WorkingCalendar()
    award = cal.add_working_days(dates["buena_pro"][0], 1)
    dates["buena_pro"] = (award, award)
    dates["consentimiento"] = (cal.add_working_days(award, 1), cal.add_working_days(award, 8))
    end = dates["consentimiento"][1]
    dates["contrato"] = (cal.add_working_days(end, 1), cal.add_working_days(end, 3))
    with clock.pinned(after_call(world)):
        processes.set_calendar(world.tender.staff, process, dates, reason="Feriado regional")
    return award


def after_call(world):
    """A moment after everything the world recorded: the afternoon of the call day (after the
    call's publication at noon), or a minute after the real now when the tests run later than
    that (the plan and documents of a world built today are dated now, so a fixed 15:00 came
    before them from 15:00 Lima on, and the releases' order with it)."""
    call = world.tender.process.stages.get(stage="convocatoria").start
    return max(clock.local(call, time(15, 0)), timezone.now() + timedelta(minutes=1))


def ocid_of(world) -> str:
    return f"ocds-xxxxxx-{world.tender.process.identifier}"


def get_json(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_every_release_and_both_packages_validate_with_zero_errors(client, world):
    amend_award_dates(world)
    open_bids(world.tender)
    ocid = ocid_of(world)
    package = get_json(client, f"/api/ocds/releases/{ocid}/")
    assert schema.errors(package, "release-package-schema.json") == []
    for release in package["releases"]:
        assert schema.errors(release, "release-schema.json") == [], release["id"]
    tags = {tag for release in package["releases"] for tag in release["tag"]}
    assert tags == {"planning", "tender", "tenderUpdate", "tenderAmendment"}
    records = get_json(client, f"/api/ocds/records/{ocid}/")
    assert schema.errors(records, "record-package-schema.json") == []
    [record] = records["records"]
    assert schema.errors(record["compiledRelease"], "release-schema.json") == []


def test_the_validator_catches_what_the_extension_forbids():
    """The shipped schema with the extension is what the checks use (not a permissive
    stand-in): a bad size class, hash or date is an error."""
    release = {
        "ocid": "ocds-xxxxxx-X",
        "id": "1",
        "date": "2026-03-01",
        "tag": ["tender"],
        "initiationType": "tender",
        "parties": [{"id": "PE-RUC-1", "details": {"sizeClass": "huge"}}],
        "tender": {"id": "X", "documents": [{"id": "1", "sha256": "abc"}]},
    }
    found = schema.errors(release, "release-schema.json")
    assert len(found) == 3 and any("date" in e for e in found), found


def test_parties_items_and_documents_are_identified(client, world):
    open_bids(world.tender)
    process = world.tender.process
    package = get_json(client, f"/api/ocds/releases/{ocid_of(world)}/")
    compiled = get_json(client, f"/api/ocds/records/{ocid_of(world)}/")["records"][0][
        "compiledRelease"
    ]
    parties = {party["id"]: party for party in compiled["parties"]}
    buyer = parties[f"PE-RUC-{process.entity.ruc}"]
    assert buyer["identifier"] == {
        "scheme": "PE-RUC",
        "id": process.entity.ruc,
        "legalName": process.entity.name,
    }
    assert set(buyer["roles"]) == {"buyer", "procuringEntity"}
    bidder = parties[f"PE-RUC-{world.bidder.ruc}"]
    assert bidder["roles"] == ["tenderer"]
    assert bidder["details"] == {"sizeClass": "micro", "sizeRule": "ley-28015", "sme": True}
    assert compiled["buyer"]["id"] == buyer["id"]
    tender = compiled["tender"]
    assert {item["classification"]["id"] for item in tender["items"]} == {"44121701"}
    assert {item["classification"]["scheme"] for item in tender["items"]} == {"UNSPSC"}
    assert tender["value"] == {"amount": float(process.estimated_value), "currency": "PEN"}
    assert tender["smeOnly"] is False and tender["procurementMethod"] == "open"
    assert tender["status"] == "active" and tender["statusDetails"] == "convocado"
    assert len(tender["items"]) == process.items.count()
    assert tender["numberOfTenderers"] == 1
    assert tender["tenderers"] == [{"id": bidder["id"], "name": world.bidder.legal_name}]
    [document] = [d for d in tender["documents"] if d["id"] == str(world.bases.pk)]
    assert document["sha256"] == world.bases.sha256
    assert document["documentType"] == "biddingDocuments"
    assert document["url"].endswith(
        reverse(
            "procurement:process_document",
            kwargs={"identifier": process.identifier, "document_id": world.bases.pk},
        )
    )
    planning = next(r for r in package["releases"] if r["tag"] == ["planning"])
    assert {i["smeReserved"] for i in planning["tender"]["items"]} == {False}
    assert planning["planning"]["budget"]["amount"]["currency"] == "PEN"


def test_an_amendment_is_its_own_release_and_the_record_has_the_amended_dates(client, world):
    award = amend_award_dates(world)
    releases = get_json(client, f"/api/ocds/releases/{ocid_of(world)}/")["releases"]
    [tender] = [r for r in releases if r["tag"] == ["tender"]]
    [amendment] = [r for r in releases if r["tag"] == ["tenderAmendment"]]
    assert not tender["tender"]["awardPeriod"]["startDate"].startswith(award.isoformat())
    assert amendment["tender"]["awardPeriod"]["startDate"].startswith(award.isoformat())
    assert amendment["tender"]["amendments"][0]["rationale"] == "Feriado regional"
    compiled = get_json(client, f"/api/ocds/records/{ocid_of(world)}/")["records"][0][
        "compiledRelease"
    ]
    assert compiled["tender"]["awardPeriod"]["startDate"].startswith(award.isoformat())
    assert compiled["tag"] == ["compiled"]
    assert [a["rationale"] for a in compiled["tender"]["amendments"]] == ["Feriado regional"]


def test_an_entity_that_bids_keeps_its_buyer_roles(client):
    """A contract between entities: the bidder's RUC is the buyer's. Compiling replaces a
    party's roles with the latest release's, so that release names all of them."""
    from tests.procurement.bidding import called_tender

    tender = called_tender()
    entity = tender.process.entity
    bidder, user = tender.bidder(ruc=entity.ruc)
    tender.submit(user, bidder)
    open_bids(tender)
    ocid = f"ocds-xxxxxx-{tender.process.identifier}"
    compiled = get_json(client, f"/api/ocds/records/{ocid}/")["records"][0]["compiledRelease"]
    [party] = compiled["parties"]
    assert set(party["roles"]) == {"buyer", "procuringEntity", "tenderer"}


def test_a_cancelled_process_has_a_cancellation_release(client, world):
    process = world.tender.process
    with clock.pinned(after_call(world)):
        processes.cancel(actor=world.tender.staff, process=process, reason="Ya no se requiere")
    releases = get_json(client, f"/api/ocds/releases/{ocid_of(world)}/")["releases"]
    assert releases[-1]["tag"] == ["tenderCancellation"]
    compiled = get_json(client, f"/api/ocds/records/{ocid_of(world)}/")["records"][0][
        "compiledRelease"
    ]
    assert compiled["tender"]["status"] == "cancelled"
    assert compiled["tender"]["statusDetails"] == "cancelado"


def test_nothing_sealed_is_in_the_packages_before_the_opening(client, world):
    for kind in ("releases", "records"):
        text = client.get(f"/api/ocds/{kind}/{ocid_of(world)}/").content.decode()
        assert world.tender.process.identifier in text
        assert not [s for s in world.secrets if s in text], kind
        assert "tenderers" not in text


def test_drafts_and_unknown_ocids_are_404(client, world):
    for ocid in [
        f"ocds-xxxxxx-{world.draft.identifier}",
        f"ocds-otro-{world.tender.process.identifier}",
        "ocds-xxxxxx-",
        "ocds-xxxxxx-LP-SM-999-2026-NADA-1",
    ]:
        for kind in ("releases", "records"):
            assert client.get(f"/api/ocds/{kind}/{ocid}/").status_code == 404, ocid


def test_packages_state_licence_policy_and_the_served_extension(client, world, settings):
    package = get_json(client, f"/api/ocds/releases/{ocid_of(world)}/")
    assert package["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert package["version"] == "1.1"
    site = settings.SITE_URL
    assert package["publicationPolicy"].startswith(site)
    policy = client.get(package["publicationPolicy"].removeprefix(site))
    assert policy.status_code == 200 and b"CC BY 4.0" in policy.content
    [extension_url] = package["extensions"]
    assert extension_url == f"{site}/api/ocds/extension/extension.json"
    extension = get_json(client, extension_url.removeprefix(site))
    assert extension["schemas"] == ["release-schema.json"] and "1.1" in extension["compatibility"]
    patch = get_json(client, "/api/ocds/extension/release-schema.json")
    assert "smeOnly" in patch["definitions"]["Tender"]["properties"]
    readme = client.get(extension["documentationUrl"]["es"].removeprefix("http://testserver"))
    assert readme.status_code == 200 and b"sizeClass" in readme.content
    assert client.get("/api/ocds/extension/settings.py").status_code == 404


def test_records_compile_without_the_network(client, world, monkeypatch):
    """ocdsmerge would download the latest schema if given none: ours is the shipped one."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    schema.merger.cache_clear()
    schema.release_schema.cache_clear()
    record = get_json(client, f"/api/ocds/records/{ocid_of(world)}/")["records"][0]
    assert record["compiledRelease"]["ocid"] == ocid_of(world)
