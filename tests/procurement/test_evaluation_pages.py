"""The evaluation pages: the committee's page (refused to anyone else, hostile values a form
error and never a 500), the public table with its PDF, and the award on the process page."""

from decimal import Decimal

import pytest
from django.test import Client

from core import clock
from procurement.models import Award, Evaluation, EvaluationEntry, ProcessStatus, Qualification
from tests.factories import EntityFactory, staff_of, user_of
from tests.procurement.evaluating import (
    committee,
    open_tender,
    stage_start,
    tender_in,
    unit_prices,
)

pytestmark = pytest.mark.django_db

CUSCO = "080101"
HOSTILE_SCORES = ["NaN", "1e9999", "-1", "70.5", "9" * 30, "a\x00b", "x" * 30_000, "10.001"]


@pytest.fixture
def opened():
    tender = tender_in(CUSCO)
    for total in ["1000", "2000"]:
        supplier, user = tender.bidder(size_class="micro", domicile_id=CUSCO)
        tender.submit(user, supplier, prices=unit_prices(tender, total))
    open_tender(tender)
    return tender


def _client(user):
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def test_only_the_committee_reaches_the_staff_page(opened):
    url = f"/gestion/procesos/{opened.process.pk}/evaluacion/"
    colleague = staff_of(opened.process.entity)  # staff of the entity, not in the committee
    stranger = staff_of(EntityFactory())
    supplier_user = user_of(opened.process.participants.first().supplier)
    with clock.pinned(stage_start(opened, "evaluacion")):
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and "/cuentas/ingresar/" in anonymous["Location"]
        for outsider in [colleague, stranger, supplier_user]:
            assert _client(outsider).get(url).status_code == 403
            assert _client(outsider).post(url, {"action": "start"}).status_code == 403
        assert Client().post(url, {"action": "start"}).status_code == 302
    assert not Evaluation.objects.exists()


def test_the_committee_fills_publishes_and_awards_through_the_pages(opened):
    first, second = committee(opened)
    url = f"/gestion/procesos/{opened.process.pk}/evaluacion/"
    member = _client(first)
    criterion = opened.process.criteria.get(kind="technical")
    with clock.pinned(stage_start(opened, "evaluacion")):
        assert member.get(url).status_code == 200
        assert member.post(url, {"action": "start", "reason": ""}).status_code == 302
        again = member.post(url, {"action": "start", "reason": ""})
        assert again.status_code == 400 and 'data-code="draft_exists"' in again.content.decode()
        entries = list(Evaluation.objects.get().entries.order_by("price"))  # 1000, 2000
        assert "Experiencia del postor (0 a 70)" in member.get(url).content.decode()
        score = f"score_{criterion.pk}"

        def row(entry, **values):
            return {f"e{entry.pk}-{k}": v for k, v in values.items()}

        for value in HOSTILE_SCORES:
            data = {"action": "save", **row(entries[0], admissible="yes", **{score: value})}
            response = member.post(url, data)
            assert response.status_code == 400, value
        for hostile in [
            row(entries[0], admissible="maybe"),
            row(entries[0], admissible="no", reason=""),
            row(entries[0], admissible="no", reason="x" * 30_000),
            row(entries[0], admissible="no", reason="a\x00b"),
            {"action": "nonsense"},
            {},
        ]:
            response = member.post(url, {"action": "save", **hostile} if hostile else hostile)
            assert response.status_code == 400, hostile
        assert not EvaluationEntry.objects.filter(admissible__isnull=False).exists()
        publish_early = member.post(url, {"action": "publish"})
        assert publish_early.status_code == 400
        good = {
            "action": "save",
            **row(entries[0], admissible="yes", **{score: "60"}),
            **row(entries[1], admissible="yes", **{score: "65,5"}),
        }
        assert member.post(url, good).status_code == 302
        assert member.post(url, {"action": "publish"}).status_code == 302
    table = Evaluation.objects.get()
    assert table.published
    # first: 60 + 30 = 90.00, +9.00 = 99.00; second: 65.50 + 15.00 = 80.50, +8.05 = 88.55
    totals = [e.total for e in table.entries.order_by("price")]
    assert totals == [Decimal("99.00"), Decimal("88.55")]

    page = Client().get(f"/procesos/{opened.process.identifier}/evaluacion/")
    text = page.content.decode()
    assert page.status_code == 200 and table.document.sha256 in text
    assert "99,00" in text and "88,55" in text
    for bad in ["abc", "9", "-1", "9" * 40]:
        response = Client().get(f"/procesos/{opened.process.identifier}/evaluacion/?version={bad}")
        assert response.status_code == 404

    with clock.pinned(stage_start(opened, "buena_pro")):
        for hostile in ["abc", "-1", "9" * 30, str(entries[1].pk), "a\x00b"]:
            response = _client(second).post(
                url, {"action": "qualify", "entry": hostile, "passed": "yes", "reason": ""}
            )
            assert response.status_code == 400, hostile
        refused = _client(second).post(
            url, {"action": "qualify", "entry": entries[0].pk, "passed": "no", "reason": ""}
        )
        assert refused.status_code == 400
        assert not Qualification.objects.exists()
        done = _client(second).post(
            url, {"action": "qualify", "entry": entries[0].pk, "passed": "yes", "reason": ""}
        )
        assert done.status_code == 302
    award = Award.objects.get()
    assert award.entry == entries[0] and award.status == Award.Status.AWARDED
    opened.process.refresh_from_db()
    assert opened.process.status == ProcessStatus.AWARDED
    detail = Client().get(f"/procesos/{opened.process.identifier}/").content.decode()
    assert f"/procesos/{opened.process.identifier}/evaluacion/" in detail
    assert award.opened_bid.lead_name in detail and "1\xa0000,00" in detail


def test_the_public_page_before_publication_says_so(opened):
    first, _second = committee(opened)
    with clock.pinned(stage_start(opened, "evaluacion")):
        _client(first).post(
            f"/gestion/procesos/{opened.process.pk}/evaluacion/", {"action": "start"}
        )
    page = Client().get(f"/procesos/{opened.process.identifier}/evaluacion/")
    assert page.status_code == 200 and 'data-phase="not_published"' in page.content.decode()
