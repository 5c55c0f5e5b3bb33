"""The one clock every deadline is checked against.

A deadline is judged by the moment the decision is taken, read from the database server
(`clock_timestamp()` on PostgreSQL, which keeps running inside a transaction, unlike `now()`:
a request that waited on a lock is judged by when it is decided), never by the client's
clock or the application server's. Tests pin it with `pinned()`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time

from django.db import connection
from django.db.models import DateTimeField, Func
from django.utils import timezone

_pinned: ContextVar[datetime | None] = ContextVar("clock_pinned", default=None)


def now() -> datetime:
    """The current instant (aware), as the database server reads it at this moment."""
    moment = _pinned.get()
    if moment is not None:
        return moment
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def now_expression():
    """The database server's clock as an expression of a query that is read anyway (the
    same clock_timestamp() now() reads, evaluated as that query runs): one round trip fewer
    where a decision reads a row and the moment together. None when the clock is pinned or
    the database is not PostgreSQL: then ask now()."""
    if _pinned.get() is not None or connection.vendor != "postgresql":
        return None
    return Func(function="clock_timestamp", output_field=DateTimeField())


def wall_now() -> datetime:
    """This application server's clock (a pinned clock still moves it), for no deadline: a
    window of minutes measured from a moment this portal itself recorded with this same
    function (the re-authentication, accounts.reauth), where servers kept in time by NTP
    agree to the millisecond and a database round trip per request buys nothing."""
    moment = _pinned.get()
    return moment if moment is not None else timezone.now()


def today() -> date:
    """The current day in the portal's time zone (America/Lima)."""
    return timezone.localdate(now())


def local(day: date, at: time = time(12, 0)) -> datetime:
    """The instant `day` at `at` in the portal's time zone."""
    return timezone.make_aware(datetime.combine(day, at))


@contextmanager
def pinned(moment: datetime | date) -> Iterator[datetime]:
    """Within the block, the clock reads `moment` (a day means noon of that day in Lima)."""
    if not isinstance(moment, datetime):
        moment = local(moment)
    elif timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    token = _pinned.set(moment)
    try:
        yield moment
    finally:
        _pinned.reset(token)
