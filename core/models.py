"""Reference data (regions, catalog, sectors, fiscal-year parameters) and the audit trail."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .codelists import CatalogLevel, ObjectType, ProcedureType, SizeClass, Stage


class BilingualName(models.Model):
    """Reference rows named in Spanish and English; `name` follows the active language."""

    name_es = models.CharField(_("name (Spanish)"), max_length=255)
    name_en = models.CharField(_("name (English)"), max_length=255, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if (get_language() or "es").startswith("en") and self.name_en:
            return self.name_en
        return self.name_es or self.name_en


# --- UBIGEO: department > province > district (INEI codes) -------------------------------


class Department(models.Model):
    code = models.CharField(_("code"), max_length=2, primary_key=True)
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class Province(models.Model):
    code = models.CharField(_("code"), max_length=4, primary_key=True)
    department = models.ForeignKey(Department, models.PROTECT, related_name="provinces")
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        ordering = ["code"]
        verbose_name = _("province")
        verbose_name_plural = _("provinces")

    def __str__(self) -> str:
        return self.name


class District(models.Model):
    """A district; its 6-digit INEI UBIGEO code is the key entities and suppliers point to."""

    code = models.CharField(_("UBIGEO"), max_length=6, primary_key=True)
    province = models.ForeignKey(Province, models.PROTECT, related_name="districts")
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        ordering = ["code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return f"{self.name} ({self.province.name}, {self.province.department.name})"

    @property
    def department_code(self) -> str:
        return self.department_of(self.code)

    @staticmethod
    def department_of(code: str) -> str:
        """The department of a district's ubigeo code (its first two digits)."""
        return code[:2]


# --- Catalog (UNSPSC, the base of Peru's CUBSO) ---------------------------------------------


