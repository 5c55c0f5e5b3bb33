"""The bidder's and the staff's pages of sealed bids: the receipt shown once and verifiable
with the public key alone, the password asked outside the re-authentication window, withdraw,
paper bids, the late refusal, and nothing of a bid (price, document, bidder) shown to anyone
else before the opening, on any page these add, the process page or the admin."""

import base64
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from core import clock, signing
from procurement.models import Bid, BidVersion, ReceiptLedgerEntry, SealedDocument
from procurement.receipts import verify_receipt
from procurement.services import bids
from tests.factories import (
    TEST_PASSWORD,
    EntityFactory,
    SupplierFactory,
    admin_user,
    auditor,
    staff_of,
    user_of,
)
from tests.procurement.bidding import called_tender, pdf

pytestmark = pytest.mark.django_db

MARKER = "MARCADOR-SECRETO-7731"
NAME = "Marcador Andino Ofertas S.A.C."
UNIT = Decimal("4321.87")  # x quantity 100 = 432187.00 per item
PRICE_TEXTS = ["4321.87", "4321,87", "4,321.87", "4.321,87", "432187", "432,187", "432.187"]


@pytest.fixture
def tender():
    return called_tender()


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _bid_url(tender, supplier, suffix=""):
    return f"/procesos/{tender.process.identifier}/oferta/{suffix}?supplier={supplier.pk}"


def _prices(tender, unit="10.00") -> dict:
    return {f"price_{item.pk}": str(unit) for item in tender.process.items.all()}


def _upload(client, tender, supplier, *, title="Propuesta técnica", text="oferta"):
    return client.post(
        _bid_url(tender, supplier, "documentos/"),
        {"supplier": supplier.pk, "title": title, "file": pdf(text), "confidential": "on"},
    )


def _offer(tender, supplier, unit="10.00", **extra) -> dict:
    documents = [str(d.pk) for d, _meta, _sent in bids.envelope_documents(tender.process, supplier)]
    return {"supplier": supplier.pk, "documents": documents, **_prices(tender, unit), **extra}


def _plain(html: str) -> str:
    """The page without the grouping separators figures may use (spaces, points)."""
    for separator in ("\xa0", "\u202f", "\u2009", "&nbsp;", " ", "."):
        html = html.replace(separator, "")
    return html


def _json_of_receipt(html: str) -> dict:
    match = re.search(
        r'download="recibo-([0-9a-f]{64})\.json" href="data:application/json;base64,'
        r'([A-Za-z0-9+/=]+)"',
        html,
    )
    assert match, "no JSON download link on the receipt page"
    receipt = json.loads(base64.b64decode(match[2]).decode("utf-8"))
    assert receipt["receipt_hash"] == match[1]
    return receipt


