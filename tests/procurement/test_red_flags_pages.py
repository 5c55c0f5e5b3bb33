"""The auditors' red-flag pages: /auditoria/riesgos/ (filters, sorts, pages, CSV),
/auditoria/procesos/<identifier>/ (each flag explained) and /auditoria/entidades/; only
auditors and admins, read-only."""

import csv
import io

import pytest

from procurement import red_flags
from procurement.models import RiskFlagCode as Code
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    UserFactory,
    admin_user,
    auditor,
    staff_of,
    user_of,
)
from tests.hostile import HOSTILE
from tests.procurement.risk_world import CALL, awarded, called, opened

pytestmark = pytest.mark.django_db

PAGES = ["/auditoria/riesgos/", "/auditoria/entidades/"]


@pytest.fixture
def flagged():
    """Three processes: one single bidder, one with near-identical bids of bidders sharing a
    legal representative (and awarded fast), one clean; flags computed."""
    entity = EntityFactory(acronym="MUNIRISK")
    single = called(entity)
    opened(single, ["1000"])
    a = SupplierFactory(representative_dni="45678912", representative_name="Ana Quispe")
    b = SupplierFactory(representative_dni="45678912", representative_name="Ana Quispe")
    rigged = called(entity)
    opened(rigged, ["50000", "50100"], suppliers=[a, b])
    awarded(rigged, days_after_call=5)
    clean = called()
    opened(clean, ["1000", "9000"])
    red_flags.refresh()
    return {"single": single, "rigged": rigged, "clean": clean, "entity": entity, "a": a}


def _page(client, url, **params):
    client.force_login(auditor())
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    return response


def test_list_sorted_by_score_with_each_flag(client, flagged):
    response = _page(client, "/auditoria/riesgos/")
    rows = response.context["rows"]
    assert [risk.process_id for risk, _flags in rows] == [
        flagged["rigged"].pk,
        flagged["single"].pk,
    ]
    rigged_codes = {code for code, _label in rows[0][1]}
    assert rigged_codes == {Code.NEAR_IDENTICAL_BIDS, Code.SHARED_CONTACT, Code.FAST_AWARD}
    assert rows[0][0].score == 75
    assert f"/auditoria/procesos/{flagged['rigged'].identifier}/" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"flag": "single_bidder"}, {"single"}),
        ({"flag": "shared_contact"}, {"rigged"}),
        ({"flag": "split_purchase"}, set()),
        ({"min_score": "20"}, {"rigged"}),
        ({"max_score": "10"}, {"single"}),
        ({"entity": "munirisk"}, {"single", "rigged"}),
        ({"department": "15"}, {"single", "rigged"}),
        ({"department": "08"}, set()),
        ({"call_from": CALL.isoformat(), "call_to": CALL.isoformat()}, {"single", "rigged"}),
        ({"call_to": "2026-03-01"}, set()),
        ({"sort": "score"}, {"single", "rigged"}),
    ],
)
def test_filters(client, flagged, params, expected):
    rows = _page(client, "/auditoria/riesgos/", **params).context["rows"]
    assert {risk.process_id for risk, _f in rows} == {flagged[k].pk for k in expected}


def test_sorted_by_date_and_paged_by_keyset(client, flagged):
    for n in range(30):
        process = called(call=CALL.replace(day=3 + n % 20))
        opened(process, ["1000"])
    red_flags.refresh()
    client.force_login(auditor())
    first = client.get("/auditoria/riesgos/", {"sort": "-date"}).context["page"]
    assert len(first) == 25 and first.next_cursor
    dates = [r.published_at for r in first]
    assert dates == sorted(dates, reverse=True)
    second = client.get("/auditoria/riesgos/", {"sort": "-date", "cursor": first.next_cursor})
    assert second.status_code == 200
    assert len(second.context["page"]) == 32 - 25
    assert not {r.pk for r in first} & {r.pk for r in second.context["page"]}
    bad = client.get("/auditoria/riesgos/", {"sort": "-date", "cursor": "forged"})
    assert bad.status_code == 400


