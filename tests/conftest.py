import os

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation
from pytest_django.plugin import blocking_manager_key

from config.celery import app as celery_app
from core import visits
from tests.seeding import Seeded

# The real parts of integration tests (an SMTP server, Celery workers, a private Redis).
pytest_plugins = ["tests.real_parts"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database gets the shipped reference data once, as `make run` does."""
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)


def _empties_the_tables(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return (
        "transactional_db" in item.fixturenames
        or "live_server" in item.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test empties every table when it ends (after all its fixtures are
    gone): put the reference data back for the tests that follow."""
    result = yield
    # After the last test the session's fixtures are gone (the test database with them).
    if nextitem is not None and _empties_the_tables(item):
        with item.config.stash[blocking_manager_key].unblock():
            call_command("load_reference_data", verbosity=0)
    return result


@pytest.fixture(autouse=True)
def eager_tasks(request):
    """Unit tests run Celery tasks in-process; integration tests use a real worker."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language (Spanish): a test-client request with an
    English cookie leaves English active in the thread (LocaleMiddleware activates it and
    nothing deactivates it), which a later test reading a translated message or a formatted
    date directly would otherwise inherit, depending on the order xdist ran them in."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Uploaded files go to a per-test folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def anchors_in_tmp(settings, tmp_path):
    """Audit anchors go to a per-test folder, never to var/anchors (they would name another
    database's chain)."""
    settings.ANCHOR_DIR = tmp_path / "anchors"


@pytest.fixture(autouse=True)
def api_throttle_per_test():
    """The API's throttle counts requests in the cache: each test starts with none counted."""
    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def visit_counters_per_test_process():
    """`make test` runs the suite in parallel processes (pytest-xdist) that share one Redis:
    each counts page visits under keys of its own, so that one process's page views never
    land in another's exact counts (tests/core/test_visits.py)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield
        return
    shared = visits.KEY
    visits.KEY = f"portal:{worker}:visits:{{page}}"
    yield
    visits.KEY = shared


@pytest.fixture(autouse=True)
def seed_folders(request, media_in_tmp, anchors_in_tmp, settings):
    """A test of a module seeded once (tests/seeding.py) reads that seed's files and
    anchors."""
    if "seeded" in request.fixturenames:
        seeded = request.getfixturevalue("seeded")
        if isinstance(seeded, Seeded):
            settings.MEDIA_ROOT = seeded.media
            settings.ANCHOR_DIR = seeded.anchors


@pytest.fixture
def shared_cache(settings):
    """Production's shared cache (CACHE_URL: Redis, here the test broker's Redis under a key
    prefix of its own) and the session engine the settings choose for it."""
    import uuid

    from config import settings as portal_settings

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
            "KEY_PREFIX": f"portal-test-{uuid.uuid4().hex}",
        }
    }
    settings.SESSION_ENGINE = portal_settings._session_engine(settings.CACHES["default"])
    return settings.CACHES["default"]
