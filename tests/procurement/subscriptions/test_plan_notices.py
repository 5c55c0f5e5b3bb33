"""Notices of an entity's annual plan (issue 13): a plan published or modified reaches the
users whose active subscriptions follow the entity, once each, in the subscription's
language, with what changed and the links to the plan and its changes; nobody else."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from notifications import dispatch
from notifications.models import Event, EventKind, Notice, NoticeStatus
from procurement.services import plans
from procurement.subscriptions.matching import Criteria
from procurement.subscriptions.notices import collect_digests
from procurement.subscriptions.services import save_subscription
from tests.factories import EntityFactory, UserFactory, draft_plan, plan_item_data

pytestmark = pytest.mark.django_db
D = Decimal


def _subscribe(user, *, language="es", delivery="immediate", active=True, **criteria):
    return save_subscription(
        actor=user,
        criteria=Criteria(**criteria),
        name="Municipalidad",
        delivery=delivery,
        language=language,
        active=active,
    )


def _dispatch(capture):
    with capture(execute=True):
        return dispatch.dispatch_pending()


def _to(mailoutbox) -> list[str]:
    return sorted(address for message in mailoutbox for address in message.to)


def _publish(staff, version, **kwargs):
    plans.publish_version(
        staff, version, approval_date=timezone.localdate(), sme_justification="prueba", **kwargs
    )


@pytest.fixture
def plan():
    entity = EntityFactory(name="Municipalidad de Sicuani")
    version, staff = draft_plan(
        entity=entity,
        year=timezone.localdate().year,
        items=[
            {"description": "Papel bond", "estimated_value": D("5000"), "sme_reserved": True},
            {"description": "Tóner", "estimated_value": D("3000")},
            {"description": "Sillas", "estimated_value": D("2000")},
        ],
    )
    return entity, version, staff


def test_the_subscribers_who_follow_the_entity_hear_of_its_plan_once(
    plan, django_capture_on_commit_callbacks, mailoutbox
):
    entity, version, staff = plan
    rosa = UserFactory(email="rosa@textiles.pe")
    rosa_subscription = _subscribe(rosa, entities=(entity.ruc,))
    _subscribe(rosa, entities=(entity.ruc, "20100000009"), catalog=("43",))  # still one
    john = UserFactory(email="john@press.org")
    _subscribe(john, entities=(entity.ruc,), language="en", delivery="digest")
    _subscribe(UserFactory(email="otra@entidad.pe"), entities=(EntityFactory().ruc,))
    _subscribe(UserFactory(email="todo@correo.pe"))  # every process, no entity named
    _subscribe(UserFactory(email="pausa@correo.pe"), entities=(entity.ruc,), active=False)
    UserFactory(email="nadie@correo.pe")

    _publish(staff, version)
    _dispatch(django_capture_on_commit_callbacks)

    event = Event.objects.get(kind=EventKind.PLAN_PUBLISHED)
    assert event.dispatched_at is not None
    assert _to(mailoutbox) == ["rosa@textiles.pe"]  # john chose the daily digest
    notices = Notice.objects.filter(event=event)
    assert notices.count() == 2
    assert notices.get(recipient=john).status == NoticeStatus.QUEUED
    with django_capture_on_commit_callbacks(execute=True):
        assert len(collect_digests()) == 1
    assert _to(mailoutbox) == ["john@press.org", "rosa@textiles.pe"]
    assert set(notices.values_list("status", flat=True)) == {"sent"}
    assert notices.get(recipient=rosa).subscription == rosa_subscription
    year = timezone.localdate().year
    spanish = next(m for m in mailoutbox if m.to == [rosa.email])
    english = next(m for m in mailoutbox if m.to == [john.email])
    assert spanish.subject == (
        f"Municipalidad de Sicuani publicó su plan anual de contrataciones {year}"
    )
    assert english.subject == "1 update for your subscriptions"
    assert f"Municipalidad de Sicuani published its annual procurement plan {year}" in (
        english.body
    )
    plan_url = f"/planes/{entity.ruc}/{year}/?version=0"
    assert plan_url in spanish.body and plan_url in spanish.alternatives[0][0]
    assert plan_url in english.body and plan_url in english.alternatives[0][0]
    assert "New processes" not in english.body  # the digest had no process today
    assert "10\xa0000,00" in spanish.body  # the plan's total
    assert "/cambios/" not in spanish.body  # a first version has no changes page
    # The subscription that caught it stops with one click, as for a published process.
    link = spanish.extra_headers["List-Unsubscribe"].strip("<>").split("8000", 1)[-1]
    assert link in spanish.body
    assert spanish.extra_headers["Message-ID"] != english.extra_headers["Message-ID"]
    assert Client().post(link, {"List-Unsubscribe": "One-Click"}).status_code == 200
    rosa_subscription.refresh_from_db()
    assert not rosa_subscription.active

    # Dispatched again (a worker died before recording it): nothing new, nothing resent.
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    assert _dispatch(django_capture_on_commit_callbacks).dispatched == 1
    assert notices.count() == 2 and len(mailoutbox) == 2


def test_a_modification_says_what_changed_and_links_to_the_changes(
    plan, django_capture_on_commit_callbacks, mailoutbox
):
    entity, version, staff = plan
    rosa = UserFactory(email="rosa@textiles.pe")
    _subscribe(rosa, entities=(entity.ruc,))
    john = UserFactory(email="john@press.org")
    _subscribe(john, entities=(entity.ruc,), language="en")
    _subscribe(UserFactory(email="ana@digest.pe"), entities=(entity.ruc,), delivery="digest")
    _publish(staff, version)
    _dispatch(django_capture_on_commit_callbacks)
    mailoutbox.clear()

    draft = plans.start_modification(staff, version.plan)
    items = {i.description: i for i in draft.items.all()}
    plans.delete_item(staff, items["Sillas"])
    plans.update_item(
        staff, items["Tóner"], plan_item_data(description="Tóner", estimated_value=D("3500"))
    )
    plans.add_item(staff, draft, plan_item_data(description="Escritorios"))
    _publish(staff, draft, reason="Ajuste presupuestal")
    _dispatch(django_capture_on_commit_callbacks)

    event = Event.objects.get(kind=EventKind.PLAN_MODIFIED)
    assert Notice.objects.filter(event=event, status=NoticeStatus.SENT).count() == 2
    year = timezone.localdate().year
    english = next(m for m in mailoutbox if m.to == [john.email])
    spanish = next(m for m in mailoutbox if m.to == [rosa.email])
    assert english.subject == (
        f"Municipalidad de Sicuani modified its annual procurement plan {year} (version 1)"
    )
    assert "(versión 1)" in spanish.subject
    for message in (english.body, english.alternatives[0][0]):
        assert "Ajuste presupuestal" in message
        assert "1 item added" in message and "Escritorios" in message
        assert "1 item removed" in message and "Sillas" in message
        assert "1 item changed" in message and "Tóner" in message
        assert "Papel bond" not in message  # unchanged items are on the plan's page
        assert f"/planes/{entity.ruc}/{year}/cambios/?desde=0" in message
        assert f"/planes/{entity.ruc}/{year}/?version=1" in message
    assert "1 ítem agregado" in spanish.body and "Motivo de la modificación" in spanish.body

    # The digest subscriber hears of both versions in one e-mail, the day's digest.
    assert _to(mailoutbox) == ["john@press.org", "rosa@textiles.pe"]
    with django_capture_on_commit_callbacks(execute=True):
        collect_digests()
    (digest,) = [m for m in mailoutbox if m.to == ["ana@digest.pe"]]
    assert digest.subject == "2 novedades para sus suscripciones"
    for message in (digest.body, digest.alternatives[0][0]):
        assert "publicó su plan anual" in message and "modificó su plan anual" in message
        assert "Ajuste presupuestal" in message
        assert f"/planes/{entity.ruc}/{year}/cambios/?desde=0" in message


def test_a_plan_of_another_entity_reaches_nobody_who_follows_this_one(
    plan, django_capture_on_commit_callbacks, mailoutbox
):
    entity, _version, _staff = plan
    _subscribe(UserFactory(email="rosa@textiles.pe"), entities=(entity.ruc,))
    other_version, other_staff = draft_plan(
        year=timezone.localdate().year, items=[{"description": "Cemento"}]
    )
    _publish(other_staff, other_version)
    _dispatch(django_capture_on_commit_callbacks)
    assert Event.objects.get(kind=EventKind.PLAN_PUBLISHED).dispatched_at is not None
    assert mailoutbox == [] and not Notice.objects.exists()
