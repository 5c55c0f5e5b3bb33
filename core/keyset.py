"""Keyset (cursor) pagination for long public lists: a page starts after the last row of the
page before (its sort value and id), so the last page costs what the first does, and rows
inserted meanwhile neither repeat nor push rows out of the page being read. The total is
counted only up to a cap ("más de 10 000"), never with a COUNT(*) over millions of rows."""

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet

COUNT_CAP = 10_000


class BadCursor(ValueError):
    """A cursor that this list did not write (edited, truncated, or from another sort)."""


@dataclass(frozen=True)
class Order:
    """A sort of a list: one column (never null), then the id as the tie-break."""

    name: str  # as in the URL: "-date"
    field: str  # the model field: "published_at"
    descending: bool
    parse: Callable[[str], Any]  # the cursor's text back to a value of the field


def parse_moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a cursor's moment carries its offset")
    return moment


def parse_amount(text: str) -> Decimal:
    amount = Decimal(text)
    if not amount.is_finite() or abs(amount) >= Decimal("1e14"):
        raise ValueError("out of range")
    return amount


@dataclass
class KeysetPage:
    object_list: list
    count: int  # at most COUNT_CAP + 1
    next_cursor: str | None = None
    previous_cursor: str | None = None
    first: bool = True  # no cursor: the first page

    @property
    def count_is_capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def count_cap(self) -> int:
        return COUNT_CAP

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def _text(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def encode(order: Order, row, direction: str) -> str:
    data = [order.name, _text(getattr(row, order.field)), row.pk, direction]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode(order: Order, token: str) -> tuple[Any, int, str]:
    """(sort value, id, "next" | "prev") of a cursor written for `order`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        name, text, pk, direction = json.loads(raw)
        if name != order.name or direction not in ("next", "prev"):
            raise BadCursor(token)
        if not isinstance(pk, int) or not 0 < pk < 2**63 or not isinstance(text, str):
            raise BadCursor(token)
        return order.parse(text), pk, direction
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, InvalidOperation) as error:
        raise BadCursor(token) from error


def page(
    queryset: QuerySet,
    order: Order,
    cursor: str | None = None,
    *,
    size: int = 25,
    one_pass: bool = False,
) -> KeysetPage:
    """One page of `queryset` in `order`, after (or, going back, before) the cursor's row.
    Raises BadCursor for a cursor this list did not write.

    `one_pass` (PostgreSQL; elsewhere ignored): the capped count also writes down, when it
    counted every match (COUNT_CAP or fewer), the ids of the page (_counted_ids), and the
    page reads those rows by id. A filter that matches a few thousand rows spread over the
    years (a winning supplier, rare words) otherwise costs the page a second pass: either
    every match read again and sorted, or the sort's index walked past hundreds of thousands
    of rows that are not matches before it finds the page's (bench/search.py at 1,000,000
    processes). Above the cap the matches are many, the index walk finds them soon, and the
    page is read as before."""
    forward, descending, value, pk = True, order.descending, None, None
    if cursor:
        value, pk, direction = decode(order, cursor)
        forward = direction == "next"
        descending = order.descending if forward else not order.descending
    count, ids = None, None
    if one_pass and connection.vendor == "postgresql":
        count, ids = _counted_ids(queryset, order, descending, value, pk, size + 1)
    if count is None:
        count = queryset.order_by().values("pk")[: COUNT_CAP + 1].count()
    rows = queryset
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    elif cursor:
        op = "lt" if descending else "gt"
        # The first condition lets the index start at the cursor; the second breaks ties.
        rows = rows.filter(**{f"{order.field}__{op}e": value}).filter(
            Q(**{f"{order.field}__{op}": value}) | Q(**{f"pk__{op}": pk})
        )
    sign = "-" if descending else ""
    fetched = list(rows.order_by(f"{sign}{order.field}", f"{sign}pk")[: size + 1])
    more, fetched = len(fetched) > size, fetched[:size]
    if not forward:
        fetched.reverse()
    has_next = more if forward else True
    has_previous = bool(cursor) if forward else more
    return KeysetPage(
        object_list=fetched,
        count=count,
        next_cursor=encode(order, fetched[-1], "next") if has_next and fetched else None,
        previous_cursor=encode(order, fetched[0], "prev") if has_previous and fetched else None,
        first=not cursor,
    )


def _counted_ids(
    queryset: QuerySet, order: Order, descending: bool, value, pk, limit: int
) -> tuple[int, list[int] | None]:
    """The capped count of `queryset` and, when it is every match (COUNT_CAP or fewer), the
    ids of its first `limit` rows in the order (after the cursor's value and id, when given):
    one statement, one pass over the matches (PostgreSQL). None for the ids above the cap."""
    inner, params = (
        queryset.order_by().values_list("pk", order.field)[: COUNT_CAP + 1].query.sql_with_params()
    )
    direction = "DESC" if descending else "ASC"
    after, after_params = "TRUE", []
    if pk is not None:
        op = "<" if descending else ">"
        after, after_params = (
            f"s.value {op} %s OR (s.value = %s AND s.id {op} %s)",
            [value, value, pk],
        )
    # The matches (at most COUNT_CAP + 1) kept once; the page's ids are their first `limit`
    # in the order (a top-N sort of the kept rows, never a sort of them all), picked only
    # when every match was counted. A SELECT (a WITH inside): what reads the statements
    # (bench/search.py) sees one.
    sql = (
        f"SELECT * FROM (WITH s (id, value) AS MATERIALIZED ({inner})"  # noqa: S608 - the ORM's SQL, values bound
        " SELECT n.count, CASE WHEN n.count <= %s THEN"
        f" ARRAY(SELECT s.id FROM s WHERE {after}"
        f" ORDER BY s.value {direction}, s.id {direction} LIMIT %s) END"
        " FROM (SELECT count(*) FROM s) AS n) AS counted"
    )
    with transaction.atomic(savepoint=False), connection.cursor() as db:
        # Read serially: the count stops at COUNT_CAP + 1 rows, and starting parallel workers
        # for it made its p95 four times its median (words + status + department at
        # 1,000,000 processes: 126 ms against 34 ms serially, its median unchanged).
        db.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        db.execute(sql, [*params, COUNT_CAP, *after_params, limit])
        count, ids = db.fetchone()
    return count, (ids if count <= COUNT_CAP else None)


def _offset_cursor(name: str, offset: int) -> str:
    data = [name, offset]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def window_page(
    queryset: QuerySet,
    name: str,
    cursor: str | None = None,
    *,
    window: int,
    size: int = 25,
    counted: QuerySet | None = None,
) -> KeysetPage:
    """One page of an ordered list bounded to `window` rows (e.g. a ranking computed over the
    newest matches only), paged by offset: with the window bounded, the last page costs what
    the first does. The cursor holds the list's name and the offset. The count is of
    `counted` (all the matches, of which the window orders some; capped as `page`'s), or of
    `queryset`. Raises BadCursor for a cursor this list did not write."""
    offset = 0
    if cursor:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            written, offset = json.loads(raw)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
            raise BadCursor(cursor) from error
        if written != name or not isinstance(offset, int) or not 0 <= offset < window:
            raise BadCursor(cursor)
    fetched = list(queryset[offset : min(offset + size + 1, window)])
    more, fetched = len(fetched) > size, fetched[:size]
    count = (queryset if counted is None else counted).order_by().values("pk")[: COUNT_CAP + 1]
    return KeysetPage(
        object_list=fetched,
        count=count.count(),
        next_cursor=_offset_cursor(name, offset + size) if more else None,
        previous_cursor=_offset_cursor(name, max(offset - size, 0)) if offset else None,
        first=not cursor,
    )
