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
