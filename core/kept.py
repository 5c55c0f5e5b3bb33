"""Figures counted over many rows (a statistics table, a commodity's price history), kept in
the cache for KEPT_SECONDS under a key that names what was asked: the same parameters in any
order give one key, different ones never share it."""

import hashlib
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from django.core.cache import cache

KEPT_SECONDS = 600  # how old a kept figure may be; the pages say when it was counted


def key(*parts: str, params: Iterable[tuple[str, str]]) -> str:
    """`parts` joined by ':' and a digest of `params` (name, value pairs, sorted here)."""
    digest = hashlib.sha256(urlencode(sorted(params)).encode()).hexdigest()[:32]
    return ":".join((*parts, digest))


def kept(cache_key: str, count: Callable):
    """What is kept under `cache_key`, or `count()` kept now for KEPT_SECONDS."""
    value = cache.get(cache_key)
    if value is None:
        value = count()
        cache.set(cache_key, value, KEPT_SECONDS)
    return value
