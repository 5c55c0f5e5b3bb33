"""Read-side queries of the audit trail (the auditors' page)."""

from dataclasses import dataclass

from django.db.models import QuerySet

from .models import AuditEntry

PAGE_SIZE = 50


@dataclass(frozen=True)
class EntryPage:
    entries: list[AuditEntry]
    older_than: int | None  # cursor for the next (older) page, if there is one
    newer_than: int | None  # cursor for the previous (newer) page, if there is one


def entry_page(
    queryset: QuerySet[AuditEntry],
    *,
    before: int | None = None,
    after: int | None = None,
    size: int | None = None,
) -> EntryPage:
    """Entries newest first, `size` at a time, paged by sequence number (keyset pagination:
    every page is an index range scan, however deep, and no count of millions of rows)."""
    size = size or PAGE_SIZE
    if after is not None:
        rows = list(queryset.filter(sequence__gt=after).order_by("sequence")[: size + 1])
        more_newer = len(rows) > size
        entries = rows[:size][::-1]
        newer = entries[0].sequence if more_newer else None
        older = (
            entries[-1].sequence
            if entries and queryset.filter(sequence__lt=entries[-1].sequence).exists()
            else None
        )
        return EntryPage(entries, older, newer)
    scoped = queryset.filter(sequence__lt=before) if before is not None else queryset
    rows = list(scoped.order_by("-sequence")[: size + 1])
    entries = rows[:size]
    older = entries[-1].sequence if len(rows) > size else None
    newer = (
        entries[0].sequence
        if entries
        and before is not None
        and queryset.filter(sequence__gt=entries[0].sequence).exists()
        else None
    )
    return EntryPage(entries, older, newer)
