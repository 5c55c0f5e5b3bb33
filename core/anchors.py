"""Anchors: the audit chain's head, signed and kept outside the database.

The hash chain (core.audit) shows any change to a stored entry, but someone with database
access can recompute every hash after an edit, delete the last entries or empty the table and
still get a consistent chain. So every few minutes (and at the end of `seed_demo`) the head
(sequence and entry hash) is signed with the portal key and appended as one JSON line to a
monthly file in ANCHOR_DIR; the latest anchor is published at /auditoria/ancla/ so others keep
copies. `verify_audit` then checks the chain against every anchor: the chain must be at least
as long as each anchor and hold the anchored hash at the anchored sequence.
"""

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import signing
from .models import AuditEntry

STATEMENT_TYPE = "portal-audit-anchor"
FILE_GLOB = "anchors-*.jsonl"


def canonical(statement: dict[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Anchor:
    statement: dict[str, Any]
    signature: str
    source: str  # "file:line", to name it in reports

    @property
    def sequence(self) -> int:
        return self.statement["sequence"]

    @property
    def entry_hash(self) -> str:
        return self.statement["entry_hash"]

    def signature_ok(self) -> bool:
        return signing.verify(canonical(self.statement), self.signature)

    def as_json(self) -> dict[str, Any]:
        return {"statement": self.statement, "signature": self.signature}


@dataclass(frozen=True)
class UnreadableAnchor:
    source: str
    reason: str


def anchor_dir() -> Path:
    return Path(settings.ANCHOR_DIR)


def _files() -> list[Path]:
    directory = anchor_dir()
    if not directory.is_dir():
        return []
    return sorted(directory.glob(FILE_GLOB))


def _parse(line: str, source: str) -> Anchor | UnreadableAnchor:
    try:
        record = json.loads(line)
        statement, signature = record["statement"], record["signature"]
        if not (
            isinstance(statement, dict)
            and statement.get("type") == STATEMENT_TYPE
            and isinstance(statement.get("sequence"), int)
            and isinstance(statement.get("entry_hash"), str)
            and isinstance(signature, str)
        ):
            raise ValueError("not an audit anchor")
    except (ValueError, KeyError, TypeError) as error:
        return UnreadableAnchor(source, f"not a valid anchor ({error})")
    return Anchor(statement, signature, source)


def read_all() -> Iterator[Anchor | UnreadableAnchor]:
    """Every line of every anchor file, oldest file first."""
    for path in _files():
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _parse(line, f"{path.name}:{number}")


_TAIL_BYTES = 64 * 1024


def _last_lines(path: Path) -> list[str]:
    """The file's last lines: its tail first (a month holds ~9,000 anchors, and the public
    page and every publication read this), the whole file when the tail has no good one."""
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - _TAIL_BYTES))
        tail = handle.read().decode("utf-8", errors="replace").splitlines()
    return tail[1:] if size > _TAIL_BYTES else tail  # the first line may be cut


def recent(limit: int = 50) -> list[Anchor]:
    """The last `limit` anchors written whose signature is good, newest first, read from the
    files' tails (what the Atom feed of /auditoria/ancla/ lists)."""
    found: list[Anchor] = []
    for path in reversed(_files()):
        for line in reversed(_last_lines(path)):
            if not line.strip():
                continue
            anchor = _parse(line, path.name)
            if isinstance(anchor, Anchor) and anchor.signature_ok():
                found.append(anchor)
                if len(found) >= limit:
                    return found
    return found


def latest() -> Anchor | None:
    """The last anchor written whose signature is good (what /auditoria/ancla/ shows)."""
    for path in reversed(_files()):
        for lines in (_last_lines(path), None):
            if lines is None:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            for line in reversed(lines):
                if not line.strip():
                    continue
                anchor = _parse(line, path.name)
                if isinstance(anchor, Anchor) and anchor.signature_ok():
                    return anchor
    return None


def publish_anchor() -> Anchor | None:
    """Sign the chain's current head and append it to this month's anchor file.

    Writes nothing when the chain is empty or its head is already the latest anchor. The file
    is locked while the latest anchor is read and the new line appended (O_APPEND, fsync), so
    concurrent publishers neither interleave nor duplicate."""
    head = AuditEntry.objects.order_by("-sequence").values("sequence", "entry_hash", "created_at")
    head = head.first()
    if head is None:
        return None
    now = timezone.now()
    directory = anchor_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"anchors-{now:%Y-%m}.jsonl"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        previous = latest()
        if previous is not None and (previous.sequence, previous.entry_hash) == (
            head["sequence"],
            head["entry_hash"],
        ):
            return None
        statement = {
            "type": STATEMENT_TYPE,
            "version": 1,
            "sequence": head["sequence"],
            "entry_hash": head["entry_hash"],
            "entry_created_at": head["created_at"].isoformat(timespec="microseconds"),
            "anchored_at": now.isoformat(timespec="microseconds"),
            "key_id": signing.key_id(),
        }
        anchor = Anchor(statement, signing.sign(canonical(statement)), path.name)
        line = json.dumps(anchor.as_json(), sort_keys=True, separators=(",", ":")) + "\n"
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
        return anchor
    finally:
        os.close(descriptor)  # also releases the lock


@dataclass(frozen=True)
class AnchorReport:
    anchors: int
    latest_sequence: int | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_against_anchors(chunk: int = 1000) -> AnchorReport:
    """Check every anchor's signature, then that the stored chain agrees with each one: an
    entry at the anchored sequence (a shorter chain means deleted entries or an emptied table)
    whose hash is the anchored hash (a different one means the chain was rewritten)."""
    problems: list[str] = []
    good: list[Anchor] = []
    for anchor in read_all():
        if isinstance(anchor, UnreadableAnchor):
            problems.append(f"anchor {anchor.source} is {anchor.reason}")
        elif not anchor.signature_ok():
            problems.append(
                f"anchor {anchor.source} (entry #{anchor.sequence}) has an invalid signature: "
                "it was not signed by this portal's key"
            )
        else:
            good.append(anchor)
    chain_length = AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True)
    chain_length = chain_length.first() or 0
    for start in range(0, len(good), chunk):
        batch = good[start : start + chunk]
        stored = dict(
            AuditEntry.objects.filter(sequence__in={a.sequence for a in batch}).values_list(
                "sequence", "entry_hash"
            )
        )
        for anchor in batch:
            if anchor.sequence > chain_length:
                problems.append(
                    f"the chain ends at entry #{chain_length} but anchor {anchor.source} "
                    f"(published {anchor.statement.get('anchored_at')}) records entry "
                    f"#{anchor.sequence}: entries were deleted or the table was emptied"
                )
            elif anchor.sequence not in stored:
                problems.append(
                    f"entry #{anchor.sequence}, recorded by anchor {anchor.source}, is missing"
                )
            elif stored[anchor.sequence] != anchor.entry_hash:
                problems.append(
                    f"entry #{anchor.sequence} has hash {stored[anchor.sequence][:16]}… but "
                    f"anchor {anchor.source} recorded {anchor.entry_hash[:16]}…: the chain "
                    "was rewritten"
                )
    latest_sequence = max((a.sequence for a in good), default=None)
    return AnchorReport(len(good), latest_sequence, problems)
