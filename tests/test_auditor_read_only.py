"""Auditors read everything and change nothing but their notes (issue 15): every POST URL of
the portal (the URL walk's list, tests/test_url_walk.py) refuses an auditor (403 or 405) and
writes nothing, except settings.AUDITOR_MAY_POST (the notes, a chain verification request,
their own account's pages); an
auditor never reads a sealed bid; suppliers, staff and anonymous visitors never reach the
workspace, except the public anchor."""

import logging

import pytest
from django.test import Client

from accounts.middleware import auditor_may_write
from core import clock
from procurement.models import AuditorNote
from tests.test_hostile_forms import _bid_in_force, _bid_moment, _counts
from tests.test_url_walk import all_patterns, build_path, params_of, sample
from tests.world import build_world

pytestmark = [pytest.mark.django_db, pytest.mark.urlwalk]


@pytest.fixture(autouse=True)
def quiet_request_log():
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def test_every_other_post_refuses_an_auditor_and_writes_nothing():
    world = build_world()
    client = Client(raise_request_exception=False)
    client.force_login(world.auditor)
    problems, walked = [], 0
    for pattern in all_patterns():
        if auditor_may_write(pattern.name) or sample(pattern, world) is None:
            continue
        url = build_path(pattern.route, params_of(pattern, world))
        before = _counts()  # after the sample, which may create what its URL needs
        response = client.post(url, {})
        walked += 1
        if response.status_code not in (403, 405):
            problems.append(f"POST {url} -> {response.status_code}")
        if _counts() != before:
            changed = {k: v for k, v in _counts().items() if before[k] != v}
            problems.append(f"POST {url} wrote {changed}")
    assert walked > 50
    assert not problems, "\n".join(problems)


def test_the_notes_are_the_auditors_write():
    world = build_world()
    client = Client()
    client.force_login(world.auditor)
    url = f"/auditoria/notas/{world.process.identifier}/"
    assert client.post(url, {"text": "Revisar la experiencia exigida."}).status_code == 302
    assert AuditorNote.objects.filter(process=world.process, author=world.auditor).count() == 1


SECRET_PRICES = ("1250.50", "1,250.50", "1 250,50", "1250,50", "1.250,50", "1250.5")


def test_an_auditor_never_reads_a_sealed_bid():
    """Every page the walk knows, as an auditor, while a bid is sealed (before the opening):
    no page shows its price, and the staff's bid list and the bid pages refuse."""
    world = build_world()
    with clock.pinned(_bid_moment(world)):
        _bid_in_force(world)
        client = Client(raise_request_exception=False)
        client.force_login(world.auditor)
        leaks = []
        for pattern in all_patterns():
            if pattern.route.startswith("admin/") or sample(pattern, world) is None:
                continue
            url = build_path(pattern.route, params_of(pattern, world))
            response = client.get(url)
            body = (
                b"".join(response.streaming_content) if response.streaming else response.content
            ).decode("utf-8", "replace")
            leaks += [f"{url} shows {price}" for price in SECRET_PRICES if price in body]
        assert not leaks, "\n".join(leaks)
        process = world.process
        assert client.get(f"/gestion/procesos/{process.pk}/ofertas/").status_code in (403, 404)
        assert client.get(f"/procesos/{process.identifier}/oferta/").status_code in (403, 404)


@pytest.mark.parametrize(
    "url",
    [
        "/auditoria/",
        "/auditoria/atascados/",
        "/auditoria/registro/",
        "/auditoria/registro/procurement.procurementprocess/1/",
        "NOTES",
    ],
)
def test_suppliers_staff_and_anonymous_cannot_reach_the_workspace(url):
    world = build_world()
    if url == "NOTES":
        url = f"/auditoria/notas/{world.process.identifier}/"
    anonymous = Client()
    assert anonymous.get(url).status_code == 302
    assert anonymous.post(url, {"text": "x"}).status_code == 302
    for user in (world.supplier_user, world.staff, world.stranger):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == 403, (url, user)
        assert client.post(url, {"text": "x"}).status_code in (403, 405), (url, user)
    assert not AuditorNote.objects.exists()
    assert Client().get("/auditoria/ancla/").status_code == 200  # public
