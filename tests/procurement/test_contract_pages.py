"""Contract pages: the staff registers a contract and its amendments, end and evaluation
through the pages (object-level permission); the public search with its filters and CSV,
the contract's page, and the links from the process page and the supplier's record."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from core import clock
from procurement.models import Contract, ProcessStatus
from tests.factories import EntityFactory, staff_of
from tests.procurement.evaluating import awarded_tender, consent

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _registered():
    tender, award, people = awarded_tender()
    award = consent(award)
    moment = clock.local(award.consented_on) + timedelta(days=2)
    with clock.pinned(moment):
        response = _client(tender.staff).post(
            f"/gestion/procesos/{tender.process.pk}/contratos/",
            {
                "award": award.pk,
                "number": "C-7-2026",
                "signed_on": award.consented_on.isoformat(),
                "term_days": "30",
                "guarantee": "retencion",
                "amount": "",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return tender, award, people, Contract.objects.get(), moment


def test_staff_registers_and_manages_a_contract_through_its_pages():
    tender, award, people, contract, moment = _registered()
    assert contract.amount == award.amount and contract.guarantee == "retencion"
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.CONTRACTED
    client = _client(tender.staff)
    url = f"/gestion/contratos/{contract.pk}/"
    with clock.pinned(moment):
        assert client.get(url).status_code == 200
        response = client.post(
            url,
            {
                "action": "amend",
                "amend-kind": "adicional",
                "amend-amount": str((contract.amount * Decimal("0.3")).quantize(Decimal("0.01"))),
                "amend-reason": "Prestación adicional",
                "amend-signed_on": contract.signed_on.isoformat(),
            },
        )
        assert response.status_code == 302
        response = client.post(
            url,
            {
                "action": "complete",
                "complete-completed_on": contract.signed_on.isoformat(),
                "complete-final_amount": "1300",
            },
        )
        assert response.status_code == 302
        response = client.post(
            url,
            {
                "action": "evaluate",
                "evaluate-on_time": "yes",
                "evaluate-quality": "5",
                "evaluate-penalties": "0",
                "evaluate-comment": "Conforme",
            },
        )
        assert response.status_code == 302
        refused = client.post(url, {"action": "terminate", "terminate-party": "entidad"})
        assert refused.status_code == 400
    contract.refresh_from_db()
    assert contract.status == Contract.Status.COMPLETED
    public = _client().get(f"/contratos/{contract.pk}/").content.decode()
    assert 'data-above-limit="1"' in public
    assert "Conforme" in public
    record = _client().get(f"/proveedores/{people[0][0].ruc}/").content.decode()
    assert f"/contratos/{contract.pk}/" in record
    # The averages: quality 5 of 5, all delivered on time, no penalties (Spanish first).
    assert "calidad promedio 5,0 de 5, 100% entregado a tiempo" in record
    process_page = _client().get(f"/procesos/{tender.process.identifier}/").content.decode()
    assert f"/contratos/{contract.pk}/" in process_page


def test_other_entitys_staff_and_suppliers_cannot_manage_contracts():
    tender, award, people, contract, moment = _registered()
    outsider = staff_of(EntityFactory())
    with clock.pinned(moment):
        for user in (outsider, people[0][1]):
            client = _client(user)
            assert client.get(f"/gestion/contratos/{contract.pk}/").status_code == 403
            assert (
                client.get(f"/gestion/procesos/{tender.process.pk}/contratos/").status_code == 403
            )
            response = client.post(
                f"/gestion/contratos/{contract.pk}/",
                {"action": "annul", "annul-reason": "Por qué no"},
            )
            assert response.status_code == 403
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE


def test_retention_refused_through_the_page_for_a_non_sme():
    tender, award, _people = awarded_tender(size_class="large")
    award = consent(award)
    with clock.pinned(clock.local(award.consented_on) + timedelta(days=1)):
        response = _client(tender.staff).post(
            f"/gestion/procesos/{tender.process.pk}/contratos/",
            {
                "award": award.pk,
                "number": "C-8",
                "signed_on": award.consented_on.isoformat(),
                "term_days": "30",
                "guarantee": "retencion",
            },
        )
    assert response.status_code == 400
    assert not Contract.objects.exists()


def test_the_public_search_filters_and_exports_csv():
    tender, award, people, contract, _moment = _registered()
    client = _client()
    ruc = people[0][0].ruc
    page = client.get("/contratos/", {"supplier": ruc, "guarantee": "retencion"})
    assert page.status_code == 200 and "C-7-2026" in page.content.decode()
    other = client.get("/contratos/", {"status": "resuelto"})
    assert "C-7-2026" not in other.content.decode()
    none = client.get("/contratos/", {"size_class": "medium", "year": contract.signed_on.year})
    assert "C-7-2026" not in none.content.decode()
    assert client.get("/contratos/", {"min_amount": "-1"}).status_code == 400
    assert client.get("/contratos/", {"format": "csv", "max_amount": "abc"}).status_code == 400
    csv = client.get("/contratos/", {"format": "csv", "entity": tender.process.entity.ruc})
    body = b"".join(csv.streaming_content).decode()
    header, row = body.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("id,numero,nomenclatura")
    assert "C-7-2026" in row and ruc in row and "retencion" in row
    assert client.get("/contratos/999999/").status_code == 404


def test_a_consortium_members_record_lists_the_consortiums_contract(client):
    from tests.factories import EntityFactory, SupplierFactory
    from tests.procurement.sme_world import contract, process

    lead, member, stranger = SupplierFactory(), SupplierFactory(), SupplierFactory()
    signed = contract(
        process(EntityFactory(), items=[("43211503", 1000, True)]),
        lead,
        1000,
        classes={lead.ruc: "micro", member.ruc: "small"},
    )
    page = client.get(f"/proveedores/{member.ruc}/").content.decode()
    assert f"/contratos/{signed.pk}/" in page and "consorcio liderado por" in page
    assert f"/contratos/{signed.pk}/" in client.get(f"/proveedores/{lead.ruc}/").content.decode()
    assert (
        f"/contratos/{signed.pk}/"
        not in client.get(f"/proveedores/{stranger.ruc}/").content.decode()
    )


def test_a_reversed_amount_range_is_an_error_on_its_end_and_an_equal_one_is_fine():
    """core.filtering.OrderedRangesForm, as on the process search: never an empty list that
    looks like "no contract", on the page, the CSV and the API."""
    client = _client()
    reversed_ = {"min_amount": "1000", "max_amount": "999.99"}
    response = client.get("/contratos/", reversed_)
    assert response.status_code == 400
    assert response.context["filter"].errors == {
        "max_amount": ["El final del rango es anterior a su inicio."]
    }
    exported = client.get("/contratos/", {**reversed_, "format": "csv"})
    assert exported.status_code == 400
    assert exported.content.decode().startswith("max_amount: ")
    assert client.get("/api/v1/contracts/", reversed_).status_code == 400
    equal = {"min_amount": "1000", "max_amount": "1000"}
    assert client.get("/contratos/", equal).status_code == 200
    assert client.get("/api/v1/contracts/", equal).status_code == 200
