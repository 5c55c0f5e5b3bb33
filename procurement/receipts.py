"""Bid receipts and the public receipt ledger.

A receipt proves that a given bid content was received at a given instant, without showing it
to anyone else:

    receipt_hash = SHA-256( canonical({"content": ..., "received_at": ..., "nonce": ...}) )

where canonical() is JSON with sorted keys, separators (",", ":"), ensure_ascii=False, UTF-8;
prices are strings with 2 decimals; instants ISO 8601 in UTC with microseconds; the nonce is
32 random hex characters (so nobody can confirm a guessed price against a published hash).
The portal signs the hash's hex string (ASCII) with its Ed25519 key (core.signing); anyone
verifies it with the public key at /recibos/clave-publica.pem (`verify_receipt`).

Every receipt is appended to the ledger (ReceiptLedgerEntry), chained:

    chain_hash = SHA-256( "|".join([previous_hash, receipt_hash, process identifier,
                                    received_at ISO, str(position), kind,
                                    "paper" or "electronic"]) )

with previous_hash of the first entry = 64 zeros. `verify_ledger()` walks it and reports the
first bad entry (`manage.py verify_receipts`).
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction

from core import signing

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the advisory lock that serialises ledger writers (the audit
# trail uses another one).
_LEDGER_LOCK_KEY = 7_305_202_612
CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    """A price as the canonical content writes it: a string with exactly 2 decimals."""
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def instant(moment: datetime) -> str:
    """An instant as the canonical content writes it: ISO 8601, UTC, microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def receipt_hash(content: dict, received_at: str, nonce: str) -> str:
    """The receipt hash (hex) of a bid content received at `received_at` (ISO string)."""
    body = {"content": content, "received_at": received_at, "nonce": nonce}
    return hashlib.sha256(canonical(body)).hexdigest()


def sign(receipt_hash_hex: str) -> str:
    """The portal's Ed25519 signature (base64) of the receipt hash's hex string."""
    return signing.sign(receipt_hash_hex.encode("ascii"))


def chain_hash(
    previous: str,
    receipt: str,
    identifier: str,
    received_at: str,
    position: int,
    kind: str,
    paper: bool,
) -> str:
    """The entry's link in the chain: every column the public ledger shows is in it, so
    none can be changed (not even the paper flag) without breaking the chain."""
    channel = "paper" if paper else "electronic"
    text = "|".join([previous, receipt, identifier, received_at, str(position), kind, channel])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SubmittedReceipt:
    """The full receipt the bidder gets, once, at submission: with it (and the public key)
    anyone can recompute the hash and check the signature; nobody else ever sees the content
    or the nonce before the opening."""

    content: dict
    nonce: str
    received_at: str
    receipt_hash: str
    signature: str
    key_id: str
    position: int
    chain_hash: str
    kind: str
    paper: bool = False
    algorithm: str = field(
        default="sha256(canonical_json({content, received_at, nonce})); Ed25519 over the hex hash"
    )

    def as_dict(self) -> dict:
        return asdict(self)

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, indent=2, ensure_ascii=False)


def verify_receipt(receipt: dict, public_key_pem: str | bytes) -> bool:
    """True when the receipt's hash recomputes from its content, instant and nonce, and its
    signature is the holder of `public_key_pem`'s. Needs nothing from the portal but the key."""
    if isinstance(public_key_pem, str):
        public_key_pem = public_key_pem.encode("ascii")
    try:
        key = serialization.load_pem_public_key(public_key_pem)
        recomputed = receipt_hash(receipt["content"], receipt["received_at"], receipt["nonce"])
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(key, Ed25519PublicKey) or recomputed != receipt.get("receipt_hash"):
        return False
    return signing.verify(recomputed.encode("ascii"), receipt.get("signature", ""), key)


def append_to_ledger(*, process, receipt: str, received_at: datetime, kind: str, paper: bool):
    """Append one receipt to the ledger, under an advisory lock so the chain never forks.
    Must run inside the transaction that stores the bid version."""
    from .models import ReceiptLedgerEntry

    if not connection.in_atomic_block:
        raise RuntimeError("append_to_ledger must run inside the transaction of the bid")
    # The signature covers the receipt hash alone: made before the lock that serialises every
    # bid of the portal, not while holding it.
    signature = sign(receipt)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LEDGER_LOCK_KEY])
    head = ReceiptLedgerEntry.objects.order_by("-position").values("position", "chain_hash").first()
    position = head["position"] + 1 if head else 1
    previous = head["chain_hash"] if head else GENESIS_HASH
    return ReceiptLedgerEntry.objects.create(
        position=position,
        receipt_hash=receipt,
        process=process,
        received_at=received_at,
        kind=kind,
        paper=paper,
        signature=signature,
        previous_hash=previous,
        chain_hash=chain_hash(
            previous, receipt, process.identifier, instant(received_at), position, kind, paper
        ),
    )


@dataclass(frozen=True)
class LedgerReport:
    checked: int
    bad_position: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_position is None


def verify_ledger() -> LedgerReport:
    """Walk the ledger in order: positions without gaps, each entry linked to the previous
    one, its chain hash recomputed, its signature the portal key's. Reports the first bad
    entry."""
    from .models import ReceiptLedgerEntry

    key = signing.public_key()
    previous, expected, checked = GENESIS_HASH, 1, 0
    rows = ReceiptLedgerEntry.objects.order_by("position").values_list(
        "position",
        "receipt_hash",
        "process__identifier",
        "received_at",
        "kind",
        "paper",
        "signature",
        "previous_hash",
        "chain_hash",
    )
    with transaction.atomic():
        for row in rows.iterator(chunk_size=2000):
            position, receipt, identifier, received, kind, paper, signature, prev, chain = row
            if position != expected:
                return LedgerReport(
                    checked, position, f"expected position {expected} (an entry is missing)"
                )
            if prev != previous:
                return LedgerReport(
                    checked, position, "its previous hash is not the chain hash of the entry before"
                )
            if chain != chain_hash(
                prev, receipt, identifier, instant(received), position, kind, paper
            ):
                return LedgerReport(
                    checked, position, "its chain hash does not match its content (altered)"
                )
            if not signing.verify(receipt.encode("ascii"), signature, key):
                return LedgerReport(checked, position, "its signature is not the portal key's")
            previous, expected, checked = chain, expected + 1, checked + 1
    return LedgerReport(checked)