def test_the_bidder_submits_through_the_pages_and_keeps_a_verifiable_receipt(tender):
    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        # The process page offers the bid (bid_refusal finds nothing).
        page = client.get(f"/procesos/{tender.process.identifier}/").content.decode()
        assert "Mi oferta" in page and _bid_url(tender, supplier).replace("&", "&amp;") in page
        assert _upload(client, tender, supplier).status_code == 302
        page = client.get(_bid_url(tender, supplier)).content.decode()
        assert "Propuesta técnica" in page and "Descartar" in page
        # Review: the server computes the totals; the password is asked (force_login
        # entered none).
        response = client.post(_bid_url(tender, supplier), _offer(tender, supplier, "10.50"))
        assert response.status_code == 200
        page = response.content.decode()
        assert "2100,00" in _plain(page)
        assert 'name="password"' in page
        # Confirm without the password: refused, nothing stored.
        data = _offer(tender, supplier, "10.50")
        response = client.post(_bid_url(tender, supplier, "enviar/"), data)
        assert response.status_code == 400 and not BidVersion.objects.exists()
        # With it: the receipt, at once, with a JSON that verifies with the public key.
        response = client.post(
            _bid_url(tender, supplier, "enviar/"), {**data, "password": TEST_PASSWORD}
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert response["Cache-Control"].count("no-store")
    receipt = _json_of_receipt(page)
    assert verify_receipt(receipt, signing.public_key_pem())
    assert receipt["content"]["total"] == "2100.00"
    assert "S/2100,00" in _plain(page)  # the printable page reads in Spanish
    assert receipt["content"]["documents"][0]["confidential"] is True
    assert receipt["nonce"] in page and receipt["signature"] in page
    assert f'href="/recibos/{receipt["receipt_hash"]}/"' in page
    assert 'href="/recibos/clave-publica.pem"' in page
    tampered = {**receipt, "content": {**receipt["content"], "total": "2100.01"}}
    assert not verify_receipt(tampered, signing.public_key_pem())
    assert ReceiptLedgerEntry.objects.get().receipt_hash == receipt["receipt_hash"]
    # The bidder's pages list the version with its receipt hash.
    with clock.pinned(tender.during):
        for url in (f"/procesos/{tender.process.identifier}/", "/proveedores/mi-cuenta/ofertas/"):
            assert receipt["receipt_hash"] in client.get(url).content.decode()


def test_the_status_table_lists_every_version_to_the_second(tender):
    """One row per version, first to last: its number (the one that counts marked), kind,
    the instant received in the portal's time to the second (two versions in one minute keep
    their own seconds) and its receipt hash linked to the ledger."""
    from django.utils.formats import date_format
    from django.utils.timezone import localtime

    supplier, user = tender.bidder()
    moments = [tender.during + timedelta(seconds=s) for s in (3, 41, 75)]
    for at in moments[:2]:
        tender.submit(user, supplier, at=at)
    with clock.pinned(moments[2]):
        bids.withdraw_bid(user, tender.process, supplier)
        page = _client(user).get(_bid_url(tender, supplier)).content.decode()
    versions = list(BidVersion.objects.order_by("number"))
    rows = re.findall(
        r"<tr><td>(\d+)( <span class=\"badge\">[^<]+</span>)?</td><td>([^<]+)</td>"
        r"<td>([^<]+)</td>\s*<td><a href=\"/recibos/([0-9a-f]{64})/\">",
        page,
    )
    assert [(int(number), bool(badge)) for number, badge, *_ in rows] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    for (_n, _b, kind, received, receipt), version in zip(rows, versions, strict=True):
        at = localtime(version.received_at)
        assert received == f"{date_format(at, 'SHORT_DATETIME_FORMAT')}:{at.second:02d}"
        assert receipt == version.receipt_hash
        assert kind == ("Retiro" if version.kind == BidVersion.Kind.WITHDRAWAL else "Presentación")
    assert [row[3][-2:] for row in rows] == ["03", "41", "15"]


def test_with_the_shared_cache_a_replacement_reads_no_session_row(tender, shared_cache):
    """The last minute before a deadline, as production runs (CACHE_URL: Redis): the bid page
    and a replacement within the re-authentication window read the session from the shared
    cache (cached_db), not from its row, and the submission reads no entity row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    supplier, user = tender.bidder()
    client = Client()
    with clock.pinned(tender.during):
        client.post("/cuentas/ingresar/", {"username": user.email, "password": TEST_PASSWORD})
        assert _upload(client, tender, supplier).status_code == 302
        tender.submit(user, supplier)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(_bid_url(tender, supplier)).content.decode()
            token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page)[1]
            data = {**_offer(tender, supplier, "12.00"), "form_token": token}
            response = client.post(_bid_url(tender, supplier, "enviar/"), data)
    assert response.status_code == 200 and 'id="receipt-hash"' in response.content.decode()
    assert BidVersion.objects.filter(bid__process=tender.process).count() == 2
    statements = " ".join(query["sql"] for query in queries.captured_queries)
    assert "procurement_bidversion" in statements  # the queries were captured
    assert "django_session" not in statements
    assert "procurement_entity" not in statements


# What the bid page and a replacement within the re-authentication window cost in SQL
# statements, as production runs them (the shared cache, the database's own clock): pinned,
# so that a statement more per request shows here rather than in the last minute's rate.
BID_PAGE_STATEMENTS = 12
REPLACEMENT_STATEMENTS = 30


def test_the_bid_page_and_a_replacement_read_a_fixed_number_of_statements(shared_cache):
    """The bid stage open by the real clock (not pinned: the clock is then read from the
    database, as in production), the password entered at login: the bid page and a
    replacement each run a fixed number of statements, whatever the number of versions."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from procurement.models import ProcessStage

    tender = called_tender()
    today = clock.today()
    ProcessStage.objects.filter(pk=tender.bids_stage.pk).update(
        start=today, end=today + timedelta(days=3), closing_time=None
    )
    supplier, user = tender.bidder()
    client = Client()
    client.post("/cuentas/ingresar/", {"username": user.email, "password": TEST_PASSWORD})
    assert _upload(client, tender, supplier).status_code == 302

    def page_and_replacement(unit):
        with CaptureQueriesContext(connection) as page_queries:
            page = client.get(_bid_url(tender, supplier)).content.decode()
        token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page)[1]
        data = {**_offer(tender, supplier, unit), "form_token": token}
        with CaptureQueriesContext(connection) as queries:
            response = client.post(_bid_url(tender, supplier, "enviar/"), data)
        assert response.status_code == 200 and 'id="receipt-hash"' in response.content.decode()
        return [q["sql"] for q in page_queries], [q["sql"] for q in queries]

    page_and_replacement("11.00")  # no bid yet: the first version
    counts = []
    for unit in ("12.00", "13.00", "14.00"):
        page, submission = page_and_replacement(unit)
        counts.append((len(page), len(submission)))
    assert BidVersion.objects.filter(bid__process=tender.process).count() == 4
    assert counts == [(BID_PAGE_STATEMENTS, REPLACEMENT_STATEMENTS)] * 3, (
        counts,
        "\n".join(page),
        "\n".join(submission),
    )
    # The clock is read with the bids stage, in the page and in the submission's check (the
    # instant of receipt is read on its own, after the bid is stored).
    assert sum("clock_timestamp" in sql for sql in page) == 1
    assert sum("clock_timestamp" in sql for sql in submission) == 2
    assert not any("django_session" in sql for sql in page + submission)


