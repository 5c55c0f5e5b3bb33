"""Nothing of a bid's content or its bidder can be read before the opening: not in the
database (a full pg_dump and every text/bytea column), not in the media folder (ciphertext
only), not in logs, not in audit or event payloads."""

import logging
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from core import clock
from core.models import AuditEntry
from core.ruc import with_check_digit
from notifications.models import Audience, Event
from procurement.services import bids
from tests.procurement.bidding import called_tender

MARKER = "MARCADOR-SECRETO-7f3a9c"
PRICE = Decimal("98765.43")
PRICE_TEXTS = ["98765.43", "98765,43", "9876543"]


def _bid_with_marker(**supplier_fields):
    tender = called_tender()
    supplier, user = tender.bidder(**supplier_fields)
    receipt = tender.submit(user, supplier, prices=tender.prices(PRICE), marker=MARKER)
    tender.submit(user, supplier, prices=tender.prices(PRICE), marker=MARKER)  # a replacement
    assert receipt.content["prices"][0]["unit_price"] == str(PRICE)  # the bidder sees it
    return tender, supplier, user


def _needles() -> list[bytes]:
    texts = [MARKER, *PRICE_TEXTS]
    return [t.encode() for t in texts] + [t.encode().hex().encode() for t in texts]


def _media_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def _assert_media_holds_only_ciphertext():
    files = _media_files()
    assert files and all(p.relative_to(settings.MEDIA_ROOT).parts[0] == "sealed" for p in files)
    for path in files:
        data = path.read_bytes()
        for needle in _needles():
            assert needle not in data, f"{needle!r} in {path}"
        assert b"%PDF" not in data


def _text_and_binary_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'bytea', 'jsonb', 'json', 'numeric')"
        )
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_a_full_pg_dump_holds_neither_the_marker_nor_the_price():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    _bid_with_marker()
    db = connection.settings_dict
    command = ["pg_dump", "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-U", db["USER"]]
    if db.get("PORT"):
        command += ["-p", str(db["PORT"])]
    dump = subprocess.run(
        [*command, db["NAME"]],
        capture_output=True,
        check=True,
        env={"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
        timeout=300,
    ).stdout
    assert b"procurement_bidversion" in dump and len(dump) > 100_000
    for needle in _needles():
        assert needle not in dump, needle
    _assert_media_holds_only_ciphertext()


@pytest.mark.django_db
def test_no_column_of_any_table_holds_the_marker_or_the_price(caplog):
    caplog.set_level(logging.DEBUG)
    tender, supplier, user = _bid_with_marker()
    columns = _text_and_binary_columns()
    assert len(columns) > 100
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column, data_type in columns:
            for needle in [MARKER, *PRICE_TEXTS]:
                if data_type == "bytea":
                    condition = f"position(%s::bytea in {quote(column)}) > 0"
                    param = needle.encode()
                else:
                    condition = f"{quote(column)}::text LIKE %s"
                    param = f"%{needle}%"
                cursor.execute(f"SELECT count(*) FROM {quote(table)} WHERE {condition}", [param])
                assert cursor.fetchone()[0] == 0, f"{needle} found in {table}.{column}"
    _assert_media_holds_only_ciphertext()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for needle in [MARKER, *PRICE_TEXTS, supplier.ruc, user.email]:
        assert needle not in logged


@pytest.mark.django_db
def test_audit_and_event_payloads_of_bids_name_nobody():
    tender, supplier, user = _bid_with_marker()
    with clock.pinned(tender.during):
        bids.withdraw_bid(user, tender.process, supplier)
    identities = [supplier.ruc, supplier.legal_name, user.email]
    entries = AuditEntry.objects.filter(action__startswith="bid.")
    assert {e.action for e in entries} >= {"bid.received", "bid.withdrawn"}
    for entry in entries:
        assert entry.actor_id is None and entry.actor_label == "system"
        assert set(entry.data) <= {"identifier", "receipt_hash", "kind"}
        flat = f"{entry.data} {entry.object_type} {entry.object_id}"
        assert not [i for i in identities if i in flat], flat
    events = Event.objects.filter(kind="bid.received")
    assert events.count() == 3
    for event in events:
        assert event.audience == Audience.BIDDER
        assert set(event.payload) == {"identifier", "receipt"}
        assert not [i for i in identities if i in f"{event.payload} {event.object_id}"]


@pytest.mark.django_db
def test_the_mail_outbox_and_the_public_exports_say_nothing_of_the_bid(client, mailoutbox):
    """After a bid (and its replacement), dispatching every pending event sends no e-mail
    naming the bidder, its prices or its documents, except the receipts sent to the bidder's
    own user (which still carry no price or document); the public CSV of processes and the
    ledger pages name nobody either."""
    from notifications.dispatch import dispatch_pending

    # A RUC of its own: the factories' entity and supplier sequences can share one.
    tender, supplier, user = _bid_with_marker(ruc=with_check_digit("2061234567"))
    assert supplier.ruc != tender.process.entity.ruc
    dispatch_pending()
    needles = [MARKER, *PRICE_TEXTS, supplier.ruc, supplier.legal_name, user.email]
    receipts = [m for m in mailoutbox if m.to == [user.email]]
    assert len(receipts) == 2 and all("Constancia de oferta" in m.subject for m in receipts)
    for message in mailoutbox:
        text = f"{message.subject} {message.body} {message.to} " + " ".join(
            str(body) for body, _type in getattr(message, "alternatives", [])
        )
        allowed = {user.email} if message in receipts else set()
        assert not [n for n in needles if n in text and n not in allowed], message.subject
    pages = [
        "/procesos/?format=csv",
        f"/procesos/{tender.process.identifier}/",
        f"/procesos/{tender.process.identifier}/apertura/",
        "/recibos/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response) if response.streaming else response.content
        text = body.decode()
        assert not [n for n in needles if n in text], url
