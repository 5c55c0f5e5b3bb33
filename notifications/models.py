"""Events: the outbox of things that happened, written in the transaction of the change.
The notifications workers turn them into e-mails and feed entries."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    PLAN_PUBLISHED = "plan.published", _("Annual plan published")
    PLAN_MODIFIED = "plan.modified", _("Annual plan modified")
    PROCESS_PUBLISHED = "process.published", _("Selection process published")
    PROCESS_SUSPENDED = "process.suspended", _("Selection process suspended (appeal filed)")
    PROCESS_RESUMED = "process.resumed", _("Selection process resumed (appeal resolved)")
    PROCESS_AWARDED = "process.awarded", _("Award (buena pro) granted")
    PROCESS_CONSENTED = "process.consented", _("Award consented")
    PROCESS_CONTRACTED = "process.contracted", _("Contract signed")
    PROCESS_DESERTED = "process.deserted", _("Selection process deserted")
    PROCESS_CANCELLED = "process.cancelled", _("Selection process cancelled")
    PROCESS_ANNULLED = "process.annulled", _("Selection process declared void")
    PROCESS_RESTARTED = "process.restarted", _("Selection process restarted")
    PROCESS_CALENDAR_AMENDED = "process.calendar_amended", _("Selection process calendar amended")
    PROCESS_CRITERIA_AMENDED = (
        "process.criteria_amended",
        _("Selection process evaluation criteria amended"),
    )
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
    BID_RECEIVED = "bid.received", _("Bid receipt issued")
    PROCESS_BIDS_OPENED = "process.bids_opened", _("Bids opened (opening act published)")
    PROCESS_BID_DEADLINE_MOVED = (
        "process.bid_deadline_moved",
        _("Bid deadline moved later (bids in force stay valid)"),
    )
    # Account e-mails: the handler registered for each kind builds the message (and any link
    # with a secret token) when it sends; the event itself carries no secret.
    ACCOUNT_VERIFICATION = "account.verification", _("E-mail address to confirm")
    ACCOUNT_SET_PASSWORD = "account.set_password", _("Password to choose")
    ACCOUNT_PASSWORD_RESET = "account.password_reset", _("Password reset asked for")
    ACCOUNT_REGISTRATION_ATTEMPT = (
        "account.registration_attempt",
        _("Registration attempted with an existing address"),
    )
    SUPPLIER_INVITATION = "supplier.invitation", _("Invitation to act for a supplier")
    CONTRACT_SIGNED = "contract.signed", _("Contract signed")
    CONTRACT_AMENDED = "contract.amended", _("Contract amended")
    CONTRACT_ENDED = "contract.ended", _("Contract completed, terminated or declared void")
    CONTRACT_EVALUATED = "contract.evaluated", _("Supplier evaluated after the contract")
    APPEAL_FILED = "appeal.filed", _("Appeal filed")
    APPEAL_RESOLVED = "appeal.resolved", _("Appeal admitted or resolved")


# The event kind for each action of the process state machine (procurement.state_machine).
PROCESS_ACTION_KINDS = {
    "publish": EventKind.PROCESS_PUBLISHED,
    "suspend": EventKind.PROCESS_SUSPENDED,
    "resume": EventKind.PROCESS_RESUMED,
    "reevaluate": EventKind.PROCESS_RESUMED,
    "award": EventKind.PROCESS_AWARDED,
    "consent": EventKind.PROCESS_CONSENTED,
    "contract": EventKind.PROCESS_CONTRACTED,
    "desert": EventKind.PROCESS_DESERTED,
    "cancel": EventKind.PROCESS_CANCELLED,
    "annul": EventKind.PROCESS_ANNULLED,
    "restart": EventKind.PROCESS_RESTARTED,
}


class Audience(models.TextChoices):
    """Who may learn of an event: everyone, the process's registered participants (and its
    staff), one bidder (and nobody else), the entity's staff alone, or the one account (or
    invited address) an account e-mail is for."""

    PUBLIC = "public", _("Public")
    PARTICIPANTS = "participants", _("Participants of the process")
    BIDDER = "bidder", _("The bidder concerned")
    STAFF = "staff", _("Entity staff")
    ACCOUNT = "account", _("The account holder")


# Who learns of each kind unless the service says otherwise. Who registered or asked is not
# public before the opening, so those events stay with the entity's staff.
DEFAULT_AUDIENCE = {
    EventKind.PROCESS_PARTICIPANT_REGISTERED: Audience.STAFF,
    EventKind.PROCESS_QUESTION_SUBMITTED: Audience.STAFF,
    EventKind.BID_RECEIVED: Audience.BIDDER,
    EventKind.PROCESS_BID_DEADLINE_MOVED: Audience.PARTICIPANTS,
    EventKind.ACCOUNT_VERIFICATION: Audience.ACCOUNT,
    EventKind.ACCOUNT_SET_PASSWORD: Audience.ACCOUNT,
    EventKind.ACCOUNT_PASSWORD_RESET: Audience.ACCOUNT,
    EventKind.ACCOUNT_REGISTRATION_ATTEMPT: Audience.ACCOUNT,
    EventKind.SUPPLIER_INVITATION: Audience.ACCOUNT,
}


class Event(models.Model):
    kind = models.CharField(_("kind"), max_length=40, choices=EventKind.choices, db_index=True)
    entity = models.ForeignKey(
        "procurement.Entity", models.CASCADE, null=True, blank=True, related_name="events"
    )
    process = models.ForeignKey(
        "procurement.ProcurementProcess",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
    )
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience.choices, default=Audience.PUBLIC
    )
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=64)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    # Dispatch attempts that failed leave the event pending, to be retried after a delay
    # that grows with each attempt (notifications.dispatch).
    attempts = models.PositiveIntegerField(_("dispatch attempts"), default=0)
    last_error = models.TextField(_("last dispatch error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)

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
