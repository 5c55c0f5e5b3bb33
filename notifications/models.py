"""Events: the outbox of things that happened, written in the transaction of the change.
The notifications workers turn them into e-mails and feed entries."""

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KT
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
    PROCESS_CONTRACT_VOIDED = (
        "process.contract_voided",
        _("Contract declared void: the process awaits a contract again"),
    )
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
    # Recorded by the beat task one working day before the bid deadline, once per process
    # and deadline (a unique constraint: a deadline moved by an amendment gets its own);
    # its notices go to the participants that have no bid in force.
    PROCESS_BID_REMINDER = "process.bid_reminder", _("Reminder: the bid deadline is near")
    # Recorded by the same task once per process whose bid deadline passed with no bid in
    # force: the committee is to declare it deserted.
    PROCESS_NO_BIDS = "process.no_bids", _("Bid deadline passed with no bids")
    # A committee member started the opening: a second one must confirm it in time.
    PROCESS_OPENING_STARTED = (
        "process.opening_started",
        _("Opening started: a second committee member must confirm it"),
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
    "void_contract": EventKind.PROCESS_CONTRACT_VOIDED,
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
    EventKind.PROCESS_BID_REMINDER: Audience.PARTICIPANTS,
    EventKind.PROCESS_NO_BIDS: Audience.STAFF,
    EventKind.PROCESS_OPENING_STARTED: Audience.STAFF,
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
        constraints = [
            # The deadline's events are recorded by a periodic task: the reminder at most once
            # per process and bid deadline (its payload's), the deadline passed with no bid at
            # most once per process.
            models.UniqueConstraint(
                models.F("process"),
                KT("payload__deadline"),
                condition=models.Q(kind="process.bid_reminder"),
                name="event_reminder_once_per_deadline",
            ),
            models.UniqueConstraint(
                fields=["process", "kind"],
                condition=models.Q(kind="process.no_bids"),
                name="event_no_bids_once_per_process",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_type}:{self.object_id}"


# --- Subscriptions and notices --------------------------------------------------------------


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", _("At once, one e-mail per process")
    DIGEST = "digest", _("Daily digest")


class Criterion(models.TextChoices):
    """The kinds of criterion rows a subscription holds. Within a kind the values are
    alternatives (any one matches); a kind without rows does not restrict."""

    CATALOG = "catalog", _("Catalog code")  # a code prefix: a family matches its commodities
    REGION = "region", _("Region")  # a UBIGEO prefix: department, province or district
    ENTITY = "entity", _("Entity")  # an entity's RUC
    PROCEDURE_TYPE = "procedure_type", _("Procedure type")
    OBJECT_TYPE = "object_type", _("Object")
    KEYWORD = "keyword", _("Keyword")  # a word or phrase (procurement.subscriptions.keywords)


# Each kind's bit in Subscription.criteria_kinds. Stored values: never renumber a kind.
CRITERION_BITS = {
    Criterion.CATALOG: 1,
    Criterion.REGION: 2,
    Criterion.ENTITY: 4,
    Criterion.PROCEDURE_TYPE: 8,
    Criterion.OBJECT_TYPE: 16,
    Criterion.KEYWORD: 32,
}


def criteria_kinds(kinds) -> int:
    """The Subscription.criteria_kinds value of a subscription with rows of `kinds`."""
    return sum(CRITERION_BITS[kind] for kind in set(kinds))


class SubscriptionQuerySet(models.QuerySet):
    def owned_by(self, user):
        """The one definition of the subscriptions a user may see, change or delete."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(owner=user)


class Subscription(models.Model):
    """What a user (a supplier's user or a plain account) wants to hear of: newly published
    processes matching every criterion it sets (procurement.subscriptions.matching). The
    matching, the pages and the notices' e-mails read processes, so they live in procurement;
    these rows name no process, so they stay here beside the notices' delivery log."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="subscriptions"
    )
    name = models.CharField(_("name"), max_length=100)
    # As typed; each keyword (a phrase between commas) is one of its KEYWORD criterion rows.
    keywords = models.CharField(_("keywords"), max_length=500, blank=True)
    # Which kinds of criterion rows it holds (CRITERION_BITS), written with the rows by
    # save_subscription: the match tests each subscription only on the kinds it sets,
    # without reading every criterion row to learn which those are (one that records none
    # is tested on the rows it holds, so rows written another way do not match everything).
    criteria_kinds = models.PositiveSmallIntegerField(_("kinds of criteria"), default=0)
    min_value = models.DecimalField(
        _("minimum value (S/)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    max_value = models.DecimalField(
        _("maximum value (S/)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    sme_only = models.BooleanField(_("only processes reserved for SMEs"), default=False)
    delivery = models.CharField(
        _("delivery"), max_length=10, choices=Delivery.choices, default=Delivery.IMMEDIATE
    )
    language = models.CharField(
        _("language of the e-mails"), max_length=5, choices=settings.LANGUAGES, default="es"
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["owner", "name", "id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_value__isnull=True) | models.Q(min_value__gte=0),
                name="subscription_min_value_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(min_value__isnull=True)
                | models.Q(max_value__isnull=True)
                | models.Q(max_value__gte=models.F("min_value")),
                name="subscription_value_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def values_of(self, field: str) -> list[str]:
        return sorted(c.value for c in self.criteria.all() if c.field == field)


class SubscriptionCriterion(models.Model):
    subscription = models.ForeignKey(Subscription, models.CASCADE, related_name="criteria")
    field = models.CharField(_("criterion"), max_length=20, choices=Criterion.choices)
    value = models.CharField(_("value"), max_length=100)

    class Meta:
        ordering = ["subscription", "field", "value"]
        verbose_name = _("subscription criterion")
        verbose_name_plural = _("subscription criteria")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "field", "value"], name="subscription_criterion_unique"
            )
        ]
        indexes = [models.Index(fields=["field", "value"], name="criterion_field_value_idx")]

    def __str__(self) -> str:
        return f"{self.field}={self.value}"


class NoticeStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed (not retried)")
    SKIPPED = "skipped", _("Not sent (no longer applies)")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")


class Digest(models.Model):
    """The daily e-mail that groups one recipient's digest notices of a day."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    status = models.CharField(
        _("status"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-day", "recipient"]
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "day"], name="digest_unique_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.day}"


class Notice(models.Model):
    """One recipient's notice of one event on one channel, and its delivery log. The unique
    constraint is what makes a second dispatch of the same event create nothing new."""

    event = models.ForeignKey(Event, models.CASCADE, related_name="notices")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notices")
    subscription = models.ForeignKey(
        Subscription, models.SET_NULL, null=True, blank=True, related_name="notices"
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    delivery = models.CharField(
        _("delivery"), max_length=10, choices=Delivery.choices, default=Delivery.IMMEDIATE
    )
    digest = models.ForeignKey(
        Digest, models.SET_NULL, null=True, blank=True, related_name="notices"
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=NoticeStatus.choices,
        default=NoticeStatus.QUEUED,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # After a temporary failure: the latest moment its scheduled retry is due. Until then the
    # stale-notice sweep leaves it to that retry (procurement.subscriptions.notices).
    retry_due_at = models.DateTimeField(_("retry due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel"], name="notice_unique_per_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.recipient_id} ({self.status})"


# --- Follows ---------------------------------------------------------------------------------


class FollowQuerySet(models.QuerySet):
    def owned_by(self, user):
        """The one definition of the follows a user may see or remove: their own."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)


class Follow(models.Model):
    """A logged-in user (supplier user, staff or a plain account) following one process: they
    hear of its amendments, answers, acts and outcome as its participants do
    (procurement.subscriptions.process_notices)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="follows")
    process = models.ForeignKey(
        "procurement.ProcurementProcess", models.CASCADE, related_name="follows"
    )
    created_at = models.DateTimeField(_("followed since"), default=timezone.now)

    objects = FollowQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("followed process")
        verbose_name_plural = _("followed processes")
        constraints = [
            models.UniqueConstraint(fields=["user", "process"], name="follow_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.process_id}"


class CalendarToken(models.Model):
    """The secret of a user's private calendar address (/calendario/<token>.ics): the
    deadlines of the processes they follow or take part in. Unguessable (256 random bits),
    kept only as its SHA-256 (core.secret_addresses): the address is shown once, when made;
    regenerating it replaces the row, so the old address answers 404 at once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="calendar_token"
    )
    token_sha256 = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("calendar address")
        verbose_name_plural = _("calendar addresses")

    def __str__(self) -> str:
        return f"{self.user_id}"


class SubscriptionFeed(models.Model):
    """The secret of a subscription's private Atom feed (/feeds/suscripciones/<token>/): the
    latest published processes the subscription matches, for a feed reader instead of
    e-mail. Unguessable (256 random bits), kept only as its SHA-256
    (core.secret_addresses): the address is shown once, when made; a new address replaces
    the row, so the old one answers 404 at once, and deleting the row revokes the feed."""

    subscription = models.OneToOneField(Subscription, models.CASCADE, related_name="feed")
    token_sha256 = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("subscription feed address")
        verbose_name_plural = _("subscription feed addresses")

    def __str__(self) -> str:
        return f"{self.subscription_id}"
