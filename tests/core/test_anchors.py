import base64
import json
import stat
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from config.celery import app as celery_app
from core import anchors, audit, keys, signing
from core.models import AuditEntry
from core.tasks import publish_audit_anchor
from tests.factories import EntityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _write_entries(count=5):
    user = UserFactory()
    entity = EntityFactory()
    return [audit.record(user, "entity.updated", entity, {"step": n}) for n in range(count)]


def _raw_sql(*statements):
    """Run SQL as a database owner could, with the append-only triggers switched off."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def _verify_fails() -> str:
    with pytest.raises(CommandError) as error:
        call_command("verify_audit")
    return str(error.value)


def test_publish_signs_the_head_and_skips_when_it_has_not_moved(settings):
    entries = _write_entries(3)
    anchor = anchors.publish_anchor()
    assert anchor.sequence == entries[-1].sequence
    assert anchor.entry_hash == entries[-1].entry_hash
    assert anchors.publish_anchor() is None  # head unchanged: nothing written
    _write_entries(1)
    assert publish_audit_anchor.delay().get() == entries[-1].sequence + 1
    files = list(settings.ANCHOR_DIR.glob("anchors-*.jsonl"))
    lines = files[0].read_text().splitlines()
    assert len(files) == 1 and len(lines) == 2
    stored = json.loads(lines[0])
    assert signing.verify(anchors.canonical(stored["statement"]), stored["signature"])
    assert anchors.latest().sequence == entries[-1].sequence + 1
    assert "consistent with 2 signed anchors" in _verify_ok()


def _verify_ok() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_an_empty_chain_publishes_nothing(settings):
    assert anchors.publish_anchor() is None
    assert not settings.ANCHOR_DIR.exists() or not list(settings.ANCHOR_DIR.iterdir())


def test_editing_and_recomputing_every_hash_is_detected():
    entries = _write_entries()
    anchors.publish_anchor()
    # Edit entry 2, then rewrite the hashes after it so that the chain is consistent again.
    rewritten = list(AuditEntry.objects.order_by("sequence"))
    rewritten[1].data = {"step": 99}
    previous = rewritten[0].entry_hash
    statements = []
    for entry in rewritten[1:]:
        entry.previous_hash = previous
        entry.entry_hash = audit.compute_hash(entry)
        previous = entry.entry_hash
        statements.append(
            (
                "UPDATE core_auditentry SET data = %s, previous_hash = %s, entry_hash = %s "
                "WHERE id = %s",
                [json.dumps(entry.data), entry.previous_hash, entry.entry_hash, entry.pk],
            )
        )
    _raw_sql(*statements)
    assert audit.verify_chain().ok  # the chain alone no longer tells
    message = _verify_fails()
    assert f"entry #{entries[-1].sequence} has hash" in message
    assert "rewritten" in message


def test_deleting_the_last_entries_is_detected():
    entries = _write_entries()
    anchors.publish_anchor()
    _raw_sql(("DELETE FROM core_auditentry WHERE sequence > %s", [entries[2].sequence]))
    assert audit.verify_chain().ok
    message = _verify_fails()
    assert f"ends at entry #{entries[2].sequence}" in message
    assert f"entry #{entries[-1].sequence}" in message and "deleted" in message


def test_truncating_the_trail_is_detected():
    entries = _write_entries()
    anchors.publish_anchor()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the pending foreign-key checks
        cursor.execute("TRUNCATE core_auditentry")
    assert audit.verify_chain().ok and audit.verify_chain().checked == 0
    message = _verify_fails()
    assert "ends at entry #0 but anchor" in message
    assert f"entry #{entries[-1].sequence}" in message


def test_an_anchor_with_a_bad_signature_is_reported(settings):
    _write_entries(2)
    anchor = anchors.publish_anchor()
    path = next(settings.ANCHOR_DIR.glob("anchors-*.jsonl"))
    forged = {**anchor.statement, "sequence": 1, "entry_hash": "f" * 64}
    with path.open("a") as handle:
        handle.write(json.dumps({"statement": forged, "signature": anchor.signature}) + "\n")
        handle.write("not json\n")
    message = _verify_fails()
    assert f"{path.name}:2 (entry #1) has an invalid signature" in message
    assert f"{path.name}:3 is not a valid anchor" in message
    # The forged line is not what the public page shows.
    assert anchors.latest().sequence == anchor.sequence


def test_an_anchor_signed_by_another_key_is_reported(settings, tmp_path):
    _write_entries(2)
    settings.PORTAL_SIGNING_KEY_FILE = str(tmp_path / "other.pem")
    anchors.publish_anchor()
    settings.PORTAL_SIGNING_KEY_FILE = str(tmp_path / "portal.pem")
    assert "has an invalid signature" in _verify_fails()


def test_the_anchor_page_shows_the_latest_anchor(client):
    assert client.get("/auditoria/ancla/", {"format": "json"}).json()["anchor"] is None
    assert client.get("/auditoria/ancla/").status_code == 200
    entries = _write_entries(2)
    anchors.publish_anchor()
    response = client.get("/auditoria/ancla/")
    assert response.status_code == 200
    assert entries[-1].entry_hash in response.content.decode()
    data = client.get("/auditoria/ancla/", {"format": "json"}).json()
    assert data["anchor"]["statement"]["sequence"] == entries[-1].sequence
    assert data["anchor"]["statement"]["entry_hash"] == entries[-1].entry_hash
    pem = client.get("/auditoria/ancla/clave-publica.pem")
    assert pem.status_code == 200 and pem.content.decode() == signing.public_key_pem()
    assert data["public_key_url"].endswith("/auditoria/ancla/clave-publica.pem")
    # The receipts' key (CONTRACT.md) is the same portal key.
    assert client.get("/recibos/clave-publica.pem").content == pem.content
    # Anyone can check the signature with the published key alone.
    published = load_pem_public_key(pem.content)
    statement = data["anchor"]["statement"]
    assert signing.verify(anchors.canonical(statement), data["anchor"]["signature"], published)


def test_the_anchors_are_published_in_an_atom_feed_too(client):
    """/auditoria/ancla/?format=atom: the latest anchors, newest first, each entry with its
    signed statement and signature, so feed readers and archives keep copies."""
    import xml.etree.ElementTree as ET

    empty = client.get("/auditoria/ancla/", {"format": "atom"})
    assert empty.status_code == 200 and empty["Content-Type"].startswith("application/atom+xml")
    first = _write_entries(1)[-1]
    anchors.publish_anchor()
    second = _write_entries(1)[-1]
    anchors.publish_anchor()
    response = client.get("/auditoria/ancla/", {"format": "atom"})
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ET.fromstring(response.content).findall(f"{atom}entry")  # noqa: S314 - our own feed
    assert [e.find(f"{atom}title").text for e in entries] == [
        f"Entrada #{second.sequence}",
        f"Entrada #{first.sequence}",
    ]
    text = entries[0].find(f"{atom}summary").text
    statement = json.dumps(anchors.latest().statement, sort_keys=True, separators=(",", ":"))
    assert anchors.latest().signature in text and second.entry_hash in text
    assert anchors.canonical(anchors.latest().statement).decode() in text or statement in text
    assert [a.sequence for a in anchors.recent(1)] == [second.sequence]


def test_the_signing_key_file_is_created_once_owner_only_and_reused(settings, tmp_path):
    path = tmp_path / "var" / "portal_signing_key.pem"
    settings.PORTAL_SIGNING_KEY = ""
    settings.PORTAL_SIGNING_KEY_FILE = str(path)
    settings.PORTAL_SIGNING_KEY_CREATE_IF_MISSING = True
    public = signing.public_key_pem()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    assert b"PRIVATE KEY" in content
    signing._private_key.cache_clear()
    assert signing.public_key_pem() == public
    assert path.read_bytes() == content
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_a_configured_key_file_is_never_generated(settings, tmp_path):
    settings.PORTAL_SIGNING_KEY = ""
    settings.PORTAL_SIGNING_KEY_FILE = str(tmp_path / "missing.pem")
    settings.PORTAL_SIGNING_KEY_CREATE_IF_MISSING = False
    with pytest.raises(ImproperlyConfigured, match="PORTAL_SIGNING_KEY_FILE"):
        signing.private_key()
    assert not (tmp_path / "missing.pem").exists()
    settings.PORTAL_SIGNING_KEY = "not a pem"
    with pytest.raises(ImproperlyConfigured, match="PEM"):
        signing.private_key()


def test_the_bid_master_key_is_created_once_owner_only(settings, tmp_path):
    path = tmp_path / "bid_master_key"
    settings.BID_MASTER_KEY = ""
    settings.BID_MASTER_KEY_FILE = str(path)
    settings.BID_MASTER_KEY_CREATE_IF_MISSING = True
    key = keys.bid_master_key()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.bid_master_key() == key
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"sealed")) == b"sealed"


def test_a_signature_from_another_key_does_not_verify():
    other = Ed25519PrivateKey.generate()
    forged = base64.b64encode(other.sign(b"statement")).decode()
    assert signing.verify(b"statement", signing.sign(b"statement"))
    assert not signing.verify(b"statement", forged)
    assert not signing.verify(b"statement", "%%% not base64")


def test_seed_demo_ends_by_anchoring_the_trail():
    with transaction.atomic():
        entry = audit.record(None, "demo.prepared", ("demo", 1))
    call_command(
        "seed_demo",
        "--processes",
        "10",
        "--suppliers",
        "20",
        "--today",
        "2026-03-16",
        stdout=StringIO(),
    )
    head = AuditEntry.objects.order_by("-sequence").first()
    assert head.sequence >= entry.sequence
    assert (anchors.latest().sequence, anchors.latest().entry_hash) == (
        head.sequence,
        head.entry_hash,
    )


def test_the_anchor_task_is_scheduled_every_five_minutes(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["publish-audit-anchor"]
    assert schedule["task"] == publish_audit_anchor.name
    assert schedule["task"] in celery_app.tasks
    assert schedule["schedule"] == 300


def test_latest_reads_the_tail_of_a_long_month(settings):
    _write_entries(1)
    first = anchors.publish_anchor()
    path = next(settings.ANCHOR_DIR.glob("anchors-*.jsonl"))
    line = path.read_text()
    path.write_text(line * 400)  # ~150 KB, more than the tail that is read first
    _write_entries(1)
    second = anchors.publish_anchor()
    assert second.sequence == first.sequence + 1
    assert anchors.latest() == anchors.Anchor(second.statement, second.signature, path.name)
    assert "consistent with 401 signed anchors" in _verify_ok()
