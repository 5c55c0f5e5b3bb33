"""/cuentas/suscripciones/: login required, only the owner sees or changes a subscription,
the preview saves nothing, and hostile input is a form error."""

import pytest
from django.urls import reverse

from notifications.models import Criterion, Subscription
from procurement.subscriptions.matching import Criteria
from procurement.subscriptions.services import save_subscription
from tests.factories import UserFactory
from tests.hostile import HOSTILE

pytestmark = pytest.mark.django_db

LIST = "/cuentas/suscripciones/"
NEW = "/cuentas/suscripciones/nueva/"

VALID = {
    "name": "Equipos de cómputo",
    "keywords": "servidores, laptops",
    "catalog": "43210000, 44121701",
    "regions": "08, 1501",
    "entities": "",
    "procedure_types": ["LP", "AS"],
    "object_types": ["goods"],
    "min_value": "1000",
    "max_value": "500000",
    "sme_only": "on",
    "delivery": "digest",
    "language": "en",
}


def _owned(user, name="Mía"):
    return save_subscription(
        actor=user,
        criteria=Criteria(catalog=("4321",)),
        name=name,
        delivery="immediate",
        language="es",
    )


def test_the_pages_need_a_login(client):
    for url in (LIST, NEW):
        response = client.get(url)
        assert response.status_code == 302 and "/cuentas/ingresar/" in response["Location"]


def test_the_contract_path_lists_only_ones_own(client):
    me, other = UserFactory(), UserFactory()
    _owned(me, "Mía")
    _owned(other, "Ajena")
    client.force_login(me)
    response = client.get(LIST)
    assert response.status_code == 200
    assert "Mía" in response.text and "Ajena" not in response.text


def test_saving_stores_the_criteria_as_prefixes(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(NEW, {**VALID, "action": "save"})
    assert response.status_code == 302
    subscription = Subscription.objects.get(owner=user)
    assert subscription.active and subscription.delivery == "digest"
    assert subscription.language == "en" and subscription.sme_only
    assert subscription.values_of(Criterion.CATALOG) == ["4321", "44121701"]
    assert subscription.values_of(Criterion.REGION) == ["08", "1501"]
    assert subscription.values_of(Criterion.KEYWORD) == ["laptops", "servidores"]
    assert subscription.values_of(Criterion.PROCEDURE_TYPE) == ["AS", "LP"]


def test_the_preview_shows_matches_and_saves_nothing(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(NEW, {**VALID, "action": "preview"})
    assert response.status_code == 200
    assert "last 30 days" in response.text or "últimos 30 días" in response.text
    assert not Subscription.objects.filter(owner=user).exists()


def test_another_users_subscription_is_not_found(client):
    owner, intruder = UserFactory(), UserFactory()
    subscription = _owned(owner)
    client.force_login(intruder)
    edit = reverse("subscriptions:subscription_edit", args=[subscription.pk])
    delete = reverse("subscriptions:subscription_delete", args=[subscription.pk])
    assert client.get(edit).status_code == 404
    assert client.post(edit, {**VALID, "action": "save"}).status_code == 404
    assert client.post(delete).status_code == 404
    subscription.refresh_from_db()
    assert subscription.name == "Mía"


def test_the_owner_edits_and_deletes(client):
    owner = UserFactory()
    subscription = _owned(owner)
    client.force_login(owner)
    edit = reverse("subscriptions:subscription_edit", args=[subscription.pk])
    assert client.post(edit, {**VALID, "name": "Nuevo", "action": "save"}).status_code == 302
    subscription.refresh_from_db()
    assert subscription.name == "Nuevo" and not subscription.active  # "active" left unticked
    delete = reverse("subscriptions:subscription_delete", args=[subscription.pk])
    assert client.post(delete).status_code == 302
    assert not Subscription.objects.filter(pk=subscription.pk).exists()


BAD = [
    ("catalog", "4321x"),
    ("catalog", "99990000"),
    ("catalog", "432"),
    ("catalog", ", ".join(str(10 + n) for n in range(31))),
    ("regions", "99"),
    ("regions", "080"),
    ("entities", "20999999999"),
    ("min_value", "-1"),
    ("max_value", "NaN"),
    ("max_value", "1e3000"),
    ("procedure_types", "XX"),
    ("delivery", "weekly"),
    ("keywords", ", ".join(f"k{n}" for n in range(21))),
    ("keywords", "servidores, " + "x" * 101),
    ("keywords", "servidores, de la"),  # nothing to search for
]


@pytest.mark.parametrize(("field", "value"), BAD + [("name", v) for v in HOSTILE["text"]])
def test_hostile_input_is_a_form_error(client, field, value):
    user = UserFactory()
    client.force_login(user)
    for action in ("save", "preview"):
        response = client.post(NEW, {**VALID, field: value, "action": action})
        assert response.status_code == 400
        assert field in response.context["form"].errors
    assert not Subscription.objects.filter(owner=user).exists()


def test_a_minimum_above_the_maximum_is_a_form_error(client):
    client.force_login(UserFactory())
    response = client.post(NEW, {**VALID, "min_value": "10", "max_value": "5", "action": "save"})
    assert response.status_code == 400
    assert "max_value" in response.context["form"].errors
