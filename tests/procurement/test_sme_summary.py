"""The SME share pages read figures summed ahead (SmeShareMonth, SmeLeadTimeYear, written by
sme.refresh_summary): they must be the live computation's numbers, entity by entity and year
by year, nationally and per department, sector and level, and follow each contract signed,
amended or annulled through the services (issue 11)."""

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse

from core import clock
from core.codelists import ObjectType
from procurement import sme
from procurement.models import (
    Contract,
    ContractAmendment,
    Entity,
    ProcurementProcess,
    SmeLeadTimeYear,
    SmeShareMonth,
)
from procurement.services import contracts
from tests.factories import EntityFactory, SupplierFactory
from tests.procurement.evaluating import awarded_tender, consent
from tests.procurement.sme_world import contract, process

pytestmark = pytest.mark.django_db

GOODS = [("43211503", 1000, True)]
# Summary rows keep ten decimals of a value split across items; the live sum keeps more.
CLOSE = Decimal("0.000001")


def assert_same(summed: sme.ActualShare, live: sme.ActualShare) -> None:
    for name in ("eligible_value", "sme_value", "micro_value", "unknown_value"):
        assert abs(getattr(summed, name) - getattr(live, name)) < CLOSE, name
    for name in ("contracts", "unknown_contracts", "sme_wins_reserved", "sme_wins_open"):
        assert getattr(summed, name) == getattr(live, name), name
    assert summed.minimum == live.minimum
    if live.share is None:
        assert summed.share is None
    else:
        assert abs(summed.share - live.share) < CLOSE
        assert summed.compliant == live.compliant
        assert summed.gap == live.gap


@pytest.fixture
def world():
    """Three entities in three departments, sectors and levels, two years, and every case
    the rule reads: goods, services split across a non-suppliable item, works; a consortium
    with a medium member; an annulled contract; amended contracts; unknown size; SME-only
    and open processes with call and deadline dates."""
    lima = EntityFactory()
    cusco = EntityFactory(ubigeo_id="080101", sector_id="salud", level="regional")
    arequipa = EntityFactory(ubigeo_id="040101", sector_id="salud", level="national")
    micro, small = SupplierFactory(), SupplierFactory(size_class="small")
    medium, large, unknown = (SupplierFactory(size_class=c) for c in ("medium", "large", "micro"))
    services = [("80101500", 600, True), ("80101600", 400, False)]
    for n, entity in enumerate((lima, cusco, arequipa)):
        reserved = process(
            entity,
            items=GOODS,
            sme_only=True,
            call=date(2026, 1, 5),
            deadline=date(2026, 1, 12 + n),
        )
        contract(
            reserved,
            micro,
            1000 + n,
            item=reserved.items.get(),
            signed_on=date(2026, 2, 3),
            amendments=[(ContractAmendment.Kind.ADDITIONAL, 200)],
        )
        contract(
            process(entity, items=GOODS, call=date(2026, 1, 5), deadline=date(2026, 1, 9)),
            micro,
            4000,
            classes={micro.ruc: "micro", medium.ruc: "medium"},
            signed_on=date(2026, 3, 10),
        )
        contract(
            process(entity, object_type=ObjectType.WORKS, items=[("72141100", 5000, True)]),
            small,
            5000,
            classes={small.ruc: "small"},
        )
        contract(
            process(entity, items=GOODS),
            micro,
            7000,
            status=Contract.Status.VOID,
            signed_on=date(2026, 5, 2),
        )
        contract(process(entity, items=GOODS), unknown, 800 + n, classes={unknown.ruc: ""})
        contract(
            process(entity, object_type=ObjectType.SERVICES, items=services),
            small,
            Decimal("2000") / (n + 3),  # split 60/40 across items: many decimals
            classes={small.ruc: "small"},
            signed_on=date(2026, 7, 20),
            amendments=[(ContractAmendment.Kind.REDUCTION, 100)],
        )
        contract(
            process(entity, items=GOODS),
            large,
            3000 * (n + 1),
            classes={large.ruc: "large"},
            signed_on=date(2026, 11, 30),
        )
        contract(process(entity, items=GOODS, year=2025), micro, 900, signed_on=date(2025, 6, 1))
    SmeShareMonth.objects.all().delete()
    SmeLeadTimeYear.objects.all().delete()
    sme.refresh_summary()
    return lima, cusco, arequipa


