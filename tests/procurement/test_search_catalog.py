"""The catalog prefix filter of the process search reads each process's stored catalog codes
(ProcurementProcess.catalog_codes), which search.refresh writes with its words wherever its
items are written: process creation, a new call, the OCDS import (test_import_ocds), the seed
(test_seed_processes) and the migration's backfill."""

import importlib
from decimal import Decimal as D

import pytest
from django.db import connection, transaction

from procurement import search
from procurement.models import ProcessItem, ProcurementProcess
from procurement.services import processes
from tests.factories import process_from_plan, published_plan
from tests.procurement.searching import published
from tests.procurement.test_call_again import _deserted

pytestmark = pytest.mark.django_db

ENGINES = [search.TSVECTOR, search.FOLDED]
VALUE = {"estimated_value": D("450000")}  # each: a Licitación Pública


def _mixed(description="Equipos y útiles"):
    """A draft process with three items under two codes (one code twice)."""
    version, staff = published_plan(
        items=[
            {"description": "Laptop", "catalog_item": "43211503", **VALUE},
            {"description": "Otra laptop", "catalog_item": "43211503", **VALUE},
            {"description": "Bolígrafos", "catalog_item": "44121701", **VALUE},
        ]
    )
    return process_from_plan(staff, version, description=description), staff


def test_creating_a_process_stores_its_items_codes_distinct_and_sorted():
    process, _staff = _mixed()
    process.refresh_from_db()
    assert process.catalog_codes == " 43211503 44121701 "
    assert search.catalog_codes([]) == ""


def test_a_new_call_stores_the_codes_of_the_items_it_calls_again():
    tender = _deserted()
    old = tender.process
    old.refresh_from_db()
    new = processes.call_again(tender.staff, old)
    new.refresh_from_db()
    assert new.catalog_codes == old.catalog_codes != ""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_prefix_of_any_length_finds_the_codes_under_it_on_both_engines(engine):
    process, _staff = _mixed()
    other, _ = _mixed("Otro proceso")
    ProcessItem.objects.filter(process=other).update(catalog_item="56101504")
    search.refresh([other.pk])
    every = ProcurementProcess.objects.filter(pk__in=[process.pk, other.pk])

    def found(prefix):
        return set(every.filter(search.catalog_condition(prefix, engine=engine)))

    for prefix in ("4", "43", "4321", "432115", "4321150", "43211503", "44", "441217"):
        assert found(prefix) == {process}, prefix
    for prefix in ("5", "5610", "56101504"):
        assert found(prefix) == {other}, prefix
    for prefix in ("432116", "43211504", "3", "1", "11", "2115"):  # "2115" is inside a code
        assert found(prefix) == set(), prefix


@pytest.mark.parametrize("engine", ENGINES)
def test_changed_items_are_found_by_their_new_codes_once_refreshed(engine):
    process, _staff = _mixed()
    ProcessItem.objects.filter(process=process).update(catalog_item="56101504")
    search.refresh([process.pk], engine=engine)
    rows = ProcurementProcess.objects.filter(pk=process.pk)
    assert rows.filter(search.catalog_condition("5610", engine=engine)).exists()
    assert not rows.filter(search.catalog_condition("4321", engine=engine)).exists()


def test_the_migration_backfills_what_refresh_writes():
    _mixed()
    published("Sillas", catalog="44121701")
    codes = ProcurementProcess.objects.order_by("pk").values_list("pk", "catalog_codes")
    written = list(codes)
    migration = importlib.import_module("procurement.migrations.0035_process_catalog_codes")
    with transaction.atomic():
        ProcurementProcess.objects.update(catalog_codes="")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(migration.PG_BACKFILL)
        else:
            from django.apps import apps

            migration.forwards(apps, connection.schema_editor())
        assert list(codes) == written
        transaction.set_rollback(True)


def test_the_postgresql_filter_reads_the_gin_index_of_the_codes():
    if connection.vendor != "postgresql":
        pytest.skip("the index is PostgreSQL's")
    rows = ProcurementProcess.objects.filter(search.catalog_condition("4321")).values("pk")
    with transaction.atomic(), connection.cursor() as cursor:
        # As with many rows (here a few): no plan that reads every row instead.
        for method in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        sql, params = rows.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "process_catalog_codes_gin" in plan, plan