def test_csv(client, flagged):
    client.force_login(auditor())
    response = client.get("/auditoria/riesgos/", {"format": "csv", "flag": "shared_contact"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["nomenclatura"] for r in rows] == [flagged["rigged"].identifier]
    assert rows[0]["puntaje_riesgo"] == "75"
    assert set(rows[0]["banderas"].split()) == {
        "fast_award",
        "near_identical_bids",
        "shared_contact",
    }
    bad = client.get("/auditoria/riesgos/", {"format": "csv", "min_score": "101"})
    assert bad.status_code == 400


def test_process_page_explains_each_flag(client, flagged):
    rigged = flagged["rigged"]
    response = _page(client, f"/auditoria/procesos/{rigged.identifier}/")
    flags = {f.code: f for f in response.context["flags"]}
    assert set(flags) == {Code.NEAR_IDENTICAL_BIDS, Code.SHARED_CONTACT, Code.FAST_AWARD}
    shared = flags[Code.SHARED_CONTACT]
    assert shared.weight == red_flags.WEIGHTS[Code.SHARED_CONTACT]
    assert "45678912" in " ".join(shared.lines)
    assert any(url == f"/proveedores/{flagged['a'].ruc}/" for _l, url in shared.links)
    assert "0.5" in flags[Code.NEAR_IDENTICAL_BIDS].threshold
    clean = _page(client, f"/auditoria/procesos/{flagged['clean'].identifier}/")
    assert clean.context["flags"] == [] and clean.context["risk"] is None
    client.force_login(auditor())
    assert client.get("/auditoria/procesos/LP-SM-999-2026-NADA-1/").status_code == 404


def test_entity_scores(client, flagged):
    entities = _page(client, "/auditoria/entidades/").context["entities"]
    scores = {e.pk: e for e in entities}
    risky = scores[flagged["entity"].pk]
    assert risky.process_count == 2 and risky.flagged == 2
    assert risky.score == pytest.approx((75 + 10) / 2)
    assert entities[0].pk == flagged["entity"].pk
    assert client.get("/auditoria/entidades/", {"call_from": "2026-02-30"}).status_code == 400


@pytest.mark.parametrize("url", [*PAGES, "/auditoria/procesos/{identifier}/"])
def test_only_auditors_and_admins(client, flagged, url):
    url = url.format(identifier=flagged["rigged"].identifier)
    response = client.get(url)
    assert response.status_code == 302 and "/cuentas/ingresar/" in response["Location"]
    for user in (
        UserFactory(),
        user_of(flagged["a"]),
        staff_of(flagged["entity"]),
    ):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(admin_user())
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [*PAGES, "/auditoria/procesos/{identifier}/"])
def test_auditors_cannot_post(client, flagged, url):
    url = url.format(identifier=flagged["rigged"].identifier)
    client.force_login(auditor())
    # 403 from the auditors' read-only guard (accounts.middleware), before the view's 405.
    assert client.post(url, {"flag": "single_bidder"}).status_code in (403, 405)


@pytest.mark.parametrize("export", [False, True], ids=["page", "csv"])
def test_hostile_values_are_form_errors_never_500(client, flagged, export):
    client.force_login(auditor())
    kinds = {
        "flag": "choice",
        "entity": "text",
        "department": "choice",
        "min_score": "number",
        "max_score": "number",
        "call_from": "date",
        "call_to": "date",
        "sort": "choice",
        "cursor": "text",
    }
    for name, kind in kinds.items():
        for value in [*HOSTILE[kind], *HOSTILE["text"]]:
            params = {name: value, **({"format": "csv"} if export else {})}
            response = client.get("/auditoria/riesgos/", params)
            if response.streaming:
                b"".join(response.streaming_content)
            assert response.status_code < 500, (name, value[:30])


def test_every_flag_is_explained_with_its_evidence(client):
    """One crafted process per flag (procurement.red_flags), each page explains it."""
    from datetime import timedelta

    from core.workdays import WorkingCalendar
    from procurement.models import ProcessRiskFlag
    from tests.procurement.risk_world import contracted

    entity = EntityFactory()
    winner = SupplierFactory()
    for _n in range(3):  # repeated direct contracting, the same winner again and again
        awarded(called(entity, procedure_type="CD"), supplier=winner)
    short = called(entity, bids_end=WorkingCalendar().add_working_days(CALL, 10))
    opened(short, ["1000"])  # and a single bidder
    above = called(entity, value="1000")
    awarded(above, amount="1200", days_after_call=3)  # above the estimate, fast
    contracted(awarded(called(entity)), amendments=[("adicional", "30")])
    a, b = SupplierFactory(phone="084-231234"), SupplierFactory(phone="084-231234")
    opened(called(entity), ["5000", "5001"], suppliers=[a, b])  # close bids, shared phone
    called(entity, value="380000")
    called(entity, value="390000", call=CALL + timedelta(days=5))  # split
    red_flags.refresh()
    assert set(ProcessRiskFlag.objects.values_list("code", flat=True)) == set(Code)
    client.force_login(auditor())
    for flag in ProcessRiskFlag.objects.select_related("process"):
        response = client.get(f"/auditoria/procesos/{flag.process.identifier}/")
        assert response.status_code == 200
        (shown,) = [f for f in response.context["flags"] if f.code == flag.code]
        assert shown.lines and shown.explanation and shown.threshold, flag.code


@pytest.mark.parametrize(
    ("start", "end", "low", "high"),
    [("call_from", "call_to", "2026-03-10", "2026-03-09"), ("min_score", "max_score", "50", "49")],
)
def test_a_reversed_range_is_an_error_on_its_end_and_an_equal_one_is_fine(
    client, start, end, low, high
):
    """core.filtering.OrderedRangesForm, in Spanish by default; the CSV refuses it too."""
    client.force_login(auditor())
    response = client.get("/auditoria/riesgos/", {start: low, end: high})
    assert response.status_code == 400
    assert response.context["filter"].errors == {
        end: ["El final del rango es anterior a su inicio."]
    }
    assert "El final del rango es anterior a su inicio." in response.content.decode()
    exported = client.get("/auditoria/riesgos/", {start: low, end: high, "format": "csv"})
    assert exported.status_code == 400
    assert client.get("/auditoria/riesgos/", {start: low, end: low}).status_code == 200
    assert client.get("/auditoria/riesgos/", {start: high, end: low}).status_code == 200
