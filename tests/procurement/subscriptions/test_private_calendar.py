"""The private calendar address (issue 13): /calendario/<token>.ics lists the deadlines and
openings of the processes its owner follows or takes part in, nobody else's; a wrong or
replaced token is a 404; the token is made and replaced by a POST from /cuentas/seguidos/."""

import hashlib
import re

import pytest
from django.test import Client

from notifications.models import CalendarToken
from procurement.subscriptions.follows import follow_process, regenerate_calendar_token
from tests.factories import UserFactory
from tests.procurement.bidding import called_tender

pytestmark = pytest.mark.django_db


def test_the_calendar_lists_followed_and_participated_processes_only():
    followed = called_tender(items=1)
    taken_part = called_tender(items=1)
    other = called_tender(items=1)
    supplier, user = taken_part.bidder()
    follow_process(actor=user, process=followed.process)
    token = regenerate_calendar_token(actor=user)
    assert len(token) >= 43  # 256 random bits

    response = Client().get(f"/calendario/{token}.ics")  # no login: the token is the key
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    body = response.content.decode()
    assert followed.process.identifier in body and taken_part.process.identifier in body
    assert other.process.identifier not in body
    assert f"UID:{followed.process.pk}-ofertas@" in body
    assert f"UID:{followed.process.pk}-apertura@" in body
    assert f"UID:{followed.process.pk}-convocatoria@" not in body  # not a deadline
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")


def test_a_wrong_or_replaced_token_is_a_404():
    user = UserFactory()
    old = regenerate_calendar_token(actor=user)
    new = regenerate_calendar_token(actor=user)
    assert old != new and CalendarToken.objects.filter(user=user).count() == 1
    # Only the SHA-256 is kept: a copy of the table opens no calendar.
    stored = CalendarToken.objects.get(user=user).token_sha256
    assert stored == hashlib.sha256(new.encode()).hexdigest() and new not in stored
    client = Client()
    assert client.get(f"/calendario/{new}.ics").status_code == 200
    assert client.get(f"/calendario/{old}.ics").status_code == 404
    assert client.get(f"/calendario/{'a' * 43}.ics").status_code == 404
    assert client.get(f"/calendario/{'a' * 5000}.ics").status_code == 404
    assert client.get(f"/calendario/{new[:-1]}.ics").status_code == 404
    assert client.get(f"/calendario/{new}x.ics").status_code == 404
    assert client.get(f"/calendario/{stored}.ics").status_code == 404  # the digest is no key
    assert client.get(f"/calendario/{new[:-1]}%C3%B1.ics").status_code == 404
    user.is_active = False
    user.save()
    assert client.get(f"/calendario/{new}.ics").status_code == 404


def test_the_address_is_shown_once_when_made_and_replaced_from_the_followed_page(client):
    user = UserFactory()
    client.force_login(user)
    page = client.get("/cuentas/seguidos/").content.decode()
    assert ".ics" not in page
    assert client.get("/cuentas/seguidos/calendario/").status_code == 405
    made = client.post("/cuentas/seguidos/calendario/")
    assert made.status_code == 200 and made["Cache-Control"] == "private, no-store"
    first = _shown_secret(made.content.decode())
    assert "Cópiela ahora" in made.content.decode()
    assert CalendarToken.objects.get(user=user).token_sha256 != first
    assert Client().get(f"/calendario/{first}.ics").status_code == 200
    later = client.get("/cuentas/seguidos/").content.decode()
    assert first not in later and ".ics" not in later  # never shown again
    assert "Tiene una dirección de calendario" in later
    second = _shown_secret(client.post("/cuentas/seguidos/calendario/").content.decode())
    assert second != first
    assert Client().get(f"/calendario/{first}.ics").status_code == 404
    assert Client().post("/cuentas/seguidos/calendario/").status_code == 302  # to the login
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(user)
    assert checked.post("/cuentas/seguidos/calendario/").status_code == 403
    assert Client().get(f"/calendario/{second}.ics").status_code == 200


def _shown_secret(page: str) -> str:
    found = re.findall(r"/calendario/([A-Za-z0-9_-]+)\.ics", page)
    assert len(set(found)) == 1, found
    return found[0]
