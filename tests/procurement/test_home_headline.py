"""The home headline speaks of the year most plans are published for, and its "N / M plans
comply" link opens exactly those N plans."""

import re
from datetime import date

import pytest

from tests.factories import published_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans():
    compliant, _ = published_plan(year=2026, items=[{"sme_reserved": True}])
    lagging, _ = published_plan(year=2026, items=[{"sme_reserved": False}])
    early, _ = published_plan(year=2027, items=[{"sme_reserved": False}])
    return compliant, lagging, early


def test_one_early_plan_for_next_year_does_not_take_the_headline(client, plans):
    compliant, lagging, early = plans
    assert compliant.sme_compliant and not lagging.sme_compliant
    html = client.get("/").content.decode()
    assert "<strong>1 / 2</strong>" in html
    link = re.search(r'<strong>1 / 2</strong> <a href="([^"]+)"', html)[1].replace("&amp;", "&")
    listed = client.get(link).content.decode()
    assert compliant.plan.entity.name in listed
    assert lagging.plan.entity.name not in listed
    assert early.plan.entity.name not in listed


def test_the_current_year_wins_a_tie(client):
    from procurement.queries import headline_year

    published_plan(year=2026, items=[{}])
    published_plan(year=2027, items=[{}])
    assert headline_year(today=date(2026, 11, 25)) == 2026
    assert headline_year(today=date(2027, 2, 1)) == 2027


def test_unconfirmed_sign_ups_are_not_counted_as_suppliers():
    from procurement.queries import portal_headline
    from tests.factories import SupplierFactory

    SupplierFactory()
    SupplierFactory(awaiting_confirmation=True)
    assert portal_headline()["suppliers"] == 1


def test_the_headline_year_reads_core_clock_like_every_other_figure(client):
    """On a tie the current year wins, and "current" is core.clock's day (pinned here to a
    year the server's own clock is not in), as the actual share's year is."""
    from core import clock
    from procurement.queries import headline_year, portal_headline

    published_plan(year=2026, items=[{}])
    published_plan(year=2027, items=[{}])
    with clock.pinned(date(2027, 2, 1)):
        assert headline_year() == 2027
        headline = portal_headline()
    assert headline["actual_year"] == headline["plans"]["year"] == 2027


def test_the_planned_line_states_the_fiscal_years_minimum_not_a_fixed_40(client):
    from core.models import FiscalYear

    published_plan(year=2026, items=[{"sme_reserved": True}])
    FiscalYear.objects.filter(year=2026).update(sme_reserved_min_share="0.350")
    html = client.get("/").content.decode()
    assert "reservadas a MYPE en 2026 (mínimo 35,0\xa0%)" in html
    assert "(mínimo 40%)" not in html