def _live(year: int, **filters) -> sme.ActualShare:
    contracts = Contract.objects.filter(signed_on__year=year, **filters)
    return sme.actual_share(sme.share_contracts(contracts), sme.minimum_for(year))


def test_every_entity_year_and_month_is_the_live_figure(world):
    assert SmeShareMonth.objects.exists()
    for entity in world:
        for year in (2025, 2026):
            live = _live(year, entity=entity)
            assert_same(sme.entity_share(entity, year), live)
            months = sme.monthly_actual(entity, year)
            live_months = sme.monthly_actual_live(entity, year)
            assert months.keys() == live_months.keys()
            for month, share in months.items():
                assert_same(share, live_months[month])
    assert sme.entity_share(world[0], 2026).eligible_value > 0
    assert sme.entity_share(world[0], 2026).unknown_contracts == 1


def test_national_department_sector_and_level_figures_are_the_live_ones(world):
    for year in (2025, 2026):
        assert_same(sme.national_share(year), sme.national_share_live(year))
        for field, groups in (
            ("entity__ubigeo__province__department__code", 3),
            ("entity__sector", 2),
            ("entity__level", 3),
        ):
            contracts = sme.share_contracts(Contract.objects.filter(signed_on__year=year))
            live = sme.actual_shares_by(contracts, field, minimum=sme.minimum_for(year))
            summed = sme.summary_shares_by(year, None, field)
            assert [key for key, _s in summed] == [key for key, _s in live]
            assert len(summed) == groups
            for (_key, share), (_k, live_share) in zip(summed, live, strict=True):
                assert_same(share, live_share)
    health = Entity.objects.filter(sector="salud")
    assert_same(sme.summary_share(2026, health), _live(2026, entity__sector="salud"))


def test_the_ranking_and_lead_time_are_the_live_ones(world, client):
    ranked = list(sme.ranking(2026, Entity.objects.all()))
    assert {r.entity_id for r in ranked} == {e.pk for e in world}
    for row in ranked:
        assert_same(row.share, _live(2026, entity_id=row.entity_id))
    shares = [r.share.share for r in ranked]
    assert shares == sorted(shares)
    for entities in (Entity.objects.all(), Entity.objects.filter(pk=world[1].pk)):
        live = sme.lead_time(
            ProcurementProcess.objects.filter(fiscal_year=2026, entity__in=entities)
        )
        assert sme.summary_lead_time(2026, entities) == live
        assert live.sme_only_days is not None and live.open_days is not None
    response = client.get(reverse("procurement:sme_ranking"), {"year": 2026})
    assert_same(response.context["national"], sme.national_share_live(2026))


def test_the_entity_page_counts_the_contracts_it_lists_from_the_summary(world, client):
    cusco = world[1]
    response = client.get(reverse("procurement:entity_sme", args=[cusco.ruc]), {"year": 2026})
    listed = sme.share_contracts(
        Contract.objects.filter(entity=cusco, signed_on__year=2026)
    ).filter(eligible_part__gt=0)
    page = response.context["page"]
    assert page.paginator.count == listed.count() == 5  # works and the annulled one out
    assert {c.pk for c in page.object_list} == set(listed.values_list("pk", flat=True))
    assert_same(response.context["share"], _live(2026, entity=cusco))


def _consented():
    tender, award, _people = awarded_tender(size_class="micro")
    return tender, consent(award)


def test_the_summary_follows_contracts_signed_amended_and_annulled_through_the_services(
    django_capture_on_commit_callbacks,
):
    tender, award = _consented()
    entity = tender.process.entity
    with clock.pinned(clock.local(award.consented_on) + timedelta(days=2)):
        with django_capture_on_commit_callbacks(execute=True):
            signed = contracts.sign_contract(
                actor=tender.staff,
                award=award,
                number="CONTRATO-001-2026",
                signed_on=award.consented_on + timedelta(days=1),
                term_days=60,
                guarantee=Contract.Guarantee.PERFORMANCE_BOND,
            )
        year = signed.signed_on.year
        live = _live(year, entity=entity)
        assert live.eligible_value > 0 and live.sme_value == live.eligible_value
        assert_same(sme.entity_share(entity, year), live)

        with django_capture_on_commit_callbacks(execute=True):
            contracts.amend_contract(
                actor=tender.staff,
                contract=signed,
                kind=ContractAmendment.Kind.ADDITIONAL,
                amount=Decimal("100"),
                reason="Prestaciones adicionales",
                signed_on=signed.signed_on,
            )
        amended = _live(year, entity=entity)
        assert amended.eligible_value > live.eligible_value
        assert_same(sme.entity_share(entity, year), amended)

        with django_capture_on_commit_callbacks(execute=True):
            contracts.annul_contract(actor=tender.staff, contract=signed, reason="Nulidad")
        assert _live(year, entity=entity).share is None
        assert sme.entity_share(entity, year).share is None
        assert sme.national_share(year).contracts == 0


