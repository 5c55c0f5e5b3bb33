"""Auditors' internal notes on a process (issue 15): written by auditors and admins, read by
them only, never shown to the public, the entity or suppliers. Append-only: a note is not
edited or deleted (a correction is a new note), and each one is in the audit trail."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .processes import ProcurementProcess

NOTE_MAX_LENGTH = 4000


class AuditorNote(models.Model):
    process = models.ForeignKey(
        ProcurementProcess, models.PROTECT, related_name="auditor_notes", verbose_name=_("process")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("note"), max_length=NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(_("written"))

    class Meta:
        ordering = ["process", "-created_at", "-id"]
        verbose_name = _("auditor's note")
        verbose_name_plural = _("auditors' notes")
        indexes = [models.Index(fields=["process", "-created_at"], name="auditor_note_process")]
        constraints = [
            models.CheckConstraint(name="auditor_note_not_empty", condition=~models.Q(text=""))
        ]

    def __str__(self) -> str:
        return f"{self.process_id} note {self.pk}"
