"""/datos/: the yearly bulk files (gzip CSV with the search's columns, gzip OCDS JSON lines),
listed with size, rows and SHA-256 and served as they were written; the page says how to make
them before the first build; the dictionary explains every CSV column."""

import csv
import fcntl
import gzip
import hashlib
import io
import json
import os
import threading
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from procurement import exports, open_data, tasks
from procurement.ocds import export as ocds_export
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def folder(settings, tmp_path):
    settings.OPEN_DATA_DIR = tmp_path / "datos"
    return settings.OPEN_DATA_DIR


def test_before_any_build_the_page_says_how_to_make_the_files(client):
    response = client.get("/datos/")
    assert response.status_code == 200
    assert b"build_open_data" in response.content
    assert b"CC BY 4.0" in response.content
    assert b'id="politica"' in response.content
    assert client.get("/datos/procesos-2026.csv.gz").status_code == 404


def test_the_command_writes_each_year_and_the_page_lists_them(client, folder):
    first = published("Computadoras portátiles", value=D("451200.50"))
    second = published("Servicio de limpieza")
    out = io.StringIO()
    call_command("build_open_data", stdout=out)
    assert "procesos-2026.csv.gz: 2 rows" in out.getvalue()

    body = (folder / "procesos-2026.csv.gz").read_bytes()
    rows = list(csv.reader(io.StringIO(gzip.decompress(body).decode("utf-8"))))
    assert rows[0] == exports.PROCESSES.header
    assert sorted(row[0] for row in rows[1:]) == sorted([first.identifier, second.identifier])
    assert {row[6] for row in rows[1:]} == {"451200.50", "450000.00"}

    lines = gzip.decompress((folder / "ocds-2026.jsonl.gz").read_bytes()).decode().splitlines()
    releases = [json.loads(line) for line in lines]
    assert {r["ocid"].split("-", 2)[2] for r in releases} == {first.identifier, second.identifier}

    page = client.get("/datos/")
    listed = {f.name: f for f in page.context["files"]}
    assert set(listed) == {"procesos-2026.csv.gz", "ocds-2026.jsonl.gz"}
    assert listed["procesos-2026.csv.gz"].rows == 2
    assert listed["ocds-2026.jsonl.gz"].rows == len(releases)
    assert listed["procesos-2026.csv.gz"].sha256 == hashlib.sha256(body).hexdigest()
    assert listed["procesos-2026.csv.gz"].size == len(body)
    assert hashlib.sha256(body).hexdigest().encode() in page.content

    response = client.get("/datos/procesos-2026.csv.gz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == body
    assert response["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()


def test_only_listed_files_are_served(client, folder):
    published("Computadoras")
    tasks.build_open_data()
    (folder / "secret.txt").write_text("no")
    for name in ("secret.txt", "index.json", "..%2Fdb.sqlite3", "procesos-1999.csv.gz"):
        assert client.get(f"/datos/{name}").status_code == 404, name


def test_if_missing_builds_once(folder):
    published("Computadoras")
    call_command("build_open_data", "--if-missing", stdout=io.StringIO())
    written = (folder / "index.json").stat().st_mtime_ns
    out = io.StringIO()
    call_command("build_open_data", "--if-missing", stdout=out)
    assert "nothing to do" in out.getvalue()
    assert (folder / "index.json").stat().st_mtime_ns == written


def test_the_beat_task_is_scheduled(settings):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "procurement.tasks.build_open_data" in schedule


def test_a_bad_year_is_refused():
    with pytest.raises(CommandError):
        call_command("build_open_data", "--year", "99999")


def test_the_dictionary_explains_every_column_of_the_csv(client):
    response = client.get("/datos/diccionario/")
    assert response.status_code == 200
    for column in exports.PROCESSES.columns:
        assert column.description, column.header
        assert f'id="{column.header}"'.encode() in response.content
        assert str(column.description).encode() in response.content


def test_ocds_packages_point_to_the_open_data_page(settings):
    from procurement.ocds.packages import package_metadata

    assert package_metadata("x")["publicationPolicy"] == f"{settings.SITE_URL}/datos/"


def _served(folder) -> dict:
    """Each listed file's size and SHA-256 as served, and as the manifest says."""
    served = {}
    for listed in open_data.manifest():
        body = (folder / listed.name).read_bytes()
        served[listed.name] = ((len(body), hashlib.sha256(body).hexdigest()), listed)
    return served


def test_the_same_content_gives_the_same_bytes_every_day(folder):
    """No file name and no time in the gzip header: a rebuild of unchanged data gives the
    same files, with the same SHA-256 (a mirror downloads nothing new)."""
    published("Computadoras")
    call_command("build_open_data", stdout=io.StringIO())
    first = {name: (folder / name).read_bytes() for name in _served(folder)}
    assert set(first) == {"procesos-2026.csv.gz", "ocds-2026.jsonl.gz"}
    for body in first.values():
        assert body[:3] == b"\x1f\x8b\x08"
        assert body[3] & 0x08 == 0  # FNAME: no file name
        assert body[4:8] == bytes(4)  # MTIME: none
    call_command("build_open_data", stdout=io.StringIO())
    assert {name: (folder / name).read_bytes() for name in first} == first
    for size_and_hash, listed in _served(folder).values():
        assert size_and_hash == (listed.size, listed.sha256)


@pytest.mark.django_db(transaction=True)  # the second build reads what is committed
def test_a_build_started_while_another_writes_the_files_does_nothing(folder, monkeypatch):
    """Two builds at once (the beat task and a manual run): the second writes nothing, and
    the first lists the size and SHA-256 of the very files it published."""
    published("Computadoras")
    published("Servicio de limpieza")
    second = []

    def second_build():
        try:
            second.append(open_data.build())
        finally:
            connections.close_all()

    real = ocds_export.jsonl

    def jsonl_while_a_second_build_starts(**options):
        pieces = real(**options)
        yield next(pieces)
        thread = threading.Thread(target=second_build)
        thread.start()
        thread.join()
        yield from pieces

    monkeypatch.setattr(ocds_export, "jsonl", jsonl_while_a_second_build_starts)
    files = open_data.build()
    assert second == [None]
    assert {f.name for f in files} == {"procesos-2026.csv.gz", "ocds-2026.jsonl.gz"}
    served = _served(folder)
    assert set(served) == {f.name for f in files}
    for size_and_hash, listed in served.values():
        assert size_and_hash == (listed.size, listed.sha256)
    assert sorted(os.listdir(folder)) == sorted([*served, "index.json", open_data.LOCK])


def test_the_command_says_so_when_another_build_is_writing(folder):
    published("Computadoras")
    folder.mkdir(parents=True)
    with open(folder / open_data.LOCK, "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        out = io.StringIO()
        call_command("build_open_data", stdout=out)
        assert tasks.build_open_data() is None
    assert "Another build" in out.getvalue()
    assert os.listdir(folder) == [open_data.LOCK]
    assert tasks.build_open_data() == 2
