"""Visit counters of public pages that do not turn every visit into a write on one hot row:
with Redis configured (settings.VISITS_REDIS_URL, by default the Celery broker when it is
Redis) a visit is one atomic INCR there, and `persist_visits` (a Celery beat task) copies the
totals into the database now and then, so they survive a Redis that loses its data. Without
Redis (the embedded default) a visit is one atomic UPDATE of the page's counter row.

A counter that cannot be reached never breaks the page: the visit is not counted and the page
shows no figure."""

import logging
from functools import lru_cache

import redis
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from .models import VisitCounter

logger = logging.getLogger(__name__)

KEY = "portal:visits:{page}"
PAGES = ("procesos",)  # the counted pages, as they are named in keys and rows


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


# INCR of a counter that exists, nil when it does not: a visit is one round trip to Redis
# (EXISTS then INCR were two, on every search).
_INCREMENT_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
return false
"""


@lru_cache(maxsize=4)
def _increment_existing(url: str):
    return _client(url).register_script(_INCREMENT_EXISTING)


def _redis() -> redis.Redis | None:
    url = settings.VISITS_REDIS_URL
    return _client(url) if url else None


def record_visit(page: str) -> int | None:
    """Count one visit of `page`; its total visits, or None when the counter is unreachable."""
    url = settings.VISITS_REDIS_URL
    if not url:
        return _record_in_database(page)
    client, key = _client(url), KEY.format(page=page)
    try:
        if (total := _increment_existing(url)(keys=[key])) is not None:
            return total
        # A Redis that lost its data starts again from the last persisted total.
        stored = VisitCounter.objects.filter(page=page).values_list("count", flat=True)
        client.set(key, stored.first() or 0, nx=True)
        return client.incr(key)
    except redis.RedisError:
        logger.warning("Visit of %s not counted: Redis is unreachable", page, exc_info=True)
        return None


def _record_in_database(page: str) -> int:
    # One statement, atomic on its own: the row's new total (four statements were: BEGIN,
    # UPDATE, SELECT, COMMIT). RETURNING: PostgreSQL, SQLite >= 3.35.
    table, count, key = (connection.ops.quote_name(name) for name in (_TABLE, "count", "page"))
    increment = f"UPDATE {table} SET {count} = {count} + 1 WHERE {key} = %s RETURNING {count}"  # noqa: S608 - names quoted, the page bound
    with connection.cursor() as cursor:
        cursor.execute(increment, [page])
        if (row := cursor.fetchone()) is not None:
            return row[0]
    with transaction.atomic():
        try:
            with transaction.atomic():
                VisitCounter.objects.create(page=page, count=1)
                return 1
        except IntegrityError:  # created meanwhile by another request
            VisitCounter.objects.filter(page=page).update(count=F("count") + 1)
        return VisitCounter.objects.get(page=page).count


_TABLE = VisitCounter._meta.db_table


def persist_visits() -> dict[str, int]:
    """Copy the Redis totals into the database (never lowering a stored total)."""
    client = _redis()
    if client is None:
        return {}
    saved = {}
    for page in PAGES:
        value = client.get(KEY.format(page=page))
        if value is None:
            continue
        total = int(value)
        VisitCounter.objects.get_or_create(page=page)
        VisitCounter.objects.filter(page=page).update(count=Greatest(F("count"), total))
        saved[page] = total
    return saved
