"""A subscription's private Atom feed (issue 13, "a private feed URL per subscription, secret
token, revocable") and the suggested subscription a supplier's user is offered from its
registry categories and domicile."""

import hashlib
import re
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from core.models import CatalogItem
from notifications.models import Criterion, Subscription, SubscriptionFeed
from procurement.subscriptions.matching import Criteria
from procurement.subscriptions.services import save_subscription, unsubscribe_token
from tests.factories import (
    SupplierFactory,
    UserFactory,
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    user_of,
)

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
LIST = "/cuentas/suscripciones/"


@pytest.fixture
def processes():
    """Two published processes, servers (43211503) and paper (44121701), and a draft for
    servers too."""
    version, staff = published_plan(
        year=timezone.localdate().year,
        items=[
            {"description": "Servidores", "catalog_item": "43211503", "estimated_value": 450000},
            {"description": "Papel bond", "catalog_item": "44121701", "estimated_value": 450000},
            {"description": "Servidores", "catalog_item": "43211503", "estimated_value": 450000},
        ],
    )
    servers, paper, unpublished = version.items.order_by("reference")
    process_from_plan(staff, version, items=[unpublished], description="Borrador de servidores")
    called = []
    for item, description in ((servers, "Servidores"), (paper, "Papel bond")):
        process = process_from_plan(staff, version, items=[item], description=description)
        called.append(publish_with_lp_calendar(staff, process, call=last_working_day_until_today()))
    return called


def _subscription(user, catalog=("4321",), name="Servidores"):
    return save_subscription(
        actor=user, criteria=Criteria(catalog=catalog), name=name, delivery="digest", language="es"
    )


def _feed_address(client, subscription, action="new"):
    """Ask for a new address (the page answering the POST shows it, the only time) or stop
    the feed (back to the list); the address shown, or None."""
    response = client.post(f"{LIST}{subscription.pk}/feed/", {"action": action})
    if action != "new":
        assert response.status_code == 302 and response["Location"] == LIST
        assert not SubscriptionFeed.objects.filter(subscription=subscription).exists()
        return None
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert "Cópiela ahora" in response.text
    found = set(
        re.findall(r"http://testserver(/feeds/suscripciones/[A-Za-z0-9_-]+/)", response.text)
    )
    assert len(found) == 1, found
    return found.pop()


def _titles(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert response["Cache-Control"] == "private, no-store"
    root = ET.fromstring(response.content)  # noqa: S314 - the portal's own response
    return [entry.find(f"{ATOM}title").text for entry in root.findall(f"{ATOM}entry")]


def test_the_feed_lists_what_the_subscription_matches_and_only_that(client, processes):
    servers, paper = processes
    user = UserFactory()
    subscription = _subscription(user)
    client.force_login(user)
    address = _feed_address(client, subscription)
    # Only the SHA-256 is kept: the address is shown once, and the table opens no feed.
    secret = address.split("/")[-2]
    stored = SubscriptionFeed.objects.get(subscription=subscription).token_sha256
    assert stored == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored
    later = client.get(LIST).text
    assert address not in later and "Tiene una dirección del canal" in later
    assert client.get(f"/feeds/suscripciones/{stored}/").status_code == 404
    client.logout()  # a feed reader has no session: the token is the authorisation
    titles = _titles(client.get(address))
    assert titles == [f"{servers.identifier}: {servers.description}"]
    body = client.get(address).text
    assert paper.identifier not in body and "Borrador de servidores" not in body


def test_the_feed_speaks_the_subscription_language_and_dies_when_it_stops(client, processes):
    user = UserFactory()
    subscription = _subscription(user)
    Subscription.objects.filter(pk=subscription.pk).update(language="en")
    client.force_login(user)
    address = _feed_address(client, subscription)
    client.logout()
    assert "<title>Subscription: Servidores</title>" in client.get(address).text
    client.post(f"/cuentas/suscripciones/baja/{unsubscribe_token(subscription)}/")
    assert client.get(address).status_code == 404
    Subscription.objects.filter(pk=subscription.pk).update(active=True)  # turned on again
    assert client.get(address).status_code == 404  # the old address stays dead


def test_a_new_address_stops_the_old_one_and_revoking_stops_the_feed(client, processes):
    user = UserFactory()
    subscription = _subscription(user)
    client.force_login(user)
    old = _feed_address(client, subscription)
    new = _feed_address(client, subscription)
    assert old != new
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert _feed_address(client, subscription, action="revoke") is None
    assert client.get(new).status_code == 404
    assert _feed_address(client, subscription, action="revoke") is None  # twice: harmless
    assert client.post(f"{LIST}{subscription.pk}/feed/", {"action": "x"}).status_code == 400


def test_a_stopped_subscription_or_a_foreign_token_has_no_feed(client, processes):
    user, other = UserFactory(), UserFactory()
    subscription = _subscription(user)
    client.force_login(user)
    address = _feed_address(client, subscription)
    Subscription.objects.filter(pk=subscription.pk).update(active=False)
    assert client.get(address).status_code == 404
    secret = address.split("/")[-2]
    for token in ("x", "A" * 43, "A" * 200, "%00", "../procesos", secret[:-1], secret + "A"):
        assert client.get(f"/feeds/suscripciones/{token}/").status_code == 404
    # Another user can neither make nor stop an address of this subscription.
    client.force_login(other)
    for action in ("new", "revoke"):
        assert client.post(f"{LIST}{subscription.pk}/feed/", {"action": action}).status_code == 404
    assert SubscriptionFeed.objects.get(subscription=subscription).token_sha256 == (
        hashlib.sha256(secret.encode()).hexdigest()
    )
    client.logout()
    response = client.post(f"{LIST}{subscription.pk}/feed/", {"action": "new"})
    assert response.status_code == 302 and "/cuentas/ingresar/" in response["Location"]


def test_a_supplier_user_is_offered_its_registry_as_a_subscription(client, processes):
    servers, paper = processes
    supplier = SupplierFactory(domicile_id="080101")  # Cusco
    supplier.categories.set(CatalogItem.objects.filter(code__in=["43210000", "43211503"]))
    user = user_of(supplier)
    client.force_login(user)
    page = client.get(LIST).text
    assert "Suscripción sugerida" in page and "Cusco" in page and "43210000" in page
    assert f"{LIST}nueva/?sugerida=1" in page

    form = client.get(f"{LIST}nueva/?sugerida=1").context["form"]
    assert form.initial["catalog"] == "4321"  # the family covers its commodity 43211503
    assert form.initial["regions"] == "08"
    assert not Subscription.objects.exists()  # only suggested: nothing saved, nothing sent

    data = {
        "name": form.initial["name"],
        "catalog": form.initial["catalog"],
        "regions": form.initial["regions"],
        "delivery": "immediate",
        "language": "es",
        "action": "save",
    }
    assert client.post(f"{LIST}nueva/", data).status_code == 302
    saved = Subscription.objects.get(owner=user)
    assert saved.values_of(Criterion.CATALOG) == ["4321"]
    assert saved.values_of(Criterion.REGION) == ["08"]
    assert "Suscripción sugerida" not in client.get(LIST).text  # offered only to start with


def test_a_plain_account_gets_no_suggestion(client):
    user = UserFactory()
    client.force_login(user)
    assert "Suscripción sugerida" not in client.get(LIST).text
    form = client.get(f"{LIST}nueva/?sugerida=1").context["form"]
    assert form.initial == {}