def test_the_daily_task_rewrites_what_changed_outside_the_services(world):
    lima = world[0]
    Contract.objects.filter(entity=lima, signed_on__year=2026).update(status=Contract.Status.VOID)
    assert sme.entity_share(lima, 2026).share is not None  # stale until refreshed
    from procurement.tasks import refresh_sme_summary

    assert refresh_sme_summary() > 0
    assert sme.entity_share(lima, 2026).share is None
    assert_same(sme.entity_share(world[1], 2026), _live(2026, entity=world[1]))


def test_the_contracts_behind_a_share_are_read_a_slice_at_a_time_as_the_filter_gives_them(
    world,
):
    lima = world[0]
    contracts = sme.share_contracts(Contract.objects.filter(entity=lima, signed_on__year=2026))
    exact = list(
        contracts.filter(eligible_part__gt=0)
        .order_by("signed_on", "pk")
        .values_list("pk", flat=True)
    )
    assert len(exact) == 5 < contracts.count()  # works and the annulled one are skipped
    behind = sme.ContractsBehind(contracts, count=len(exact))
    for start, stop in ((0, 1), (0, 2), (1, 3), (2, 5), (4, 9), (0, 50), (5, 6)):
        assert [c.pk for c in behind[start:stop]] == exact[start:stop]
    assert behind.count() == len(behind) == 5


@pytest.mark.django_db(transaction=True)
def test_a_full_refresh_waits_for_an_entitys_refresh_in_flight(world):
    """An entity's refresh still open (its transaction holds the change it refreshes for):
    a full refresh started meanwhile reads only after it commits, so it never writes back the
    figures from before the change (without the lock it reads the old amount and the
    summary stays stale until the next day)."""
    lima = world[0]
    holding, started = threading.Event(), threading.Event()
    finished: list[float] = []
    committed: list[float] = []

    def entity_refresh_in_flight():
        try:
            with transaction.atomic():
                sme._refresh_lock(lima.pk)
                Contract.objects.filter(entity=lima, signed_on__year=2026).update(
                    status=Contract.Status.VOID
                )
                holding.set()
                started.wait(10)
                time.sleep(1.0)  # the full refresh is waiting on the lock by now
            committed.append(time.monotonic())
        finally:
            connection.close()

    def full_refresh():
        try:
            started.set()
            sme.refresh_summary()
            finished.append(time.monotonic())
        finally:
            connection.close()

    first = threading.Thread(target=entity_refresh_in_flight)
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=full_refresh)
    second.start()
    first.join(30)
    second.join(30)
    assert committed and finished and finished[0] > committed[0]
    assert sme.entity_share(lima, 2026).share is None  # the change is in the summary
    assert_same(sme.entity_share(world[1], 2026), _live(2026, entity=world[1]))


def test_a_commit_refreshes_each_entity_year_once(django_capture_on_commit_callbacks, monkeypatch):
    """Signing a contract names its entity-year twice (the contract, then the process's
    status change it causes): the commit refreshes it once."""
    tender, award = _consented()
    refreshed = []
    real = sme.refresh_summary

    def counting(*, entity_id=None, year=None):
        refreshed.append((entity_id, year))
        return real(entity_id=entity_id, year=year)

    monkeypatch.setattr(sme, "refresh_summary", counting)
    moment = clock.local(award.consented_on) + timedelta(days=2)
    with clock.pinned(moment), django_capture_on_commit_callbacks(execute=True) as callbacks:
        signed = contracts.sign_contract(
            actor=tender.staff,
            award=award,
            number="CONTRATO-002-2026",
            signed_on=award.consented_on + timedelta(days=1),
            term_days=60,
            guarantee=Contract.Guarantee.PERFORMANCE_BOND,
        )
    assert len(callbacks) >= 2  # the contract and the status change each asked
    pair = (tender.process.entity_id, signed.signed_on.year)
    assert refreshed.count(pair) == 1
    assert len(refreshed) == len(set(refreshed))
    assert_same(
        sme.entity_share(tender.process.entity, pair[1]),
        _live(pair[1], entity=tender.process.entity),
    )
