"""The search page's keyset (cursor) pagination: stable while processes are published, in
every sort; a capped count; bad cursors are form errors."""

import re
from datetime import timedelta
from decimal import Decimal as D
from html import unescape

import pytest
from django.utils import timezone

from core import keyset
from procurement.models import ProcurementProcess
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db


def _copies(model: ProcurementProcess, count: int, *, start: int = 100, **fields):
    """`count` published copies of a process (numbered from `start`), one minute apart, the
    newest last, not searchable by words; `fields` are callables of the copy's number."""
    base = {
        f.attname: getattr(model, f.attname)
        for f in ProcurementProcess._meta.concrete_fields
        if f.attname
        not in ("id", "identifier", "sequence", "published_at", "search_vector", "search_text")
    }
    moment = timezone.now() - timedelta(days=1)
    return ProcurementProcess.objects.bulk_create(
        ProcurementProcess(
            **base
            | {
                "sequence": n,
                "identifier": f"LP-SM-{n}-2026-{model.entity.acronym}-1",
                "published_at": moment + timedelta(minutes=n),
            }
            | {name: value(n) for name, value in fields.items()}
        )
        for n in range(start, start + count)
    )


@pytest.fixture
def model():
    return published("Computadoras de escritorio")


def _next(response) -> str | None:
    found = re.search(r'<a rel="next" href="\?([^"]*)"', response.content.decode())
    return unescape(found.group(1)) if found else None


def _prev(response) -> str | None:
    found = re.search(r'<a rel="prev" href="\?([^"]*)"', response.content.decode())
    return unescape(found.group(1)) if found else None


def _walk(client, query: str, *, between=None) -> list[list[int]]:
    """Every page's process ids, following the "Next" links from `query`; `between(n)` runs
    after page n is read."""
    pages, response = [], client.get(f"/procesos/?{query}")
    while True:
        assert response.status_code == 200
        pages.append([p.pk for p in response.context["page"]])
        if between:
            between(len(pages))
        link = _next(response)
        if not link:
            return pages
        response = client.get(f"/procesos/?{link}")


def test_pages_stay_stable_while_processes_are_published(client, model):
    ProcurementProcess.objects.exclude(pk=model.pk).delete()
    _copies(model, 59)  # 60 with the model: 25 + 25 + 10
    before = list(ProcurementProcess.objects.order_by("-published_at", "-id"))
    pages, response = [], client.get("/procesos/")
    while True:
        pages.append([p.pk for p in response.context["page"]])
        if len(pages) == 1:
            # published while page 1 is read: newer ones, and one tied in time with the last
            # row shown (a larger id, so it sorts before that row)
            soon = timezone.now() + timedelta(days=2)
            _copies(
                model, 3, start=500, published_at=lambda n, soon=soon: soon + timedelta(minutes=n)
            )
            tie = ProcurementProcess.objects.get(pk=pages[0][-1])
            _copies(model, 1, start=600, published_at=lambda n, tie=tie: tie.published_at)
        link = _next(response)
        if not link:
            break
        response = client.get(f"/procesos/?{link}")
    flat = [pk for page in pages for pk in page]
    assert [len(page) for page in pages] == [25, 25, 10]
    assert flat == [p.pk for p in before]  # nothing repeated, nothing skipped, in order
    # back from the last page: the 25 rows just before its first row, with a way forward
    back = client.get(f"/procesos/?{_prev(response)}")
    now = [p.pk for p in ProcurementProcess.objects.order_by("-published_at", "-id")]
    start = now.index(pages[2][0])
    assert [p.pk for p in back.context["page"]] == now[start - 25 : start]
    assert _next(back) and _prev(back)


@pytest.mark.parametrize("sort", ["-amount", "amount", "date"])
def test_every_sort_pages_through_everything_once(client, model, sort):
    ProcurementProcess.objects.exclude(pk=model.pk).delete()
    # amounts with ties, so the id must break them
    _copies(model, 54, estimated_value=lambda n: D(1000 * (n % 7) + 1))
    pages = _walk(client, f"sort={sort}")
    flat = [pk for page in pages for pk in page]
    assert len(flat) == len(set(flat)) == 55
    rows = ProcurementProcess.objects.in_bulk(flat)
    field = "published_at" if "date" in sort else "estimated_value"
    keys = [(getattr(rows[pk], field), pk) for pk in flat]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_the_count_is_capped_never_a_full_count(client, model):
    _copies(model, keyset.COUNT_CAP + 1)
    response = client.get("/procesos/")
    assert response.context["page"].count == keyset.COUNT_CAP + 1
    assert "10" in response.content.decode() and response.context["page"].count_is_capped
    text = response.content.decode()
    assert "Más de 10" in text or "More than 10" in text
    few = client.get("/procesos/", {"q": "computadoras"})
    assert few.context["page"].count == 1 and not few.context["page"].count_is_capped


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "W10",
        "WyItZGF0ZSIsICJ4IiwgMSwgIm5leHQiXQ",
        "WyItYW1vdW50IiwgIjEiLCAxLCAibmV4dCJd",
    ],
)
def test_a_bad_cursor_is_a_form_error(client, model, cursor):
    # not base64 JSON; an empty list; a date that is not one; a cursor of another sort
    response = client.get("/procesos/", {"cursor": cursor})
    assert response.status_code == 400
    assert response.context["filter"].form.non_field_errors()


