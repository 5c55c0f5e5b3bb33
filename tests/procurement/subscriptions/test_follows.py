"""Following a process (issue 13): any logged-in user, a plain account included, follows or
stops following with the POST button of the process page (CSRF, idempotent), and lists what
they follow under /cuentas/seguidos/."""

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import Follow
from procurement.subscriptions.follows import follow_process, unfollow_process
from tests.factories import (
    UserFactory,
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
)

pytestmark = pytest.mark.django_db


def published_process(description="Adquisición de servidores"):
    version, staff = published_plan(
        year=timezone.localdate().year,
        items=[
            {"description": "Servidores", "catalog_item": "43211503", "estimated_value": 450000}
        ],
    )
    process = process_from_plan(staff, version, description=description)
    return publish_with_lp_calendar(staff, process, call=last_working_day_until_today())


def test_a_logged_in_user_follows_and_unfollows_with_the_button(client):
    process = published_process()
    journalist = UserFactory(email="periodista@diario.pe")
    client.force_login(journalist)
    page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "Seguir este proceso" in page

    url = f"/procesos/{process.identifier}/seguir/"
    for _twice in range(2):  # a double click follows once
        response = client.post(url, {"action": "follow"})
        assert response.status_code == 302
        assert response["Location"] == f"/procesos/{process.identifier}/"
    assert list(Follow.objects.values_list("user", "process")) == [(journalist.pk, process.pk)]
    page = client.get(f"/procesos/{process.identifier}/").content.decode()
    assert "Dejar de seguir" in page

    listing = client.get("/cuentas/seguidos/")
    assert listing.status_code == 200 and process.identifier in listing.content.decode()

    for _twice in range(2):
        assert client.post(url, {"action": "unfollow", "next": "list"}).status_code == 302
    assert not Follow.objects.exists()
    assert process.identifier not in client.get("/cuentas/seguidos/").content.decode()


def test_following_needs_login_post_and_the_csrf_token():
    process = published_process()
    url = f"/procesos/{process.identifier}/seguir/"
    anonymous = Client()
    response = anonymous.post(url)
    assert response.status_code == 302 and "/cuentas/ingresar/" in response["Location"]
    assert (
        "Inicie sesión para seguir"
        in anonymous.get(f"/procesos/{process.identifier}/").content.decode()
    )

    checked = Client(enforce_csrf_checks=True)
    checked.force_login(UserFactory())
    assert checked.post(url).status_code == 403
    assert checked.get(url).status_code == 405
    assert not Follow.objects.exists()
    assert Client().get("/cuentas/seguidos/").status_code == 302


def test_unknown_or_draft_process_cannot_be_followed(client):
    version, staff = published_plan(
        year=timezone.localdate().year,
        items=[{"description": "Sillas", "catalog_item": "56101504", "estimated_value": 450000}],
    )
    draft = process_from_plan(staff, version, description="Sillas")
    client.force_login(UserFactory())
    assert client.post(f"/procesos/{draft.identifier}/seguir/").status_code == 404
    assert client.post("/procesos/LP-SM-9-2026-NADA-1/seguir/").status_code == 404
    assert not Follow.objects.exists()


def test_each_user_sees_and_removes_only_their_own_follows():
    process = published_process()
    rosa, luis = UserFactory(), UserFactory()
    follow_process(actor=rosa, process=process)
    unfollow_process(actor=luis, process=process)  # not his: nothing happens
    assert Follow.objects.filter(user=rosa).exists()
    client = Client()
    client.force_login(luis)
    assert process.identifier not in client.get("/cuentas/seguidos/").content.decode()
