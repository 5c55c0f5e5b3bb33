"""Events: the outbox of things that happened, written in the transaction of the change.
The notifications workers turn them into e-mails and feed entries."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    PLAN_PUBLISHED = "plan.published", _("Annual plan published")
    PLAN_MODIFIED = "plan.modified", _("Annual plan modified")
    PROCESS_PUBLISHED = "process.published", _("Selection process published")
    PROCESS_STATUS_CHANGED = "process.status_changed", _("Selection process status changed")
    PROCESS_CALENDAR_AMENDED = "process.calendar_amended", _("Selection process calendar amended")
    PROCESS_DOCUMENT_PUBLISHED = (
        "process.document_published",
        _("Selection process document published or amended"),
    )
    PROCESS_PARTICIPANT_REGISTERED = "process.participant_registered", _("Participant registered")
    PROCESS_QUESTION_SUBMITTED = (
        "process.question_submitted",
        _("Question or observation submitted"),
    )
    PROCESS_ANSWERS_PUBLISHED = "process.answers_published", _("Answers to questions published")
    PROCESS_INTEGRATED_BASES_PUBLISHED = (
        "process.integrated_bases_published",
        _("Integrated tender documents published"),
    )


class Event(models.Model):
    kind = models.CharField(_("kind"), max_length=40, choices=EventKind.choices, db_index=True)
    entity = models.ForeignKey(
        "procurement.Entity", models.CASCADE, null=True, blank=True, related_name="events"
    )
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=64)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_pending_idx",
                condition=models.Q(dispatched_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_type}:{self.object_id}"
