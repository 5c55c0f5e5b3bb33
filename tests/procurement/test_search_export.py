"""The search's CSV export: the same rows as the page, sent while they are read (the header
at once, the rows through a plain server-side cursor in pieces), and a failure mid-stream
breaks the response instead of ending a partial file as if it were complete."""

import csv
import io
import logging

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from procurement import exports
from procurement.models import ProcurementProcess
from tests.procurement.searching import published
from tests.procurement.test_search_pages import _copies

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's server-side cursors"
)


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))


@pytest.fixture
def model():
    return published("Computadoras de escritorio")


def test_the_csv_has_the_rows_of_the_page_in_the_same_order(client, model):
    _copies(model, 30, estimated_value=lambda n: 1000 + (n * 37) % 500)
    for params in ({"sort": "-amount"}, {"sort": "date"}, {"max_value": "1200"}):
        page = [p.identifier for p in client.get("/procesos/", params).context["page"]]
        rows = _rows(client.get("/procesos/", {**params, "format": "csv"}))
        assert rows[0] == exports.PROCESSES.header
        assert [row[0] for row in rows[1:]][: len(page)] == page, params


@postgres_only
def test_the_header_leaves_before_any_process_is_read(client, model):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/procesos/", {"format": "csv"})
        stream = iter(response.streaming_content)
        first = next(stream).decode("utf-8-sig")
        read = [q["sql"] for q in queries if "procurement_procurementprocess" in q["sql"]]
        assert first.startswith("nomenclatura,") and read == []
        rest = b"".join(stream).decode()
    assert model.identifier in rest


@postgres_only
@pytest.mark.django_db(transaction=True)  # autocommit, as in production
def test_rows_stream_through_a_plain_cursor_in_pieces(client, model):
    """Not WITH HOLD (what PostgreSQL gets outside a transaction, which materialises the whole
    result first); memory holds one fetch of 2,000 rows and one piece of about 64 KB."""
    _copies(model, 2500)
    response = client.get("/procesos/", {"format": "csv"})
    stream = iter(response.streaming_content)
    next(stream)  # the header
    piece = next(stream)
    assert exports.CHUNK <= len(piece.decode()) < exports.CHUNK + 1000
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchall() == [(False,)]
    total = len(piece.splitlines()) + sum(len(p.splitlines()) for p in stream)
    assert total == ProcurementProcess.objects.published().count()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_failure_mid_stream_breaks_the_response(client, model, caplog):
    _copies(model, 2500)  # more than one fetch of 2,000 rows
    response = client.get("/procesos/", {"format": "csv"})
    assert response.status_code == 200 and not response.has_header("Content-Length")
    stream = iter(response.streaming_content)
    next(stream), next(stream)  # the header and a first piece have gone
    # the database fails under the export (as a killed query or a restart would)
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    with caplog.at_level(logging.ERROR, logger="procurement.exports"), pytest.raises(DatabaseError):
        for _piece in stream:
            pass
    assert "aborted after" in caplog.text
