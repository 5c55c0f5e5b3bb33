"""Read-side queries of the audit trail (the auditors' page)."""

from django.db.models import QuerySet

from . import keyset
from .models import AuditEntry

PAGE_SIZE = 50


def _sequence(text: str) -> int:
    sequence = int(text)
    if not 0 < sequence < 2**63:
        raise ValueError("out of range")
    return sequence


# Newest first: the sequence number is unique and indexed, so every page is an index range
# scan however deep (core.keyset, the portal's one keyset paginator).
TRAIL_ORDER = keyset.Order("-sequence", "sequence", True, _sequence)


def entry_page(
    queryset: QuerySet[AuditEntry], cursor: str | None = None, *, size: int | None = None
) -> keyset.KeysetPage:
    """Entries newest first, `size` at a time, after the cursor's entry (or before it, going
    back). Raises keyset.BadCursor for a cursor this list did not write."""
    return keyset.page(queryset, TRAIL_ORDER, cursor, size=size or PAGE_SIZE)
