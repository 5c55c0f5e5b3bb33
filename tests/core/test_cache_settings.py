"""CACHE_URL: Redis for production (shared by every process and machine), this process's
memory by default, and a clear error for anything else."""

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import settings as portal_settings


def test_cache_url_chooses_the_backend(monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)
    assert portal_settings._cache()["BACKEND"].endswith("LocMemCache")
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/3")
    assert portal_settings._cache() == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
    }
    monkeypatch.setenv("CACHE_URL", "memcached://127.0.0.1:11211")
    with pytest.raises(ImproperlyConfigured, match="memcached"):
        portal_settings._cache()


def test_a_redis_cache_is_shared_by_two_connections(settings):
    """What makes the API throttle and the overview's counts hold across processes: what one
    client writes, another (another process, another machine) reads and counts on."""
    from django.core.cache.backends.redis import RedisCache

    prefix = f"portal-test-{uuid.uuid4().hex}"
    one = RedisCache(settings.CELERY_BROKER_URL, {"KEY_PREFIX": prefix})
    other = RedisCache(settings.CELERY_BROKER_URL, {"KEY_PREFIX": prefix})
    one.set("shared", 41, 30)
    assert other.incr("shared") == 42
    assert one.get("shared") == 42
    one.delete("shared")


def test_sessions_are_read_through_the_cache_only_when_it_is_shared():
    """cached_db with Redis (every process reads the one copy a logout deletes); the
    database alone with the per-process memory cache, which would keep an ended session
    alive in the other processes."""
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}
    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal"}
    assert portal_settings._session_engine(redis) == "django.contrib.sessions.backends.cached_db"
    assert portal_settings._session_engine(local) == "django.contrib.sessions.backends.db"


@pytest.mark.django_db
def test_a_logout_in_one_process_ends_the_session_in_every_other(settings, shared_cache):
    """With the shared cache, a session another process has read (and so cached) is gone for
    it too once one process flushes it (a logout)."""
    from importlib import import_module

    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    store = import_module(settings.SESSION_ENGINE).SessionStore
    first = store()
    first["_auth_user_id"] = "7"
    first.create()
    key = first.session_key
    other_process = store(key)
    assert other_process["_auth_user_id"] == "7"  # read, and now cached
    store(key).flush()  # a logout, in a third process
    assert "_auth_user_id" not in store(key).load()
    assert not store(key).exists(key)