def test_the_password_is_asked_outside_the_window_and_not_within_it(tender, settings):
    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        _upload(client, tender, supplier)
        data = _offer(tender, supplier)
        response = client.post(
            _bid_url(tender, supplier, "enviar/"), {**data, "password": "wrong-password"}
        )
        assert response.status_code == 400 and 'name="password"' in response.content.decode()
        response = client.post(
            _bid_url(tender, supplier, "enviar/"), {**data, "password": TEST_PASSWORD}
        )
        assert response.status_code == 200
    # Within the window: the confirmation asks nothing and a replacement goes through.
    within = tender.during + timedelta(seconds=settings.REAUTH_WINDOW_SECONDS - 60)
    with clock.pinned(within):
        data = _offer(tender, supplier, "9.00")
        response = client.post(_bid_url(tender, supplier), data)
        assert response.status_code == 200 and 'name="password"' not in response.content.decode()
        response = client.post(_bid_url(tender, supplier, "enviar/"), data)
        assert response.status_code == 200
        assert _json_of_receipt(response.content.decode())["content"]["version"] == 2
    # After it: asked again, and refused without it.
    after = tender.during + timedelta(seconds=settings.REAUTH_WINDOW_SECONDS + 60)
    with clock.pinned(after):
        data = _offer(tender, supplier, "8.00")
        assert 'name="password"' in client.post(_bid_url(tender, supplier), data).content.decode()
        response = client.post(_bid_url(tender, supplier, "enviar/"), data)
        assert response.status_code == 400
    assert BidVersion.objects.count() == 2


