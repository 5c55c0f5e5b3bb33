"""The cryptography of sealed bids: AES-GCM blobs and chunked files that fail when touched,
blind tags, master-key rotation, and the rule that only the opening decrypts."""

import ast
import os
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.core.management import call_command

from procurement import sealing
from procurement.models import ProcessSealKey
from tests.procurement.bidding import called_tender

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
ALLOWED_DECRYPTERS = {
    "procurement/sealing.py",
    "procurement/services/opening.py",
    # A form's own first answer (a bid's receipt), sealed under a key derived from the form's
    # one-time token, which only the page that sent it holds (the database keeps its
    # SHA-256): opened only for a second submission of that same form. Never a bid.
    "core/idempotency.py",
}
DECRYPTERS = {"unseal", "unseal_file"}


def test_a_sealed_blob_opens_only_with_its_key_and_place():
    key = os.urandom(32)
    blob = sealing.seal(key, b"precio 98765.43", b"bid-version:1")
    assert b"98765" not in blob
    assert sealing.unseal(key, blob, b"bid-version:1") == b"precio 98765.43"
    for wrong_key, aad in [(os.urandom(32), b"bid-version:1"), (key, b"bid-version:2")]:
        with pytest.raises(sealing.SealBroken):
            sealing.unseal(wrong_key, blob, aad)
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(sealing.SealBroken):
        sealing.unseal(key, bytes(tampered), b"bid-version:1")


def _chunks(data: bytes, size: int):
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_a_sealed_file_is_ciphertext_and_fails_when_truncated_or_altered(monkeypatch):
    monkeypatch.setattr(sealing, "CHUNK", 1000)
    key, document = os.urandom(32), uuid.uuid4()
    data = b"MARCADOR-SECRETO " * 200  # 3,400 bytes: 4 chunks of 1,000
    stored = sealing.seal_file(key, document, _chunks(data, 333), "sealed/test/doc.bin")
    raw = default_storage.open(stored.name).read()
    assert b"MARCADOR" not in raw and stored.size == len(data)
    assert b"".join(sealing.unseal_file(key, document, stored.name)) == data
    with pytest.raises(sealing.SealBroken):
        list(sealing.unseal_file(key, uuid.uuid4(), stored.name))  # moved to another document
    record = 4 + 12 + 1000 + 16
    cases = {
        "truncated": raw[: 4 + 3 * record],  # the last chunk dropped: the third is not "last"
        "altered": raw[:100] + bytes([raw[100] ^ 1]) + raw[101:],
        "reordered": raw[:4]
        + raw[4 + record : 4 + 2 * record]
        + raw[4 : 4 + record]
        + raw[4 + 2 * record :],
        "extended": raw + raw[4 : 4 + record],
    }
    path = Path(default_storage.path(stored.name))
    for label, content in cases.items():
        path.write_bytes(content)
        with pytest.raises(sealing.SealBroken):
            list(sealing.unseal_file(key, document, stored.name))
            pytest.fail(f"a {label} file was accepted")


def test_an_empty_file_seals_to_one_authenticated_chunk():
    key, document = os.urandom(32), uuid.uuid4()
    stored = sealing.seal_file(key, document, [], "sealed/test/empty.bin")
    assert b"".join(sealing.unseal_file(key, document, stored.name)) == b""


def test_blind_tags_are_stable_per_process_and_differ_across_processes():
    one, two = os.urandom(32), os.urandom(32)
    assert sealing.tag(one, 7) == sealing.tag(one, 7) != sealing.tag(one, 8)
    assert sealing.tag(one, 7) != sealing.tag(two, 7)
    assert len(sealing.tag(one, 7)) == 64


def _references(tree: ast.AST, names: set[str]) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        name = getattr(node, "id", None) or getattr(node, "attr", None)
        if isinstance(node, ast.Name | ast.Attribute) and name in names:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom):
            lines.extend(node.lineno for alias in node.names if alias.name in names)
        elif isinstance(node, ast.Constant) and node.value in names:  # getattr(sealing, "...")
            lines.append(node.lineno)
    return lines


def _project_sources():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "var/", "node_modules/")) or "/." in relative:
            continue
        yield relative, path


def test_only_the_opening_service_may_decrypt():
    offenders = []
    scanned = 0
    for relative, path in _project_sources():
        scanned += 1
        if relative in ALLOWED_DECRYPTERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        offenders += [f"{relative}:{line}" for line in _references(tree, DECRYPTERS)]
        # Nothing else may decrypt by other means either (AES-GCM or Fernet directly).
        offenders += [
            f"{relative}:{line} (decrypt)" for line in _references(tree, {"decrypt", "AESGCM"})
        ]
    assert scanned > 50
    assert not offenders, f"decrypting outside the opening service: {offenders}"


def test_the_draft_manifest_is_read_only_while_sealing_the_bidders_submission():
    users = [
        relative
        for relative, path in _project_sources()
        if _references(ast.parse(path.read_text(encoding="utf-8")), {"read_draft_manifest"})
    ]
    assert set(users) <= {"procurement/sealing.py", "procurement/services/bids.py"}


def test_process_keys_are_wrapped_and_rotate_to_a_new_master_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.BID_MASTER_KEY, settings.BID_MASTER_KEY_PREVIOUS = old, ""
    tender = called_tender(items=1)
    key = sealing.process_key(tender.process)
    wrapped = ProcessSealKey.objects.get(process=tender.process).wrapped_key
    assert key.hex() not in wrapped and Fernet(old.encode()).decrypt(wrapped.encode()) == key
    blob = sealing.seal(key, b"contenido", b"aad")

    settings.BID_MASTER_KEY = new  # changed without a rotation: refused, clearly
    with pytest.raises(ImproperlyConfigured):
        sealing.process_key(tender.process)
    settings.BID_MASTER_KEY_PREVIOUS = old  # the old key unwraps meanwhile
    assert sealing.process_key(tender.process) == key
    call_command("rotate_bid_keys", verbosity=0)
    rotated = ProcessSealKey.objects.get(process=tender.process).wrapped_key
    assert rotated != wrapped
    settings.BID_MASTER_KEY_PREVIOUS = ""  # rotation done: the new key alone opens it
    assert sealing.process_key(tender.process) == key
    assert sealing.unseal(sealing.process_key(tender.process), blob, b"aad") == b"contenido"
    settings.BID_MASTER_KEY = old
    with pytest.raises(ImproperlyConfigured):
        sealing.process_key(tender.process)


def test_rotation_refuses_a_key_it_cannot_unwrap(settings):
    settings.BID_MASTER_KEY = Fernet.generate_key().decode()
    tender = called_tender(items=1)
    sealing.process_key(tender.process)
    settings.BID_MASTER_KEY = Fernet.generate_key().decode()
    with pytest.raises(ImproperlyConfigured):
        call_command("rotate_bid_keys", verbosity=0)
