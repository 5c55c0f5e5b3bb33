"""Selection processes: identifier, items, stage calendar and status history."""

from datetime import datetime, time
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.codelists import DirectCause, ObjectType, ProcedureType, Stage, Unit
from core.models import CatalogItem, District, FiscalYear

from .entities import Entity
from .plans import PlanItem


class ProcessStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CALLED = "convocado", _("Called")
    SUSPENDED = "suspendido", _("Suspended")
    AWARDED = "adjudicado", _("Awarded")
    CONSENTED = "consentido", _("Award consented")
    CONTRACTED = "contratado", _("Contracted")
    DESERTED = "desierto", _("Deserted")
    CANCELLED = "cancelado", _("Cancelled")
    VOID = "nulo", _("Declared void")


def process_identifier(
    *, procedure_type: str, sequence: int, year: int, entity_acronym: str, call_number: int
) -> str:
    """The public identifier of a process in SEACE's nomenclature, e.g. `LP-SM-3-2026-MINSA-1`:
    procedure type, "SM" (selection procedure), its number among the entity's processes of
    that type and year, the year, the entity's acronym and the call (a new call of a
    deserted process keeps its number and ends in -2)."""
    return f"{procedure_type}-SM-{sequence}-{year}-{entity_acronym}-{call_number}"


def _published(prefix: str = "") -> models.Q:
    """A process that has been called: a draft is the entity's business until then. Every
    called process has its publication moment (a check constraint); saying so lets a list
    sorted newest first (-published_at, the drafts' NULLs first) start its index scan past
    the drafts instead of reading and discarding each (58 -> 5 ms at a million processes)."""
    return ~models.Q(**{f"{prefix}status": ProcessStatus.DRAFT}) & models.Q(
        **{f"{prefix}published_at__isnull": False}
    )


class ProcurementProcessQuerySet(models.QuerySet):
    def published(self):
        """Public processes past their call (every status but draft): what the public lists,
        exports, counts and takes part in."""
        return self.filter(_published())

    def public(self):
        """The one definition of a process the public may see: every published process, and
        a draft whose draft bases were published in advance (prepublicación), so that
        suppliers can comment on them. Of such a draft only those bases are public
        (ProcessDocument.objects.public()); it is not listed until it is called."""
        advance_bases = ProcessDocument.objects.filter(
            process=models.OuterRef("pk"), kind=ProcessDocument.Kind.DRAFT_BASES
        )
        return self.filter(_published() | models.Exists(advance_bases))