class CatalogItem(BilingualName):
    """A UNSPSC code; prefixes give the hierarchy (43000000 > 43210000 > 43211500 > 43211503)."""

    code = models.CharField(_("code"), max_length=8, primary_key=True)
    level = models.CharField(_("level"), max_length=10, choices=CatalogLevel.choices)
    parent = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="children"
    )
    sme_suppliable = models.BooleanField(
        _("SME-suppliable"),
        default=True,
        help_text=_("Whether SMEs can supply it; only such items count in the 40% SME base."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("catalog item")
        verbose_name_plural = _("catalog items")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Sector(BilingualName):
    code = models.SlugField(_("code"), max_length=40, primary_key=True)

    class Meta:
        ordering = ["name_es"]
        verbose_name = _("sector")
        verbose_name_plural = _("sectors")


# --- Fiscal-year parameters -----------------------------------------------------------------


class SmeRule(models.Model):
    """A versioned SME size rule: thresholds in workers and annual sales (in UIT)."""

    code = models.SlugField(_("code"), max_length=30, primary_key=True)
    name = models.CharField(_("name"), max_length=120)
    law = models.CharField(_("legal source"), max_length=200)
    micro_max_workers = models.PositiveIntegerField(_("micro: max. workers"), null=True, blank=True)
    micro_max_sales_uit = models.DecimalField(
        _("micro: max. sales (UIT)"), max_digits=10, decimal_places=2
    )
    small_max_workers = models.PositiveIntegerField(_("small: max. workers"), null=True, blank=True)
    small_max_sales_uit = models.DecimalField(
        _("small: max. sales (UIT)"), max_digits=10, decimal_places=2
    )
    medium_max_sales_uit = models.DecimalField(
        _("medium: max. sales (UIT)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty when the rule has no medium band."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("SME rule")
        verbose_name_plural = _("SME rules")

    def __str__(self) -> str:
        return self.name

    def classify(self, sales_uit: Decimal, workers: int | None) -> SizeClass:
        """Size class for annual sales (in UIT) and workers. Limits are inclusive; a rule
        with worker limits needs both limits met (Law 28015 art. 3), one without only sales
        (Law 30056 art. 5)."""

        def within(max_workers: int | None, max_sales: Decimal) -> bool:
            if sales_uit > max_sales:
                return False
            if max_workers is None:
                return True
            return workers is not None and workers <= max_workers

        if within(self.micro_max_workers, self.micro_max_sales_uit):
            return SizeClass.MICRO
        if within(self.small_max_workers, self.small_max_sales_uit):
            return SizeClass.SMALL
        if self.medium_max_sales_uit is None:
            return SizeClass.MEDIUM_OR_LARGE
        if sales_uit <= self.medium_max_sales_uit:
            return SizeClass.MEDIUM
        return SizeClass.LARGE


class FiscalYear(models.Model):
    """Parameters of one fiscal year: UIT value, SME rule in force and the SME reservation."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    uit = models.DecimalField(_("UIT (S/)"), max_digits=10, decimal_places=2)
    uit_source = models.CharField(_("UIT legal source"), max_length=200, blank=True)
    sme_rule = models.ForeignKey(SmeRule, models.PROTECT, verbose_name=_("SME rule in force"))
    sme_reserved_min_share = models.DecimalField(
        _("minimum SME reserved share"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.400"),
        help_text=_("Share of eligible planned purchases reserved for SMEs (Law 28015 art. 21)."),
    )
    provisional = models.BooleanField(
        _("provisional"),
        default=False,
        help_text=_("Figures estimated before official publication."),
    )

    class Meta:
        ordering = ["year"]
        verbose_name = _("fiscal year")
        verbose_name_plural = _("fiscal years")
        constraints = [
            models.CheckConstraint(condition=models.Q(uit__gt=0), name="fiscal_year_uit_positive"),
            models.CheckConstraint(
                condition=models.Q(sme_reserved_min_share__gte=0, sme_reserved_min_share__lte=1),
                name="fiscal_year_sme_share_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return str(self.year)

    def to_uit(self, amount: Decimal) -> Decimal:
        """The exact amount in UIT (unrounded: thresholds are compared on this value)."""
        return Decimal(amount) / self.uit


def round_uit(value: Decimal) -> Decimal:
    """UIT figures as stored and shown: two decimals."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class ProcedureThreshold(models.Model):
    """Value band (S/, min inclusive, max exclusive) in which a procedure applies to an object."""

    fiscal_year = models.ForeignKey(FiscalYear, models.CASCADE, related_name="thresholds")
    procedure_type = models.CharField(
        _("procedure type"), max_length=8, choices=ProcedureType.choices
    )
    object_type = models.CharField(_("object"), max_length=20, choices=ObjectType.choices)
    # Each bound is in soles or in UIT; a bound in UIT follows the year's UIT when it is used
    # (editing the UIT moves it), it is never frozen into soles.
    min_amount = models.DecimalField(
        _("from (S/, inclusive)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    min_uit = models.DecimalField(
        _("from (UIT, inclusive)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    max_amount = models.DecimalField(
        _("up to (S/, exclusive)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    max_uit = models.DecimalField(
        _("up to (UIT, exclusive)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    note = models.CharField(_("note"), max_length=250, blank=True)

    class Meta:
        ordering = ["fiscal_year", "object_type", "min_amount"]
        verbose_name = _("procedure threshold")
        verbose_name_plural = _("procedure thresholds")
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "procedure_type", "object_type"],
                name="threshold_unique_per_year_procedure_object",
            ),
            models.CheckConstraint(
                condition=models.Q(max_amount__isnull=True)
                | models.Q(max_amount__gt=models.F("min_amount")),
                name="threshold_band_not_empty",
            ),
            models.CheckConstraint(
                condition=models.Q(min_amount__isnull=True, min_uit__isnull=False)
                | models.Q(min_amount__isnull=False, min_uit__isnull=True),
                name="threshold_min_in_soles_or_uit",
            ),
            models.CheckConstraint(
                condition=models.Q(max_amount__isnull=True) | models.Q(max_uit__isnull=True),
                name="threshold_max_in_soles_or_uit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year_id} {self.procedure_type} {self.object_type}"

    def lower(self, uit: Decimal) -> Decimal:
        """The band's floor in soles for a year whose UIT is `uit`."""
        return self.min_uit * uit if self.min_uit is not None else self.min_amount

    def upper(self, uit: Decimal) -> Decimal | None:
        """The band's ceiling in soles (None: no ceiling)."""
        return self.max_uit * uit if self.max_uit is not None else self.max_amount


class ProcedureStage(models.Model):
    """The stages a procedure type goes through, in order (reference data, admin-editable)."""

    procedure_type = models.CharField(
        _("procedure type"), max_length=8, choices=ProcedureType.choices
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        ordering = ["procedure_type", "position"]
        verbose_name = _("procedure stage")
        verbose_name_plural = _("procedure stages")
        constraints = [
            models.UniqueConstraint(
                fields=["procedure_type", "stage"], name="procedure_stage_unique"
            ),
            models.UniqueConstraint(
                fields=["procedure_type", "position"], name="procedure_stage_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure_type} {self.position}. {self.get_stage_display()}"


class StageMinimum(models.Model):
    """A minimum duration in working days between two calendar edges, e.g. the bid deadline
    (end of 'ofertas') at least 22 working days after the call (start of 'convocatoria')."""

    class Edge(models.TextChoices):
        START = "start", _("start")
        END = "end", _("end")

    procedure_type = models.CharField(
        _("procedure type"), max_length=8, choices=ProcedureType.choices
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    edge = models.CharField(_("edge"), max_length=5, choices=Edge.choices)
    from_stage = models.CharField(_("measured from stage"), max_length=20, choices=Stage.choices)
    from_edge = models.CharField(_("measured from edge"), max_length=5, choices=Edge.choices)
    working_days = models.PositiveSmallIntegerField(_("minimum working days"))
    note = models.CharField(_("note"), max_length=250, blank=True)

    class Meta:
        ordering = ["procedure_type", "stage"]
        verbose_name = _("stage minimum")
        verbose_name_plural = _("stage minimums")
        constraints = [
            models.UniqueConstraint(
                fields=["procedure_type", "stage", "edge", "from_stage", "from_edge"],
                name="stage_minimum_unique",
            )
        ]

    def __str__(self) -> str:
        return self.note or f"{self.procedure_type} {self.stage}"


class NonWorkingDay(models.Model):
    """A non-working day declared on top of the national holidays (decreed days off)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=120)
    legal_source = models.CharField(_("legal source"), max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("non-working day")
        verbose_name_plural = _("non-working days")

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


# --- Audit trail ----------------------------------------------------------------------------


class AuditEntry(models.Model):
    """One append-only entry of the hash-chained audit trail (see core.audit)."""

    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    created_at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=254)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=64)
    data = models.JSONField(_("data"), default=dict)
    previous_hash = models.CharField(_("previous hash"), max_length=64)
    entry_hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # The auditors' page filters by actor and by date.
            models.Index(fields=["actor_label", "sequence"], name="core_audit_actor_seq"),
            models.Index(fields=["created_at"], name="core_audit_created"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"


class AuditVerification(models.Model):
    """One full verification of the audit chain against its signed anchors. Walking a chain of
    millions of entries takes minutes, so pages show the last recorded result (and when it
    ran) instead of verifying on every view; `verify_audit`, the daily task and an auditor's
    request each record one."""

    class Source(models.TextChoices):
        COMMAND = "command", _("verify_audit command")
        TASK = "task", _("scheduled task")
        REQUEST = "request", _("auditor's request")

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ok = models.BooleanField(_("chain intact"))
    checked = models.PositiveBigIntegerField(_("entries verified"))
    broken_sequence = models.PositiveBigIntegerField(_("first broken entry"), null=True, blank=True)
    anchors = models.PositiveIntegerField(_("signed anchors checked"), default=0)
    latest_anchor_sequence = models.PositiveBigIntegerField(
        _("latest anchored entry"), null=True, blank=True
    )
    problems = models.TextField(_("problems"), blank=True)

    class Meta:
        ordering = ["-finished_at", "-pk"]
        verbose_name = _("audit verification")
        verbose_name_plural = _("audit verifications")

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'BROKEN'}"


# --- One-time form tokens (see core.idempotency) ---------------------------------------------


class FormSubmission(models.Model):
    """A create form submitted once: its one-time token's SHA-256 (core.idempotency), where
    its result lives, and the result itself when the form keeps it, sealed under a key only
    the token gives."""

    token = models.CharField(_("token (SHA-256)"), max_length=64, primary_key=True)
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True, db_index=True)
    result_url = models.CharField(_("result"), max_length=255, blank=True)
    sealed_result = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return self.token


# --- Page visit counters (see core.visits) -----------------------------------------------------


class VisitCounter(models.Model):
    """The visits of a public page: the durable copy of the Redis counter (core.visits), and
    the counter itself where no Redis is configured (the embedded default)."""

    page = models.CharField(_("page"), max_length=40, primary_key=True)
    count = models.PositiveBigIntegerField(_("visits"), default=0)

    class Meta:
        verbose_name = _("visit counter")
        verbose_name_plural = _("visit counters")

    def __str__(self) -> str:
        return f"{self.page}: {self.count}"
