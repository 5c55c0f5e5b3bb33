"""The search page's visit counter (core.visits): exact under concurrent requests, in Redis
(persisted to the database by a beat task) or, without Redis, in one database row; a counter
that cannot be reached never breaks the page."""

import re
import threading

import pytest
import redis
from django.db import connection
from django.test import Client

from core import visits
from core.models import VisitCounter
from core.tasks import persist_visits

THREADS, REQUESTS = 6, 5
VISITS = re.compile(r'<p class="visits" data-visits="(\d+)">')


def _concurrent_visits() -> list[int]:
    """Every figure the search page showed to THREADS clients making REQUESTS visits each,
    all at once."""
    shown, errors = [], []
    start = threading.Barrier(THREADS)

    def visit():
        client = Client()
        try:
            start.wait(timeout=30)
            for _ in range(REQUESTS):
                response = client.get("/procesos/")
                assert response.status_code == 200
                # from the page (the test client's captured contexts mix across threads)
                shown.append(int(VISITS.search(response.content.decode()).group(1)))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=visit) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return shown


@pytest.fixture
def redis_counter(settings):
    if not settings.VISITS_REDIS_URL:
        pytest.skip("no Redis configured (CELERY_BROKER_URL or VISITS_REDIS_URL)")
    client = redis.Redis.from_url(settings.VISITS_REDIS_URL)
    key = visits.KEY.format(page="procesos")
    client.delete(key)
    yield client, key
    client.delete(key)


@pytest.mark.django_db(transaction=True)
def test_concurrent_visits_are_each_counted_once_in_redis(redis_counter):
    client, key = redis_counter
    shown = _concurrent_visits()
    total = THREADS * REQUESTS
    assert sorted(shown) == list(range(1, total + 1))  # every visit saw its own number
    assert not VisitCounter.objects.exists()  # no database write per visit
    assert persist_visits() == {"procesos": total}
    assert VisitCounter.objects.get(page="procesos").count == total
    # a Redis that lost its data goes on from the persisted total
    client.delete(key)
    assert Client().get("/procesos/").context["visits"] == total + 1


@pytest.mark.django_db(transaction=True)
def test_without_redis_concurrent_visits_are_counted_in_one_row(settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises every writer anyway")
    settings.VISITS_REDIS_URL = ""
    shown = _concurrent_visits()
    total = THREADS * REQUESTS
    assert sorted(shown) == list(range(1, total + 1))
    assert VisitCounter.objects.get(page="procesos").count == total


@pytest.mark.django_db
def test_an_unreachable_counter_leaves_the_page_working(client, settings):
    settings.VISITS_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/procesos/")
    assert response.status_code == 200
    assert response.context["visits"] is None
    assert 'class="visits"' not in response.content.decode()


@pytest.mark.django_db
def test_the_page_shows_its_visits(client, redis_counter):
    client.get("/procesos/")
    html = client.get("/procesos/").content.decode()
    assert "2 visitas" in html or "2 visits" in html
