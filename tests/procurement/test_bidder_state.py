"""bids.bidder_state reads once what the bidder's page shows; each of its answers must be the
one the single-purpose function gives (own_bid, leads_bid, bid_refusal, withdrawal_refusal,
own_consent, consent_refusal, own_paper_bid, envelope_documents), in every situation a
bidder can be in: no bid, alone, withdrawn, lead, member included, consented but not
included, paper bid; before, during and after the bid stage."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core import clock
from procurement.services import bids
from tests.procurement.bidding import called_tender, pdf

pytestmark = pytest.mark.django_db


def _said(error):
    return None if error is None else (error.code, error.message)


def _agrees(process, supplier):
    state = bids.bidder_state(process, supplier)
    bid = bids.own_bid(process, supplier)
    assert state["bid"] == bid
    assert state["leads"] == bids.leads_bid(process, supplier, bid)
    assert _said(state["refusal"]) == _said(bids.bid_refusal(process, supplier))
    assert _said(state["withdraw_refusal"]) == _said(bids.withdrawal_refusal(process, supplier))
    assert _said(state["consent_refusal"]) == _said(bids.consent_refusal(process, supplier))
    assert state["consent"] == bids.own_consent(process, supplier)
    assert state["paper_bid"] == bids.own_paper_bid(process, supplier)
    assert [d.pk for d, _meta, _sent in state["envelope"]] == [
        d.pk for d, _meta, _sent in bids.envelope_documents(process, supplier)
    ]
    return state


def test_bidder_state_agrees_with_each_single_purpose_answer():
    tender = called_tender()
    process = tender.process
    nothing, _ = tender.bidder()
    alone, alone_user = tender.bidder()
    withdrawn, withdrawn_user = tender.bidder()
    lead, lead_user = tender.bidder()
    member, _ = tender.bidder()
    waiting, _ = tender.bidder()  # consented to the lead, not named in its bid
    paper, _ = tender.bidder()
    with clock.pinned(tender.bids_stage.start - timedelta(days=1)):
        for supplier in (nothing, alone):
            _agrees(process, supplier)  # before the bid stage: every action refused
    tender.submit(alone_user, alone)
    tender.submit(withdrawn_user, withdrawn)
    with clock.pinned(tender.during):
        bids.withdraw_bid(withdrawn_user, process, withdrawn)
    tender.consent(member, lead)
    tender.consent(waiting, lead)
    tender.submit(
        lead_user, lead, members=[(lead, Decimal(60), True), (member, Decimal(40), False)]
    )
    with clock.pinned(tender.during):
        bids.record_paper_bid(tender.staff, process, paper, prices=tender.prices(), uploads=[pdf()])
        states = {
            name: _agrees(process, supplier)
            for name, supplier in {
                "nothing": nothing,
                "alone": alone,
                "withdrawn": withdrawn,
                "lead": lead,
                "member": member,
                "waiting": waiting,
                "paper": paper,
            }.items()
        }
    assert states["lead"]["leads"] and not states["member"]["leads"]
    assert states["member"]["bid"] == states["lead"]["bid"]
    assert states["member"]["consent"].included and not states["waiting"]["consent"].included
    assert states["paper"]["paper_bid"] is not None and states["alone"]["withdraw_refusal"] is None
    with clock.pinned(tender.deadline + timedelta(seconds=1)):
        for supplier in (alone, lead, member):
            assert _agrees(process, supplier)["refusal"].code == "late"


def test_the_clock_read_with_the_bids_stage_is_the_database_clock():
    """bidder_state and submit_bid read the clock in the statement that reads the bids stage
    (clock.now_expression): the database's clock_timestamp() as clock.now() reads it, and
    the pinned moment in tests (then no expression: now() answers)."""
    from django.db import connection

    from procurement.services.bids import _bids_stage_and_now

    tender = called_tender()
    with clock.pinned(tender.during) as moment:
        assert clock.now_expression() is None
        assert _bids_stage_and_now(tender.process) == (tender.bids_stage, moment)
    if connection.vendor != "postgresql":
        pytest.skip("the database clock is PostgreSQL's")
    before = clock.now()
    stage, now = _bids_stage_and_now(tender.process)
    after = clock.now()
    assert stage == tender.bids_stage and before <= now <= after
    tender.bids_stage.delete()
    stage, now = _bids_stage_and_now(tender.process)
    assert stage is None and after <= now <= clock.now()