def test_the_page_costs_the_same_queries_whatever_its_length(client, model):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/procesos/", params).status_code == 200
        return len(captured)

    ProcurementProcess.objects.exclude(pk=model.pk).delete()
    _copies(model, 2)
    queries({"sort": "-amount"})  # the first writes the form's options (read once per process)
    few = queries({"sort": "-amount"})
    _copies(model, 40, start=300)
    assert queries({"sort": "-amount"}) == few


def _pages(queryset, order, *, one_pass: bool) -> list[tuple]:
    """Every page of `queryset` forward from the first, then back from the last by the
    "previous" cursors: each as (count, ids, has next, has previous)."""
    pages, cursor, last = [], None, None
    while True:
        page = keyset.page(queryset, order, cursor, size=10, one_pass=one_pass)
        pages.append((page.count, [p.pk for p in page], bool(page.next_cursor), page.first))
        last = page
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    while last.previous_cursor:
        last = keyset.page(queryset, order, last.previous_cursor, size=10, one_pass=one_pass)
        pages.append((last.count, [p.pk for p in last], bool(last.previous_cursor), last.first))
    return pages


@pytest.mark.parametrize("cap", [keyset.COUNT_CAP, 30])
@pytest.mark.parametrize("sort", ["-date", "date", "-amount", "amount"])
def test_one_pass_pages_are_the_keyset_pages(model, sort, cap, monkeypatch):
    """The search's one pass (core.keyset.page: the capped count writes down the page's ids
    when it counted every match) gives the pages the keyset query gives, forward and back,
    ties in the date or the amount broken by the id; above the cap (30 here) too."""
    from procurement.filters import ProcessFilter
    from procurement.queries import public_processes

    monkeypatch.setattr(keyset, "COUNT_CAP", cap)
    ProcurementProcess.objects.exclude(pk=model.pk).delete()
    moment = timezone.now() - timedelta(days=1)
    _copies(
        model,
        54,
        estimated_value=lambda n: D(1000 * (n % 7) + 1),
        published_at=lambda n: moment + timedelta(minutes=n // 3),
    )
    search = ProcessFilter({"sort": sort}, queryset=public_processes())
    assert search.is_valid()
    two = _pages(search.qs, search.order, one_pass=False)
    one = _pages(search.qs, search.order, one_pass=True)
    assert one == two
    assert sum(len(ids) for _, ids, *_ in two[:6]) == 55  # forward: every process once
    assert {count for count, *_ in two} == {55 if cap > 55 else cap + 1}


def test_a_search_counted_whole_reads_its_page_by_id(client, model):
    """At most COUNT_CAP matches: one statement counts them and picks the page's ids, and the
    page's rows are read by id (never every match read again and sorted, nor the date index
    walked past the processes that do not match: bench/search.py at 1,000,000)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("the one pass is PostgreSQL's")
    _copies(model, 30)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/procesos/", {"sort": "amount"})
    assert response.context["page"].count == 31
    processes = [q["sql"] for q in captured if 'FROM "procurement_procurementprocess"' in q["sql"]]
    assert len(processes) == 2, processes
    assert not any(sql.startswith("SELECT COUNT(*)") for sql in processes)
    assert '"procurement_procurementprocess"."id" IN (' in processes[1]
    assert [p.pk for p in response.context["page"]] == [
        p.pk for p in ProcurementProcess.objects.order_by("estimated_value", "pk")[:25]
    ]
    # The count is read serially: parallel workers started for at most 10,001 rows made its
    # p95 four times its median at 1,000,000 processes.
    statements = [q["sql"] for q in captured]
    counted = statements.index(processes[0])
    assert statements[counted - 1] == "SET LOCAL max_parallel_workers_per_gather = 0"
