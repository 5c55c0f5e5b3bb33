"""Auditors' internal notes on a process: the only thing an auditor writes in the portal."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import can_read_audit_trail
from core import audit, clock
from core.errors import DomainError

from ..models import AuditorNote, ProcurementProcess
from ..models.notes import NOTE_MAX_LENGTH


def may_keep_notes(user) -> bool:
    """Auditors and admins read and write the notes; nobody else sees them."""
    return can_read_audit_trail(user)


def process_notes(user, process: ProcurementProcess):
    """The notes on `process` the user may read, newest first (none for anyone else)."""
    if not may_keep_notes(user):
        return AuditorNote.objects.none()
    return process.auditor_notes.select_related("author").order_by("-created_at", "-id")


@transaction.atomic
def add_note(*, actor, process: ProcurementProcess, text: str) -> AuditorNote:
    """Attach an internal note to a published process, by an auditor or admin, recorded in
    the audit trail (who, on what, when, and the note itself)."""
    if not may_keep_notes(actor):
        raise PermissionDenied(_("Only auditors and administrators may write notes."))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write the note."), field="text", code="note_empty")
    if len(text) > NOTE_MAX_LENGTH:
        raise DomainError(
            _("A note has at most %(max)s characters.") % {"max": NOTE_MAX_LENGTH},
            field="text",
            code="note_too_long",
        )
    note = AuditorNote.objects.create(
        process=process, author=actor, text=text, created_at=clock.now()
    )
    # On the process, so that the note is in the process's timeline.
    audit.record(
        actor,
        "process.auditor_note_added",
        process,
        {"note": note.pk, "identifier": process.identifier, "text": text},
    )
    return note
