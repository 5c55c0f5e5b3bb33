"""The public REST API (/api/v1/): anonymous and read-only, starting from the pages'
querysets: nothing sealed before the opening, no draft, no unpublished plan version, no
unconfirmed supplier; bad filters are a 400 naming the filter; pages cost the same number
of queries whatever their size."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import EntityFactory, SupplierFactory, published_plan
from tests.procurement.api_world import PRICE, build_api_world, open_bids

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_api_world()


def _urls(world) -> list[str]:
    process = world.tender.process
    version = process.items.first().plan_item.version
    return [
        "/api/v1/",
        "/api/v1/entities/",
        f"/api/v1/entities/{process.entity.ruc}/",
        "/api/v1/plans/",
        f"/api/v1/plans/{version.pk}/",
        "/api/v1/plan-versions/",
        f"/api/v1/plan-versions/{version.pk}/",
        "/api/v1/processes/",
        f"/api/v1/processes/{process.identifier}/",
        "/api/v1/documents/",
        f"/api/v1/documents/{world.bases.pk}/",
        "/api/v1/openings/",
        "/api/v1/evaluations/",
        "/api/v1/awards/",
        "/api/v1/contracts/",
        "/api/v1/suppliers/",
        f"/api/v1/suppliers/{world.bidder.ruc}/",
    ]


def _text(response) -> str:
    return response.content.decode()


def test_every_endpoint_answers_anonymous_clients_in_json(client, world):
    for url in _urls(world):
        response = client.get(url, HTTP_ACCEPT="application/json")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("application/json"), url
        html = client.get(url, HTTP_ACCEPT="text/html")  # the browsable API, server-rendered
        assert html.status_code == 200 and html["Content-Type"].startswith("text/html"), url
    root = client.get("/api/v1/", HTTP_ACCEPT="application/json").json()
    assert set(root) == {
        "entities",
        "plans",
        "plan-versions",
        "processes",
        "documents",
        "openings",
        "evaluations",
        "awards",
        "contracts",
        "suppliers",
    }


def test_the_process_list_and_detail_show_the_called_tender(client, world):
    process = world.tender.process
    listed = client.get("/api/v1/processes/").json()["results"]
    assert [p["identifier"] for p in listed] == [process.identifier]
    detail = client.get(f"/api/v1/processes/{process.identifier}/").json()
    assert detail["status"] == "convocado"
    assert detail["ocid"] == f"ocds-xxxxxx-{process.identifier}"
    assert len(detail["items"]) == 2 and {s["stage"] for s in detail["stages"]} >= {"ofertas"}
    document = client.get(f"/api/v1/documents/{world.bases.pk}/").json()
    assert document["sha256"] == world.bases.sha256 and document["process"] == process.identifier


def test_nothing_of_a_sealed_bid_is_reachable_before_the_opening(client, world):
    """The bidder took part and bid (its marker and price are sealed): no endpoint names
    the bidder, the price or the marker, and the process has no opening act yet."""
    identifier = world.tender.process.identifier
    urls = [*_urls(world), f"/api/v1/processes/{identifier}/?format=json"]
    urls.remove(f"/api/v1/suppliers/{world.bidder.ruc}/")  # its own record is public
    urls.remove("/api/v1/suppliers/")
    for url in urls:
        text = _text(client.get(url, HTTP_ACCEPT="application/json"))
        assert not [s for s in world.secrets if s in text], url
    assert client.get("/api/v1/openings/").json()["results"] == []
    assert client.get(f"/api/v1/openings/{identifier}/").status_code == 404


def test_the_opening_act_is_published_once_the_bids_are_opened(client, world):
    open_bids(world.tender)
    identifier = world.tender.process.identifier
    act = client.get(f"/api/v1/openings/{identifier}/").json()
    [bid] = act["bids"]
    quantity = sum(item.quantity for item in world.tender.process.items.all())
    assert bid["lead_ruc"] == world.bidder.ruc and Decimal(bid["total"]) == PRICE * quantity
    assert {line["unit_price"] for line in bid["lines"]} == {"98765.43"}
    [document] = bid["documents"]
    assert len(document["sha256"]) == 64 and document["download"].endswith("/")
    assert client.get("/api/v1/openings/").json()["results"][0]["process"] == identifier


def test_drafts_unpublished_versions_and_unconfirmed_suppliers_are_not_reachable(client, world):
    draft = world.draft
    assert client.get(f"/api/v1/processes/{draft.identifier}/").status_code == 404
    assert draft.identifier not in _text(client.get("/api/v1/processes/?page_size=200"))
    version = world.draft_version
    assert client.get(f"/api/v1/plan-versions/{version.pk}/").status_code == 404
    assert client.get(f"/api/v1/plans/{version.pk}/").status_code == 404
    listed = client.get("/api/v1/plan-versions/?page_size=200").json()["results"]
    assert version.pk not in {v["id"] for v in listed} and listed
    assert client.get(f"/api/v1/suppliers/{world.unconfirmed.ruc}/").status_code == 404
    assert world.unconfirmed.ruc not in _text(client.get("/api/v1/suppliers/?page_size=200"))


def test_the_supplier_record_keeps_contact_details_and_sales_private(client, world):
    supplier = SupplierFactory(email="privado@example.pe", phone="999888777")
    text = _text(client.get(f"/api/v1/suppliers/{supplier.ruc}/"))
    assert supplier.legal_name in text
    assert "privado@example.pe" not in text and "999888777" not in text
    assert "annual_sales" not in text


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/processes/?year=dos-mil", "year"),
        ("/api/v1/processes/?status=abierto", "status"),
        ("/api/v1/processes/?min_value=-5", "min_value"),
        ("/api/v1/processes/?max_value=1e400", "max_value"),
        ("/api/v1/processes/?procedure_type=XX", "procedure_type"),
        ("/api/v1/entities/?level=galactic", "level"),
        ("/api/v1/plans/?year=99999999999999999999", "year"),
        ("/api/v1/plan-versions/?year=0", "year"),
        ("/api/v1/documents/?kind=secret", "kind"),
        ("/api/v1/suppliers/?size_class=giant", "size_class"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(client, url, field):
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 400, url
    body = response.json()
    assert field in body and body[field][0], body


def test_the_search_filters_are_those_of_the_search_page(client, world):
    process = world.tender.process
    found = client.get(f"/api/v1/processes/?entity={process.entity.ruc}&status=convocado")
    assert [p["identifier"] for p in found.json()["results"]] == [process.identifier]
    assert client.get("/api/v1/processes/?status=adjudicado").json()["results"] == []


def test_a_bad_cursor_is_a_404_not_a_500(client, world):
    assert client.get("/api/v1/processes/?cursor=bz1hYmM=").status_code == 404  # o=abc
    # p=2026-99-99, p=x, p=<NUL>
    for cursor in ["%25%25%25", "cD0yMDI2LTk5LTk5", "cD14", "cD0lMDA="]:
        assert client.get(f"/api/v1/processes/?cursor={cursor}").status_code in (200, 404)
    for cursor in ["cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "cD0lMDA="]:  # p=999...9, p=<NUL>
        assert client.get(f"/api/v1/documents/?cursor={cursor}").status_code == 404
        assert client.get(f"/api/v1/suppliers/?cursor={cursor}").status_code in (200, 404)


def test_the_api_is_read_only(client, world):
    url = f"/api/v1/processes/{world.tender.process.identifier}/"
    assert client.post("/api/v1/processes/", {}).status_code == 405
    assert client.delete(url).status_code == 405


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured)


def test_a_page_costs_the_same_queries_whatever_its_size(client, world):
    for _n in range(4):
        EntityFactory()
        SupplierFactory()
        published_plan(items=[{"description": "Otro"}])
    open_bids(world.tender)
    for base in [
        "/api/v1/entities/",
        "/api/v1/plans/",
        "/api/v1/plan-versions/",
        "/api/v1/processes/",
        "/api/v1/documents/",
        "/api/v1/openings/",
        "/api/v1/evaluations/",
        "/api/v1/awards/",
        "/api/v1/contracts/",
        "/api/v1/suppliers/",
    ]:
        assert _queries(client, f"{base}?page_size=1") == _queries(
            client, f"{base}?page_size=50"
        ), base


def test_pages_follow_their_cursor(client):
    rucs = sorted(SupplierFactory().ruc for _n in range(5))
    first = client.get("/api/v1/suppliers/?page_size=2").json()
    second = client.get(first["next"]).json()
    seen = [s["ruc"] for s in first["results"] + second["results"]]
    assert seen == rucs[:4]


def test_anonymous_clients_are_throttled_by_address(client, settings):
    """A made-up X-Forwarded-For is no fresh allowance; another address has its own."""
    settings.API_ANON_THROTTLE_RATE = "3/minute"
    settings.TRUSTED_PROXY_COUNT = 0
    statuses = [
        client.get("/api/v1/entities/", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/entities/", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_the_openapi_schema_and_its_docs_page_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/processes/", "/api/v1/processes/{identifier}/"} <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/api/v1/processes/"]["get"]["parameters"]}
    assert {"q", "entity", "status", "year", "sme_only", "cursor", "page_size"} <= parameters
    for url in ["/api/docs/", "/api/redoc/"]:
        page = _text(client.get(url))
        assert "drf_spectacular_sidecar" in page, url
        assert not [cdn for cdn in ("cdn.", "unpkg", "jsdelivr") if cdn in page], url
