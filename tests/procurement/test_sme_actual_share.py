"""The actual SME share (procurement.sme), on hand-computed contracts of one entity in 2026:

  1. goods, one eligible item, micro, S/ 1,000 + an additional of S/ 200 -> SME 1,200
     (in an SME-only process)
  2. goods, consortium of a micro and a medium enterprise, S/ 4,000     -> not SME 4,000
  3. works, micro, S/ 5,000                                             -> out (works)
  4. goods, micro, S/ 7,000, declared void                              -> out (void)
  5. goods, winner's size unknown at the award, S/ 800                  -> apart (unknown)
  6. services, whole process: items S/ 600 (suppliable) + S/ 400 (not), S/ 2,000, small at
     the award though it is medium today                                -> SME 2,000 x 0.6 = 1,200
  7. goods, micro, S/ 900, signed in 2025                               -> another year

Eligible (size known) = 1,200 + 4,000 + 1,200 = 6,400; SME = 2,400; share = 37.5%;
gap to 40% = 2,560 - 2,400 = S/ 160; micro 1,200, small 1,200; unknown S/ 800 in 1 contract.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from core.codelists import ObjectType
from procurement import sme
from procurement.models import Contract, ContractAmendment, ProcurementProcess
from tests.factories import EntityFactory, SupplierFactory
from tests.procurement.sme_world import contract, process

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    entity = EntityFactory()
    micro = SupplierFactory()
    medium = SupplierFactory(size_class="medium")
    grown = SupplierFactory(size_class="medium")  # small at its award, medium today
    unknown = SupplierFactory()
    goods = [("43211503", 1000, True)]
    p1 = process(entity, items=goods, sme_only=True)
    c1 = contract(
        p1,
        micro,
        1000,
        item=p1.items.get(),
        amendments=[(ContractAmendment.Kind.ADDITIONAL, 200)],
    )
    p2 = process(entity, items=goods)
    c2 = contract(p2, micro, 4000, classes={micro.ruc: "micro", medium.ruc: "medium"})
    p3 = process(entity, object_type=ObjectType.WORKS, items=[("72141100", 5000, True)])
    c3 = contract(p3, micro, 5000)
    p4 = process(entity, items=goods)
    c4 = contract(p4, micro, 7000, status=Contract.Status.VOID)
    p5 = process(entity, items=goods)
    c5 = contract(p5, unknown, 800, classes={unknown.ruc: ""})
    p6 = process(
        entity,
        object_type=ObjectType.SERVICES,
        items=[("80101500", 600, True), ("80101600", 400, False)],
    )
    c6 = contract(p6, grown, 2000, classes={grown.ruc: "small"})
    p7 = process(entity, items=goods, year=2025)
    contract(p7, micro, 900, signed_on=date(2025, 6, 1))
    return entity, {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6}


def test_the_hand_computed_share(book):
    entity, _contracts = book
    share = sme.entity_share(entity, 2026)
    assert share.eligible_value == Decimal("6400")
    assert share.sme_value == Decimal("2400")
    assert share.share == Decimal("0.375")
    assert share.compliant is False
    assert share.gap == Decimal("160.00")
    assert share.micro_value == Decimal("1200")
    assert share.small_value == Decimal("1200")
    assert (share.unknown_value, share.unknown_contracts) == (Decimal("800"), 1)
    assert share.contracts == 3
    assert (share.sme_wins_reserved, share.sme_wins_open) == (1, 1)


def test_each_contract_is_read_as_the_rule_says(book):
    entity, c = book
    rows = {
        row.pk: row
        for row in sme.share_contracts(Contract.objects.filter(entity=entity, signed_on__year=2026))
    }
    assert c["c4"].pk not in rows  # void: dropped
    assert rows[c["c1"].pk].current_amount == Decimal("1200")  # the amendment counts
    assert rows[c["c2"].pk].size_group == sme.SIZE_NOT_SME  # a medium member
    assert rows[c["c3"].pk].eligible_part == 0  # works
    assert rows[c["c5"].pk].size_group == sme.SIZE_UNKNOWN
    assert rows[c["c6"].pk].size_group == sme.SIZE_SME  # the class at the award
    assert rows[c["c6"].pk].eligible_part == Decimal("1200")  # split by item


def test_a_reduction_lowers_the_value():
    entity, supplier = EntityFactory(), SupplierFactory()
    p = process(entity, items=[("43211503", 1000, True)])
    contract(p, supplier, 1000, amendments=[(ContractAmendment.Kind.REDUCTION, 250)])
    assert sme.entity_share(entity, 2026).sme_value == Decimal("750")


def test_an_entity_without_contracts_has_no_share():
    share = sme.entity_share(EntityFactory(), 2026)
    assert share.share is None and share.compliant is None and share.gap == 0


def test_monthly_figures_add_up_to_the_year(book):
    entity, _c = book
    months = sme.monthly_actual(entity, 2026)
    year = sme.entity_share(entity, 2026)
    assert set(months) == {3}
    assert months[3].sme_value == year.sme_value


def test_lead_time_is_averaged_apart_for_sme_only_and_open_processes():
    entity = EntityFactory()
    process(entity, sme_only=True, call=date(2026, 2, 2), deadline=date(2026, 2, 12))
    process(entity, call=date(2026, 2, 2), deadline=date(2026, 2, 7))
    process(entity, call=date(2026, 3, 2), deadline=date(2026, 3, 9))
    lead = sme.lead_time(ProcurementProcess.objects.filter(entity=entity))
    assert (lead.processes, lead.reserved) == (3, 1)
    assert lead.sme_only_days == Decimal("10.0")
    assert lead.open_days == Decimal("6.0")


def _subplans(query: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query, params)
        return sum("SubPlan" in row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_each_contract_value_is_computed_once_however_many_figures_read_it():
    """The figures read each contract's eligible part eight times: the derived table of
    contracts is planned on its own (not pulled up into the outer query, where its amendment
    and item subqueries would be planned, and run, once per figure reading it)."""
    contracts = sme.share_contracts(Contract.objects.all())
    query, params, _groups = sme._figures_query(contracts, ())
    inner_sql, inner_params = (
        contracts.order_by().values(part=F("eligible_part")).query.sql_with_params()
    )
    assert _subplans(query, params) <= _subplans(inner_sql, inner_params)