def test_a_double_click_makes_one_version(tender):
    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        _upload(client, tender, supplier)
        data = {**_offer(tender, supplier), "password": TEST_PASSWORD}
        data["form_token"] = "ab" * 16
        first = client.post(_bid_url(tender, supplier, "enviar/"), data)
        second = client.post(_bid_url(tender, supplier, "enviar/"), data)
    assert first.status_code == 200 and second.status_code == 200
    # The second answer is the first one's receipt (the browser shows the last answer).
    assert second.context["receipt"] == first.context["receipt"]
    assert BidVersion.objects.count() == 1 and ReceiptLedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    "price",
    [
        "-1",
        "0",
        "1e9999",
        "abc",
        "0.001",
        "NaN",
        "Infinity",
        "9" * 29,
        "1" * 40,
        "1e3",
        "1.2.3",
        "12,345.00",
    ],
)
def test_bad_prices_are_form_errors(tender, price):
    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        _upload(client, tender, supplier)
        data = {**_offer(tender, supplier), "password": TEST_PASSWORD}
        first = next(iter(_prices(tender)))
        data[first] = price
        for suffix in ("", "enviar/"):
            response = client.post(_bid_url(tender, supplier, suffix), data)
            assert response.status_code == 400, (suffix, price)
            assert 'role="alert"' in response.content.decode()
    assert not BidVersion.objects.exists()


def test_consortium_shares_must_add_to_100_and_members_must_exist(tender):
    supplier, user = tender.bidder()
    partner = SupplierFactory()
    client = _client(user)
    with clock.pinned(tender.during):
        _upload(client, tender, supplier)
        base = _offer(tender, supplier)
        cases = [
            {"lead_share": "60", "member_ruc_1": partner.ruc, "member_share_1": "30"},
            {"lead_share": "60", "member_ruc_1": "123", "member_share_1": "40"},
            {"lead_share": "60", "member_ruc_1": "20999999999", "member_share_1": "40"},
            {"lead_share": "60", "member_ruc_1": partner.ruc},
            {"lead_share": "160", "member_ruc_1": partner.ruc, "member_share_1": "-60"},
            {"member_ruc_1": partner.ruc, "member_share_1": "40"},
            {"lead_share": "60", "member_ruc_1": supplier.ruc, "member_share_1": "40"},
        ]
        for case in cases:
            response = client.post(_bid_url(tender, supplier), {**base, **case})
            assert response.status_code == 400, case
        good = {"lead_share": "60", "member_ruc_1": partner.ruc, "member_share_1": "40"}
        response = client.post(_bid_url(tender, supplier), {**base, **good})
        assert response.status_code == 400  # the partner has not confirmed yet
        assert "consortium_not_confirmed" in response.content.decode() or (
            partner.ruc in response.content.decode()
        )
    tender.consent(partner, supplier)
    with clock.pinned(tender.during):
        response = client.post(_bid_url(tender, supplier), {**base, **good})
        assert response.status_code == 200
        assert partner.legal_name in response.content.decode()


def test_withdraw_through_the_pages(tender):
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    client = _client(user)
    with clock.pinned(tender.during):
        page = client.get(_bid_url(tender, supplier, "retirar/")).content.decode()
        assert 'name="password"' in page and 'name="form_token"' in page
        response = client.post(_bid_url(tender, supplier, "retirar/"), {"supplier": supplier.pk})
        assert response.status_code == 400
        assert bids.own_bid(tender.process, supplier).status == Bid.Status.SUBMITTED
        response = client.post(
            _bid_url(tender, supplier, "retirar/"),
            {"supplier": supplier.pk, "password": TEST_PASSWORD},
        )
    assert response.status_code == 200
    receipt = _json_of_receipt(response.content.decode())
    assert receipt["kind"] == "withdrawal" and verify_receipt(receipt, signing.public_key_pem())
    assert bids.own_bid(tender.process, supplier).status == Bid.Status.WITHDRAWN