class ProcurementProcess(models.Model):
    entity = models.ForeignKey(
        Entity, models.PROTECT, related_name="processes", verbose_name=_("entity")
    )
    fiscal_year = models.ForeignKey(
        FiscalYear, models.PROTECT, related_name="+", verbose_name=_("fiscal year")
    )
    identifier = models.CharField(_("identifier"), max_length=80, unique=True)
    procedure_type = models.CharField(
        _("procedure type"), max_length=8, choices=ProcedureType.choices
    )
    sequence = models.PositiveIntegerField(_("number"))
    call_number = models.PositiveSmallIntegerField(_("call"), default=1)
    # A new call of a deserted process, or of its deserted items (services.processes.
    # call_again): the process it calls again, under the same number with call_number + 1.
    # The old process keeps its own page, identifier and history; each page links the other.
    previous_call = models.OneToOneField(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="next_call",
        verbose_name=_("previous call"),
    )
    object_type = models.CharField(_("object"), max_length=20, choices=ObjectType.choices)
    description = models.CharField(_("description"), max_length=500)
    delivery_place = models.CharField(_("place of delivery"), max_length=255)
    delivery_ubigeo = models.ForeignKey(
        District, models.PROTECT, related_name="+", verbose_name=_("delivery district")
    )
    estimated_value = models.DecimalField(
        _("estimated value (S/)"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    sme_only = models.BooleanField(_("SMEs only"), default=False)
    # Called as a whole (one award for every item) or by items: each item a lot awarded
    # separately. Set with the criteria (procurement.services.criteria), fixed at the call.
    award_by_items = models.BooleanField(_("awarded by items"), default=False, db_default=False)
    outside_plan_reason = models.TextField(_("reason for contracting outside the plan"), blank=True)
    direct_cause = models.CharField(
        _("legal cause for direct contracting"),
        max_length=30,
        choices=DirectCause.choices,
        blank=True,
        db_default="",
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ProcessStatus.choices,
        default=ProcessStatus.DRAFT,
        db_index=True,
    )
    # Set while suspended: the status to go back to when the appeal is resolved.
    suspended_from = models.CharField(max_length=12, choices=ProcessStatus.choices, blank=True)
    # Set when declared void: the stage the process restarts from.
    void_return_stage = models.CharField(
        _("restarts from stage"), max_length=20, choices=Stage.choices, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    # All answers to questions and observations are published at once, then the final bases.
    answers_published_at = models.DateTimeField(_("answers published"), null=True, blank=True)
    integrated_bases_published_at = models.DateTimeField(
        _("integrated bases published"), null=True, blank=True
    )
    # The moment of its last status change, max(StatusChange.at), kept by StatusChange.save
    # and, for rows written in bulk, by refresh_status_changed_at; read by the stuck list
    # (procurement.stuck) instead of a lookup of the history per process. No index: that list
    # reads it on the process row it joins by id (EXPLAIN), never searches by it.
    status_changed_at = models.DateTimeField(
        _("status last changed"), null=True, blank=True, editable=False
    )
    # The last day a running process is on time (procurement.stuck.refresh_due, the one
    # rule): the end of the stage by whose end its status owes a change, or the day of its
    # last status change when later; null for any other status. Kept on every status change
    # (StatusChange.save) and calendar change (services.processes.calendar), in bulk by
    # the seed; the stuck list reads `stage_due_on < today` in this order (partial index).
    stage_due_on = models.DateField(_("on time until"), null=True, blank=True, editable=False)
    # The words of the description, items and entity name, folded for search
    # (procurement.search, which writes both): a tsvector on PostgreSQL (GIN index, migration
    # 0016), " stem stem ... " elsewhere.
    search_vector = SearchVectorField(null=True, editable=False)
    search_text = models.TextField(editable=False, blank=True, default="", db_default="")
    # The catalog codes of its items, " code code ... " (distinct, sorted; procurement.search,
    # which writes it with the columns above): the search's catalog prefix filter reads this
    # row instead of joining the items (on PostgreSQL through a GIN index of its codes as a
    # tsvector, matched by prefix: migration 0035).
    catalog_codes = models.TextField(editable=False, blank=True, default="", db_default="")
    # A process imported from another portal's OCDS data (manage.py import_ocds): the source
    # ("oece" for Peru's OECE/SEACE) and its ocid there, kept unchanged as OCDS requires (its
    # identifier is the source's nomenclature). Empty for the portal's own processes.
    source = models.CharField(_("source"), max_length=40, blank=True, default="", db_default="")
    ocid = models.CharField(
        _("OCDS ocid at the source"), max_length=200, blank=True, default="", db_default=""
    )

    objects = ProcurementProcessQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("selection process")
        verbose_name_plural = _("selection processes")
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "fiscal_year", "procedure_type", "sequence", "call_number"],
                name="process_unique_number",
            ),
            models.CheckConstraint(
                condition=models.Q(estimated_value__gt=0), name="process_value_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(published_at__isnull=False),
                name="process_published_has_date",
            ),
            models.UniqueConstraint(
                fields=["source", "ocid"],
                condition=~models.Q(source=""),
                name="process_source_ocid_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(source="", ocid="")
                | (~models.Q(source="") & ~models.Q(ocid="")),
                name="process_source_has_ocid",
            ),
        ]
        indexes = [
            models.Index(fields=["entity", "fiscal_year"]),
            models.Index(fields=["status", "published_at"]),
            # Keyset pages of the search (core.keyset): a sort column, then the id.
            models.Index(fields=["published_at", "id"], name="process_date_keyset"),
            models.Index(fields=["estimated_value", "id"], name="process_amount_keyset"),
            # The search's entity, department and UBIGEO filters (a status or none): the
            # capped count reads this index alone, entity by entity (bench/search.py), the
            # ids and both sort columns with it (core.keyset's one pass: migration 0034).
            models.Index(
                fields=["entity", "status", "published_at", "id", "estimated_value"],
                name="process_entity_status",
            ),
            # The published processes' ids (the public lists' condition, _published): the
            # search's capped counts of a condition answered elsewhere (a catalog prefix's
            # items, a winning supplier's awards) check it in this index alone, never in the
            # table (migration 0033), and read both sort columns there (migration 0034).
            models.Index(
                fields=["id", "published_at", "estimated_value"],
                name="process_published_cover",
                condition=_published(),
            ),
            # The stuck list (procurement.stuck): worst first, keyset pages.
            models.Index(
                fields=["stage_due_on", "id"],
                name="process_stage_due",
                condition=models.Q(stage_due_on__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.identifier

    def save(self, **kwargs) -> None:
        """Saved; a saved process's stage_due_on is left to procurement.stuck.refresh_due
        (its one writer), so that saving an instance read before a status or calendar change
        does not put its old value back."""
        full = kwargs.get("update_fields") is None and not kwargs.get("force_insert")
        if full and not self._state.adding:
            kept = self.get_deferred_fields() | {"stage_due_on"}  # deferred: as Django does
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key and f.attname not in kept
            ]
        super().save(**kwargs)

    @property
    def next_call_link(self) -> "ProcurementProcess | None":
        """The new call of this process (call_again), or None."""
        try:
            return self.next_call
        except ProcurementProcess.DoesNotExist:
            return None


class ProcessItem(models.Model):
    process = models.ForeignKey(ProcurementProcess, models.CASCADE, related_name="items")
    entity = models.ForeignKey(Entity, models.PROTECT, related_name="+", editable=False)
    plan_item = models.ForeignKey(
        PlanItem, models.PROTECT, null=True, blank=True, related_name="process_items"
    )
    catalog_item = models.ForeignKey(
        CatalogItem, models.PROTECT, related_name="+", verbose_name=_("catalog code")
    )
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=3, choices=Unit.choices)
    estimated_value = models.DecimalField(
        _("estimated value (S/)"), max_digits=16, decimal_places=2
    )
    # The item's id in the source's OCDS data (an imported process), to match its awards.
    source_ref = models.CharField(max_length=100, blank=True, default="", db_default="")

    class Meta:
        ordering = ["process", "id"]
        verbose_name = _("process item")
        verbose_name_plural = _("process items")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(estimated_value__gt=0), name="process_item_value_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="process_item_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit__in=Unit.values), name="process_item_unit_in_codelist"
            ),
        ]
        indexes = [
            # The search's catalog prefix (LIKE '4321%'): a pattern index serves it under any
            # database collation (PostgreSQL; elsewhere a plain index), and with the process
            # it answers the search's EXISTS from the index alone (index-only scan, EXPLAIN in
            # migration 0033).
            models.Index(
                fields=["catalog_item", "process"],
                name="item_catalog_process",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.description


class ProcessStage(models.Model):
    """One row of a process's calendar."""

    process = models.ForeignKey(ProcurementProcess, models.CASCADE, related_name="stages")
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    position = models.PositiveSmallIntegerField(_("position"))
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    # For a stage that is a deadline (procurement.calendar_rules.DEADLINE_STAGES): the hour
    # it closes on its last day, in the portal's time zone (America/Lima). Without it the
    # stage closes at the end of that day.
    closing_time = models.TimeField(_("closes at"), null=True, blank=True)

    class Meta:
        ordering = ["process", "position"]
        verbose_name = _("calendar stage")
        verbose_name_plural = _("calendar stages")
        constraints = [
            models.UniqueConstraint(fields=["process", "stage"], name="process_stage_unique"),
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="process_stage_end_after_start"
            ),
        ]
        # The search's call date and bid deadline ranges (procurement.filters).
        indexes = [
            models.Index(fields=["stage", "start"], name="stage_start"),
            models.Index(fields=["stage", "end"], name="stage_end"),
        ]

    def __str__(self) -> str:
        return f"{self.process_id} {self.stage} {self.start}..{self.end}"

    @property
    def opens_at(self) -> datetime:
        """The instant the stage opens: the start of its first day in Lima."""
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def closes_at(self) -> datetime:
        """The instant the stage closes: its closing time on its last day in Lima, or the
        last instant of that day; a moment after it is late."""
        return timezone.make_aware(datetime.combine(self.end, self.closing_time or time.max))

    # The one reading of a stage's window against a moment (deadlines for bids, questions,
    # registration; the opening after the bid deadline): the closing instant itself is still
    # in time, a moment after it is late.
    def has_begun(self, moment: datetime) -> bool:
        return moment >= self.opens_at

    def has_closed(self, moment: datetime) -> bool:
        return moment > self.closes_at

    def is_open(self, moment: datetime) -> bool:
        return self.has_begun(moment) and not self.has_closed(moment)


class StatusChange(models.Model):
    """The public history of a process: every transition, who made it, when and why."""

    process = models.ForeignKey(ProcurementProcess, models.CASCADE, related_name="history")
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(_("from"), max_length=12, choices=ProcessStatus.choices)
    to_status = models.CharField(_("to"), max_length=12, choices=ProcessStatus.choices)
    reason = models.TextField(_("reason"), blank=True)
    return_stage = models.CharField(
        _("restarts from stage"), max_length=20, choices=Stage.choices, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("time"))

    class Meta:
        ordering = ["process", "at", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.process_id}: {self.from_status} -> {self.to_status}"

    def save(self, *args, **kwargs) -> None:
        """Saved, and its process's status_changed_at moved up to `at` if that is later (in
        the database, and on the process instance this change holds, so that saving that
        instance afterwards keeps it)."""
        super().save(*args, **kwargs)
        ProcurementProcess.objects.filter(
            models.Q(status_changed_at__isnull=True) | models.Q(status_changed_at__lt=self.at),
            pk=self.process_id,
        ).update(status_changed_at=self.at)
        from ..stuck import refresh_due_of  # the rule reads the process's stages

        due = refresh_due_of(self.process_id)
        if StatusChange.process.is_cached(self):
            process = self.process
            if process.status_changed_at is None or process.status_changed_at < self.at:
                process.status_changed_at = self.at
            process.stage_due_on = due


def refresh_status_changed_at(process_ids) -> None:
    """Set status_changed_at of the processes `process_ids` to the moment of their last
    status change, one statement per thousand processes: for StatusChange rows written in
    bulk (the demo seed), which skip StatusChange.save. Processes without a change are left
    as they are."""
    ids = sorted(set(process_ids))
    process = ProcurementProcess._meta.db_table
    change = StatusChange._meta.db_table
    with connection.cursor() as cursor:
        for first in range(0, len(ids), 1000):  # within SQLite's limit of parameters
            chunk = ids[first : first + 1000]
            cursor.execute(
                f"UPDATE {process} SET status_changed_at = last.at FROM ("  # noqa: S608
                f"SELECT process_id, max(at) AS at FROM {change} "
                f"WHERE process_id IN ({', '.join(['%s'] * len(chunk))}) GROUP BY process_id"
                f") AS last WHERE {process}.id = last.process_id",
                chunk,
            )


def _document_path(instance, filename: str) -> str:
    """Content-addressed (see procurement.document_store). Rows published before this layout
    keep their stored name, procesos/<process id>/<hash prefix>-<name>, and are read there."""
    from ..document_store import name_for

    return name_for(instance.sha256, filename.rsplit(".", 1)[-1].lower())


class ProcessDocumentQuerySet(models.QuerySet):
    def public(self):
        """Documents anyone may download: those of published processes, and the draft bases a
        draft published in advance (its other documents stay private until the call)."""
        return self.filter(
            _published("process__") | models.Q(kind=ProcessDocument.Kind.DRAFT_BASES)
        )


class ProcessDocument(models.Model):
    """A published document of a process. Immutable: a correction is a new document that
    points to the one it replaces (on PostgreSQL a trigger refuses UPDATE and DELETE). Its
    file is stored under its SHA-256 (procurement.document_store), checked when served."""

    class Kind(models.TextChoices):
        DRAFT_BASES = "draft_bases", _("Draft tender documents (advance publication)")
        BASES = "bases", _("Tender documents (bases)")
        ANSWERS = "answers", _("Answers to questions and observations")
        INTEGRATED_BASES = "integrated_bases", _("Integrated tender documents")
        ACT = "act", _("Act")
        APPEAL = "appeal", _("Appeal")
        APPEAL_RESOLUTION = "appeal_resolution", _("Appeal resolution")
        OTHER = "other", _("Other")

    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="documents")
    entity = models.ForeignKey(Entity, models.PROTECT, related_name="+", editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=_document_path, max_length=255)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    replaces = models.OneToOneField(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )
    amendment_reason = models.TextField(_("reason for the amendment"), blank=True)
    published_at = models.DateTimeField(_("published"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")

    objects = ProcessDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["process", "published_at", "id"]
        verbose_name = _("process document")
        verbose_name_plural = _("process documents")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(replaces__isnull=True) | ~models.Q(amendment_reason=""),
                name="document_amendment_has_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.process_id} {self.title}"


class Participant(models.Model):
    """A supplier registered to take part in a process (registro de participantes)."""

    process = models.ForeignKey(ProcurementProcess, models.CASCADE, related_name="participants")
    supplier = models.ForeignKey(
        "suppliers.Supplier", models.PROTECT, related_name="participations"
    )
    registered_at = models.DateTimeField(_("registered"))
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    fee_receipt = models.CharField(_("fee receipt number"), max_length=40, blank=True)

    class Meta:
        ordering = ["process", "registered_at"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["process", "supplier"], name="participant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.process_id} · {self.supplier_id}"


class Question(models.Model):
    """A question or observation on the tender documents, and its answer. Answers stay
    private until the entity publishes all of them at once."""

    class Kind(models.TextChoices):
        QUESTION = "question", _("Question")
        OBSERVATION = "observation", _("Observation")

    process = models.ForeignKey(ProcurementProcess, models.CASCADE, related_name="questions")
    participant = models.ForeignKey(Participant, models.PROTECT, related_name="questions")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.QUESTION)
    text = models.TextField(_("question"))
    submitted_at = models.DateTimeField(_("submitted"))
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["process", "submitted_at", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self) -> str:
        return f"{self.process_id}: {self.text[:40]}"


class CalendarAmendment(models.Model):
    """A public change of a called process's calendar: when, why and what changed. Written
    by procurement.services.processes.set_calendar; never edited."""

    process = models.ForeignKey(ProcurementProcess, models.CASCADE, related_name="amendments")
    at = models.DateTimeField(_("time"))
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    # [{"stage": ..., "before": [start, end] | null, "after": [start, end]}], ISO dates.
    changes = models.JSONField(_("changes"), default=list)

    class Meta:
        ordering = ["process", "at", "id"]
        verbose_name = _("calendar amendment")
        verbose_name_plural = _("calendar amendments")

    def __str__(self) -> str:
        return f"{self.process_id} amendment {self.at:%Y-%m-%d}"