def test_a_bidder_whose_registry_lapsed_may_still_withdraw_its_bid(tender):
    """Withdrawing asks only the window and a bid in force (withdrawal_refusal): the page
    offers it whenever the service would accept it, even when the bidder may no longer bid."""
    supplier, user = tender.bidder()
    tender.submit(user, supplier)
    supplier.registry_valid_until = tender.bids_stage.start - timedelta(days=1)
    supplier.save(update_fields=["registry_valid_until"])
    client = _client(user)
    with clock.pinned(tender.during):
        assert bids.bid_refusal(tender.process, supplier) is not None
        assert bids.withdrawal_refusal(tender.process, supplier) is None
        page = client.get(_bid_url(tender, supplier)).content.decode()
        assert _bid_url(tender, supplier, "retirar/").split("?")[0] in page
        response = client.post(
            _bid_url(tender, supplier, "retirar/"),
            {"supplier": supplier.pk, "password": TEST_PASSWORD},
        )
    assert response.status_code == 200
    assert bids.own_bid(tender.process, supplier).status == Bid.Status.WITHDRAWN
    with clock.pinned(tender.during):
        refusal = bids.withdrawal_refusal(tender.process, supplier)
    assert refusal is not None and refusal.code == "no_bid"


def test_discarding_a_draft_document(tender):
    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        _upload(client, tender, supplier)
        document = SealedDocument.objects.get()
        stranger = SupplierFactory()
        url = _bid_url(tender, supplier, "documentos/descartar/")
        assert client.post(url, {"supplier": supplier.pk, "document": "nope"}).status_code == 302
        other = _client(user_of(stranger))
        response = other.post(url, {"supplier": stranger.pk, "document": str(document.pk)})
        assert response.status_code == 302 and SealedDocument.objects.exists()
        response = client.post(url, {"supplier": supplier.pk, "document": str(document.pk)})
    assert response.status_code == 302 and not SealedDocument.objects.exists()


def test_oversize_and_wrong_type_uploads_are_form_errors(tender, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    supplier, user = tender.bidder()
    client = _client(user)
    url = _bid_url(tender, supplier, "documentos/")
    with clock.pinned(tender.during):
        for upload in [
            SimpleUploadedFile("virus.exe", b"MZ\x90\x00" + b"\x00" * 100),
            SimpleUploadedFile("hoja.pdf", b"not a pdf at all"),
            SimpleUploadedFile("vacio.pdf", b""),
        ]:
            response = client.post(url, {"supplier": supplier.pk, "title": "X", "file": upload})
            assert response.status_code == 400, upload.name
        response = client.post(url, {"supplier": supplier.pk, "title": "", "file": pdf()})
        assert response.status_code == 400
        settings.DOCUMENT_MAX_UPLOAD_BYTES = 1000
        big = pdf("x" * 2000)
        response = client.post(url, {"supplier": supplier.pk, "title": "Grande", "file": big})
        assert response.status_code == 400
    assert not SealedDocument.objects.exists()


def test_staff_record_a_paper_bid(tender):
    supplier, _user = tender.bidder(legal_name=NAME)
    client = _client(tender.staff)
    url = f"/gestion/procesos/{tender.process.pk}/ofertas/"
    with clock.pinned(tender.during):
        page = client.get(url).content.decode()
        assert "en papel" in page and 'name="ruc"' in page
        assert (
            f"/gestion/procesos/{tender.process.pk}/ofertas/"
            in client.get(f"/gestion/procesos/{tender.process.pk}/").content.decode()
        )
        bad = client.post(url, {"ruc": "123", **_prices(tender), "file": pdf()})
        assert bad.status_code == 400
        response = client.post(url, {"ruc": supplier.ruc, **_prices(tender), "file": pdf()})
    assert response.status_code == 200
    receipt = _json_of_receipt(response.content.decode())
    assert receipt["paper"] is True and verify_receipt(receipt, signing.public_key_pem())
    entry = ReceiptLedgerEntry.objects.get()
    assert entry.paper and entry.receipt_hash == receipt["receipt_hash"]
    with clock.pinned(tender.during):
        page = client.get(url).content.decode()
    assert entry.receipt_hash in page and NAME not in page and supplier.ruc not in page


def test_a_late_submission_shows_the_refusal(tender):
    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        _upload(client, tender, supplier)
        data = {**_offer(tender, supplier), "password": TEST_PASSWORD}
    with clock.pinned(tender.deadline + timedelta(seconds=1)):
        page = client.get(f"/procesos/{tender.process.identifier}/").content.decode()
        assert 'data-code="late"' in page
        assert _bid_url(tender, supplier).replace("&", "&amp;") not in page
        response = client.post(_bid_url(tender, supplier, "enviar/"), data)
    assert response.status_code == 400
    assert "no se recibió" in response.content.decode() or "plazo" in response.content.decode()
    assert not BidVersion.objects.exists() and not ReceiptLedgerEntry.objects.exists()


def test_nobody_else_sees_a_bid_before_the_opening(tender):
    """Every role other than the bidder: no price, no document marker, no bidder name or
    RUC on any bid page, the process page, the staff pages or the admin."""
    bidder, bidder_user = tender.bidder(legal_name=NAME)
    tender.submit(bidder_user, bidder, prices=tender.prices(UNIT), marker=MARKER)
    with clock.pinned(tender.during):
        document = bids.upload_draft_document(
            bidder_user, tender.process, bidder, pdf(MARKER), title=MARKER
        )
    assert document
    other, other_user = tender.bidder()
    outsider_staff = staff_of(EntityFactory())
    roles = {
        "anonymous": None,
        "another supplier": other_user,
        "entity staff": tender.staff,
        "another entity's staff": outsider_staff,
        "auditor": auditor(),
        "admin": admin_user(),
    }
    process = tender.process
    bid = Bid.objects.get()
    version = BidVersion.objects.get()
    entry = ReceiptLedgerEntry.objects.get()
    urls = [
        f"/procesos/{process.identifier}/",
        f"/procesos/{process.identifier}/oferta/",
        f"/procesos/{process.identifier}/oferta/?supplier={bidder.pk}",
        f"/procesos/{process.identifier}/oferta/retirar/",
        f"/procesos/{process.identifier}/oferta/retirar/?supplier={bidder.pk}",
        "/proveedores/mi-cuenta/ofertas/",
        f"/gestion/procesos/{process.pk}/",
        f"/gestion/procesos/{process.pk}/ofertas/",
        "/admin/procurement/bid/",
        f"/admin/procurement/bid/{bid.pk}/change/",
        "/admin/procurement/bidversion/",
        f"/admin/procurement/bidversion/{version.pk}/change/",
        "/admin/procurement/receiptledgerentry/",
        f"/admin/procurement/receiptledgerentry/{entry.pk}/change/",
        f"/admin/procurement/procurementprocess/{process.pk}/change/",
        "/admin/",
    ]
    forbidden = [MARKER, NAME, bidder.ruc, bidder_user.email, *PRICE_TEXTS]
    seen_hash = False
    with clock.pinned(tender.during):
        for role, user in roles.items():
            client = _client(user)
            for url in urls:
                response = client.get(url)
                assert response.status_code < 500, (role, url)
                body = response.content.decode()
                plain = _plain(body)
                for text in forbidden:
                    assert text not in body, (role, url, text)
                assert "432187" not in plain and "4321,87" not in plain, (role, url)
                seen_hash |= entry.receipt_hash in body
            # Posting as the bidder is refused too.
            response = client.post(
                f"/procesos/{process.identifier}/oferta/?supplier={bidder.pk}",
                {"supplier": bidder.pk, **_prices(tender)},
            )
            assert response.status_code in (302, 403), (role, response.status_code)
    assert seen_hash  # the staff page and the admin do show the receipt hash
    # The bidder itself sees its own envelope.
    with clock.pinned(tender.during):
        page = _client(bidder_user).get(_bid_url(tender, bidder)).content.decode()
    assert MARKER in page


def test_the_one_time_tokens_kept_in_the_database_do_not_name_the_bidder(tender):
    """core.idempotency keeps each form token with a result URL: for a bid or a withdrawal
    it must not be the bidder's page (?supplier=<id> names who bid, in any database dump)."""
    import hashlib

    from core.models import FormSubmission

    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        _upload(client, tender, supplier)
        data = {**_offer(tender, supplier), "password": TEST_PASSWORD, "form_token": "cd" * 16}
        first = client.post(_bid_url(tender, supplier, "enviar/"), data)
        assert first.status_code == 200
        receipt = first.context["receipt"]
        withdrawn = client.post(
            _bid_url(tender, supplier, "retirar/"),
            {"supplier": supplier.pk, "form_token": "ef" * 16},
        )
        assert withdrawn.status_code == 200
        # A second click is shown the first answer's receipt again, nonce included.
        again = client.post(_bid_url(tender, supplier, "enviar/"), data)
        assert again.status_code == 200 and again.context["receipt"] == receipt
        assert receipt.nonce in again.content.decode()
    kept = list(FormSubmission.objects.values_list("token", "result_url", "sealed_result"))
    digests = {hashlib.sha256(t.encode()).hexdigest() for t in ("cd" * 16, "ef" * 16)}
    assert {token for token, _url, _sealed in kept} >= digests  # the tokens' SHA-256 only
    for _token, url, sealed in kept:
        assert "supplier=" not in url and tender.process.identifier not in url
        # The kept receipt is ciphertext: without the token, no nonce and no price.
        assert sealed is None or (
            receipt.nonce.encode() not in bytes(sealed) and b"10.00" not in bytes(sealed)
        )


def test_no_cookie_carries_a_sealed_documents_title(tender):
    """The flash message after an upload travels in a signed (readable) cookie: it must not
    repeat the title, which is sealed content until the opening."""
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory

    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        response = _upload(client, tender, supplier, title="Marcador Confidencial 7731")
    assert response.status_code == 302
    stored = CookieStorage(RequestFactory().get("/"))._decode(response.cookies["messages"].value)
    assert stored and all("7731" not in str(message) for message in stored)
    assert "7731" not in str(dict(client.session))


def _consortium_offer(tender, lead, member):
    return _offer(tender, lead, lead_share="70", member_ruc_1=member.ruc, member_share_1="30")


def test_the_consortium_refusal_is_the_same_whether_the_member_bids_or_not(tender):
    """The probe: a participant names a supplier that bids alone, then one that does not
    bid at all: the two answers are identical but for the RUC (and the form token)."""
    alone, alone_user = tender.bidder()
    tender.submit(alone_user, alone)
    idle, _idle_user = tender.bidder()
    prober, prober_user = tender.bidder()
    client = _client(prober_user)
    pages = []
    with clock.pinned(tender.during):
        _upload(client, tender, prober)
        client.get(_bid_url(tender, prober))  # shows (and spends) the upload's message
        for member in (alone, idle):
            data = _consortium_offer(tender, prober, member)
            response = client.post(_bid_url(tender, prober), data)
            assert response.status_code == 400
            html = response.content.decode().replace(member.ruc, "<RUC>")
            html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
            pages.append(re.sub(r'name="form_token" value="[^"]+"', "", html))
    assert pages[0] == pages[1]
    assert "<RUC> has not confirmed that it takes part in your consortium" in pages[0] or (
        "&lt;RUC&gt; no ha confirmado" in pages[0] or "<RUC> no ha confirmado" in pages[0]
    )


def test_consent_through_the_page_then_the_consortium_bid(tender):
    lead, lead_user = tender.bidder()
    member, member_user = tender.bidder()
    stranger = user_of(SupplierFactory())
    consent_url = _bid_url(tender, member, "consorcio/")
    with clock.pinned(tender.during):
        # Another supplier's user cannot consent on the member's behalf.
        response = _client(stranger).post(
            consent_url, {"supplier": member.pk, "lead": lead.ruc, "confirm": "on"}
        )
        assert response.status_code == 403
        assert bids.own_consent(tender.process, member) is None
        client = _client(member_user)
        page = client.get(_bid_url(tender, member)).content.decode()
        assert 'id="consortium"' in page and 'name="lead"' in page
        response = client.post(consent_url, {"supplier": member.pk, "lead": lead.ruc})
        assert response.status_code == 400  # the confirmation box is required
        response = client.post(
            consent_url, {"supplier": member.pk, "lead": lead.ruc, "confirm": "on"}
        )
        assert response.status_code == 302
        page = client.get(_bid_url(tender, member)).content.decode()
        assert lead.ruc in page and lead.legal_name in page
        assert 'name="lead"' not in page
    receipt = tender.submit(
        lead_user, lead, members=[(lead, Decimal(70), True), (member, Decimal(30), False)]
    )
    assert [m["ruc"] for m in receipt.content["members"]] == [lead.ruc, member.ruc]
    with clock.pinned(tender.during):
        page = client.get(_bid_url(tender, member)).content.decode()
        assert "consented_member" in page  # it cannot bid alone: told on its own page
        response = client.post(
            _bid_url(tender, member, "consorcio/retirar/"), {"supplier": member.pk}
        )
        assert response.status_code == 400
    assert bids.own_consent(tender.process, member).included


def test_my_bids_lists_each_kind_of_bid_in_the_same_number_of_queries(tender):
    """The bidder's list finds its bids by blind tags in a fixed number of queries: a bid it
    leads, one it is a consortium member of, one recorded on paper for it, and none."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from procurement.services import participation

    lead, lead_user = tender.bidder()
    others = [called_tender(items=1) for _ in range(3)]

    def listed():
        client = Client()
        client.force_login(lead_user)
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/proveedores/mi-cuenta/ofertas/").content.decode()
        return page, len(queries)

    tender.submit(lead_user, lead)  # leads it
    _page, few = listed()
    member_tender = others[0]
    with clock.pinned(member_tender.during):
        participation.register_participant(lead_user, member_tender.process, lead)
    partner, partner_user = member_tender.bidder()
    member_tender.consent(lead, partner, user=lead_user)
    member_tender.submit(
        partner_user,
        partner,
        members=[(partner, Decimal("50"), True), (lead, Decimal("50"), False)],
    )
    paper_tender = others[1]
    with clock.pinned(paper_tender.during):
        participation.register_participant(lead_user, paper_tender.process, lead)
        bids.record_paper_bid(
            paper_tender.staff, paper_tender.process, lead, prices=paper_tender.prices()
        )
    with clock.pinned(others[2].during):
        participation.register_participant(lead_user, others[2].process, lead)
    page, many = listed()
    assert many == few, (many, few)
    assert page.count("en papel") == 1 and page.count("Presentada") == 3


def test_bid_documents_never_touch_the_disk_in_plain_text(tender, settings, monkeypatch, tmp_path):
    """Above FILE_UPLOAD_MAX_MEMORY_SIZE Django would spool an upload to a temporary file in
    plain text: the bid upload keeps it in memory until it is sealed, and refuses what is
    above the limits as it arrives, with the limit in the message."""
    from django.core.files.uploadedfile import InMemoryUploadedFile

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100  # every file would go to disk
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    received = []
    original = bids.upload_draft_document

    def spy(user, process, supplier, upload, **kwargs):
        received.append(type(upload))
        return original(user, process, supplier, upload, **kwargs)

    monkeypatch.setattr(bids, "upload_draft_document", spy)
    supplier, user = tender.bidder()
    client = _client(user)
    with clock.pinned(tender.during):
        assert _upload(client, tender, supplier, text="x" * 5000).status_code == 302
        assert received == [InMemoryUploadedFile] and not list(spool.iterdir())
        settings.DOCUMENT_MAX_UPLOAD_BYTES = 2000
        response = _upload(client, tender, supplier, text="y" * 5000)
    assert response.status_code == 400 and len(received) == 1
    assert "no se recibió nada" in response.content.decode()
    assert SealedDocument.objects.count() == 1


def test_the_sealed_upload_keeps_its_csrf_check(tender):
    supplier, user = tender.bidder()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    with clock.pinned(tender.during):
        response = _upload(client, tender, supplier)
        assert response.status_code == 403
        staff = Client(enforce_csrf_checks=True)
        staff.force_login(tender.staff)
        paper = staff.post(f"/gestion/procesos/{tender.process.pk}/ofertas/", {"ruc": supplier.ruc})
        assert paper.status_code == 403
    assert not SealedDocument.objects.exists()
