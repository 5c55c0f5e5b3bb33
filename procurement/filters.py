from datetime import date, time, timedelta
from decimal import Decimal

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Exists, Model, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceIterator

from core import clock, keyset
from core.catalog import code_prefix, prefix_code
from core.codelists import GovernmentLevel, ObjectType, ProcedureType, SizeClass, Stage
from core.filtering import (
    DayFilter,
    DepartmentFilter,
    LeanFilterSet,
    MoneyFilter,
    MonthFilter,
    OrderedRangesForm,
    SingleValuedFilterSet,
    YearFilter,
    YesNoFilter,
)
from core.models import Sector
from core.widgets import FAST_RENDERER

from . import search
from .calendar_rules import in_stage_on
from .models import (
    Award,
    Contract,
    Entity,
    PlanItem,
    PlanVersion,
    ProcessRisk,
    ProcessRiskFlag,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
    RiskFlagCode,
)
from .stuck import DUE_STAGE


class EntityPlaceFilter(SingleValuedFilterSet):
    """Entities by sector, government level and department: what the entity list and the SME
    ranking share."""

    sector = django_filters.ModelChoiceFilter(queryset=Sector.objects.all(), label=_("Sector"))
    level = django_filters.ChoiceFilter(
        choices=GovernmentLevel.choices, label=_("Government level")
    )
    department = DepartmentFilter()

    def filter_department(self, queryset, name, value):
        return queryset.filter(ubigeo__code__startswith=value.code)


class EntityFilterForm(forms.Form):
    default_renderer = FAST_RENDERER  # as the process search's (ProcessFilterForm)


class EntityFilter(LeanFilterSet, EntityPlaceFilter):
    q = django_filters.CharFilter(label=_("Name, acronym or RUC"), method="filter_text")

    class Meta:
        model = Entity
        form = EntityFilterForm
        fields = ["q", "sector", "level", "department"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(name__icontains=value) | Q(acronym__icontains=value) | Q(ruc__startswith=value)
        )


class PlanFilter(django_filters.FilterSet):
    """Public list of plans in force."""

    q = django_filters.CharFilter(label=_("Entity (name, acronym or RUC)"), method="filter_entity")
    year = YearFilter(field_name="plan__fiscal_year", label=_("Fiscal year"))
    sector = django_filters.ModelChoiceFilter(
        field_name="plan__entity__sector", queryset=Sector.objects.all(), label=_("Sector")
    )
    department = DepartmentFilter()
    compliant = YesNoFilter(field_name="sme_compliant", label=_("Meets the 40% SME reservation"))

    class Meta:
        model = PlanVersion
        fields = ["q", "year", "sector", "department", "compliant"]

    def filter_entity(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(plan__entity__name__icontains=value)
            | Q(plan__entity__acronym__icontains=value)
            | Q(plan__entity__ruc__startswith=value)
        )

    def filter_department(self, queryset, name, value):
        return queryset.filter(plan__entity__ubigeo__code__startswith=value.code)


class PlanItemFilterForm(OrderedRangesForm, forms.Form):
    RANGES = (("min_value", "max_value"),)


class PlanItemFilter(django_filters.FilterSet):
    """Items of one plan version (public page, CSV export)."""

    object_type = django_filters.ChoiceFilter(choices=ObjectType.choices, label=_("Object"))
    procedure_type = django_filters.ChoiceFilter(
        choices=ProcedureType.choices, label=_("Procedure type")
    )
    month = MonthFilter(field_name="planned_month", label=_("Planned month"))
    catalog = django_filters.CharFilter(label=_("Catalog code"), method="filter_catalog")
    reserved = YesNoFilter(field_name="sme_reserved", label=_("Reserved for SMEs"))
    min_value = MoneyFilter(
        field_name="estimated_value", lookup_expr="gte", label=_("Minimum value (S/)")
    )
    max_value = MoneyFilter(
        field_name="estimated_value", lookup_expr="lte", label=_("Maximum value (S/)")
    )

    class Meta:
        model = PlanItem
        form = PlanItemFilterForm
        fields = [
            "object_type",
            "procedure_type",
            "month",
            "catalog",
            "reserved",
            "min_value",
            "max_value",
        ]

    def filter_catalog(self, queryset, name, value):
        """A code matches itself and its descendants: 43210000 matches 43211503."""
        prefix = code_prefix(value)
        return queryset.filter(catalog_item__code__startswith=prefix) if prefix else queryset


UBIGEO_PREFIX = RegexValidator(
    r"^[0-9]{2}([0-9]{2}([0-9]{2})?)?$",
    _("Enter a UBIGEO code: 2 digits (department), 4 (province) or 6 (district)."),
)


# One renderer for the search forms: its selects and inputs are written without the
# per-option templates (core.widgets.FastWidgetRenderer).
FILTER_FORM_RENDERER = FAST_RENDERER


class ProcessFilterForm(OrderedRangesForm, forms.Form):
    default_renderer = FILTER_FORM_RENDERER

    RANGES = (("call_from", "call_to"), ("deadline_from", "deadline_to"))
    RANGES += (("min_value", "max_value"),)


# The sorts of the process search, each paged by keyset (core.keyset): newest call first by
# default. The date is the publication of the call (indexed with the id, migration 0017).
PROCESS_SORTS = {
    order.name: order
    for order in (
        keyset.Order("-date", "published_at", True, keyset.parse_moment),
        keyset.Order("date", "published_at", False, keyset.parse_moment),
        keyset.Order("-amount", "estimated_value", True, keyset.parse_amount),
        keyset.Order("amount", "estimated_value", False, keyset.parse_amount),
    )
}
SORT_LABELS = {
    "relevance": _("Most relevant first (with words)"),
    "-date": _("Newest first"),
    "date": _("Oldest first"),
    "-amount": _("Highest value first"),
    "amount": _("Lowest value first"),
}


class PlainChoiceIterator(ModelChoiceIterator):
    """A select's rows read with one plain SELECT. Django reads them through
    queryset.iterator(), which outside a transaction declares a server-side cursor WITH HOLD
    (DECLARE, FETCH, CLOSE, the result materialised): the slowest statements of the search
    page (bench/search.py), for a few dozen sectors or departments."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class ProcessFilter(LeanFilterSet, SingleValuedFilterSet):
    """Public search of selection processes: the one FilterSet of the search page, its CSV,
    the feeds and the API. Its parameter names are public (README, "Search parameters").

    Not yet: the award date range."""

    q = django_filters.CharFilter(
        label=_("Words or identifier"), method="filter_text", max_length=200
    )
    entity = django_filters.CharFilter(
        label=_("Entity (RUC or acronym)"), method="filter_entity", max_length=30
    )
    sector = django_filters.ModelChoiceFilter(
        field_name="entity__sector", queryset=Sector.objects.all(), label=_("Sector")
    )
    level = django_filters.ChoiceFilter(
        field_name="entity__level", choices=GovernmentLevel.choices, label=_("Government level")
    )
    department = DepartmentFilter()
    ubigeo = django_filters.CharFilter(
        label=_("UBIGEO (department, province or district)"),
        method="filter_ubigeo",
        validators=[UBIGEO_PREFIX],
        max_length=6,
    )
    procedure_type = django_filters.ChoiceFilter(
        choices=ProcedureType.choices, label=_("Procedure type")
    )
    object_type = django_filters.ChoiceFilter(choices=ObjectType.choices, label=_("Object"))
    status = django_filters.ChoiceFilter(choices=ProcessStatus.choices, label=_("Status"))
    stage = django_filters.ChoiceFilter(
        choices=Stage.choices, label=_("Current stage"), method="filter_stage"
    )
    year = YearFilter(field_name="fiscal_year", label=_("Fiscal year"))
    call_from = DayFilter(label=_("Called from"), method="in_stage_range")
    call_to = DayFilter(label=_("Called until"), method="in_stage_range")
    deadline_from = DayFilter(label=_("Bid deadline from"), method="in_stage_range")
    deadline_to = DayFilter(label=_("Bid deadline until"), method="in_stage_range")
    catalog = django_filters.CharFilter(
        label=_("Catalog code"), method="filter_catalog", max_length=20
    )
    sme_only = YesNoFilter(label=_("SMEs only"))
    supplier = django_filters.CharFilter(
        label=_("Winning supplier (RUC)"),
        method="filter_supplier",
        validators=[RegexValidator(r"^[0-9]{11}$", _("Enter an 11-digit RUC."))],
        max_length=11,
    )
    min_value = MoneyFilter(
        field_name="estimated_value", lookup_expr="gte", label=_("Minimum value (S/)")
    )
    max_value = MoneyFilter(
        field_name="estimated_value", lookup_expr="lte", label=_("Maximum value (S/)")
    )
    sort = django_filters.ChoiceFilter(
        choices=list(SORT_LABELS.items()), label=_("Sort"), method="filter_sort", empty_label=None
    )

    class Meta:
        model = ProcurementProcess
        form = ProcessFilterForm
        fields = [
            "q",
            "entity",
            "sector",
            "level",
            "department",
            "ubigeo",
            "procedure_type",
            "object_type",
            "status",
            "stage",
            "year",
            "call_from",
            "call_to",
            "deadline_from",
            "deadline_to",
            "catalog",
            "sme_only",
            "supplier",
            "min_value",
            "max_value",
            "sort",
        ]

    _identified = None  # (queryset, id) of the process whose identifier the words were

    @property
    def identified(self) -> ProcurementProcess | None:
        """The process whose identifier the words were (filter_text), read when first asked
        for; None when they were not one (or before filtering)."""
        found = self._identified
        if isinstance(found, tuple):
            queryset, pk = found
            found = self._identified = queryset.get(pk=pk)
        return found

    def canonical_params(self, leave_out=("sort", "cursor", "format")) -> dict[str, str]:
        """The parameters of a valid search written back from its cleaned values in one form
        (year=2026.0, +2026 and ２０２６ are year=2026; entity=pcm is PCM; catalog=4321 is
        43210000), the empty ones and `leave_out` left out: the same search, however typed."""
        data = self.form.cleaned_data
        params = {}
        for name in self.filters:
            if name in leave_out:
                continue
            if (text := _canonical(data.get(name))) and name == "entity":
                text = text.upper()  # a RUC, or an acronym matched without case
            elif text and name == "catalog":
                text = prefix_code(code_prefix(text))
            if text:
                params[name] = text
        return params

    @property
    def form(self):
        form = super().form
        for name in ("sector", "department"):
            field = form.fields[name]
            if field.iterator is not PlainChoiceIterator:
                field.iterator = PlainChoiceIterator
                field.widget.choices = field.choices  # the widget kept the first iterator
        return form

    @property
    def order(self) -> keyset.Order:
        """The keyset sort asked for (newest first when none, a bad one, or relevance)."""
        data = getattr(self.form, "cleaned_data", {}) if self.is_bound else {}
        return PROCESS_SORTS.get(data.get("sort") or "-date", PROCESS_SORTS["-date"])

    @property
    def relevance_text(self) -> str:
        """The words to rank by, when the sort is by relevance and there are words (else "":
        relevance without words is the newest first)."""
        data = getattr(self.form, "cleaned_data", {}) if self.is_bound else {}
        return (data.get("q") or "").strip() if data.get("sort") == "relevance" else ""

    def filter_sort(self, queryset, name, value):
        if value == "relevance":
            return queryset  # ranked by the page (search.ranked), over the newest matches
        order = PROCESS_SORTS[value]
        sign = "-" if order.descending else ""
        return queryset.order_by(f"{sign}{order.field}", f"{sign}pk")

    def filter_text(self, queryset, name, value):
        """An exact identifier finds its process; other words are a Spanish full-text search
        (procurement.search: accents and plurals folded)."""
        value = value.strip()
        if not value:
            return queryset
        identified = queryset.filter(identifier=value.upper())  # the unique index
        # Only the id: words are far more often searched than identifiers, and the lookup is
        # then a bare statement instead of the list's row with its joins and call date.
        if (pk := identified.values_list("pk", flat=True).first()) is not None:
            self._identified = (queryset, pk)  # the search page goes straight to it
            return identified
        return search.filter_text(queryset, value)

    def filter_entity(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(entity__ruc=value) | Q(entity__acronym__iexact=value))

    def filter_supplier(self, queryset, name, value):
        """The processes with a lot granted to the supplier (a live award that stands, not a
        deserted or revoked one)."""
        won = Award.objects.granted().filter(process=OuterRef("pk"), supplier__ruc=value)
        return queryset.filter(Exists(won))

    def filter_department(self, queryset, name, value):
        return queryset.filter(entity__ubigeo__code__startswith=value.code)

    def filter_ubigeo(self, queryset, name, value):
        """The entity's location at any level: 15 (Lima), 1501 (Lima province), 150101."""
        return queryset.filter(entity__ubigeo__code__startswith=value)

    def filter_stage(self, queryset, name, value):
        return queryset.filter(in_stage_on(value, clock.today()))

    # Date ranges on the calendar: the call date is the start of the call stage
    # (queries.call_date), the bid deadline the last day of the bid stage. Both ends of a range
    # make one condition (filter_queryset), a range scan of the stage index.
    STAGE_RANGES = (
        (Stage.CALL, "start", "call_from", "call_to"),
        (Stage.BIDS, "end", "deadline_from", "deadline_to"),
    )

    def in_stage_range(self, queryset, name, value):
        return queryset  # applied with the other end of its range, in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        for stage, edge, low, high in self.STAGE_RANGES:
            bounds = {
                f"{edge}__{lookup}": data[key]
                for key, lookup in ((low, "gte"), (high, "lte"))
                if data.get(key) is not None
            }
            if bounds:
                rows = ProcessStage.objects.filter(stage=stage, **bounds).order_by()
                queryset = queryset.filter(pk__in=rows.values("process_id"))
        return queryset

    def filter_catalog(self, queryset, name, value):
        """A code finds the processes with an item under it: a family (43210000) finds its
        commodities (43211503). Read from the process's own row (its items' codes, stored:
        search.catalog_condition), not by joining the items."""
        prefix = code_prefix(value)
        if not prefix:
            return queryset
        return queryset.filter(search.catalog_condition(prefix))


def _canonical(value) -> str:
    """A cleaned filter value as a URL parameter ("" when it does not filter)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Model):
        return str(value.pk)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value).strip()


class ContractFilterForm(OrderedRangesForm, forms.Form):
    default_renderer = FAST_RENDERER  # as the process search's (ProcessFilterForm)

    RANGES = (("min_amount", "max_amount"),)


class ContractFilter(LeanFilterSet):
    """Public search of contracts; the same FilterSet serves the page and the CSV."""

    entity = django_filters.CharFilter(label=_("Entity (RUC or acronym)"), method="filter_entity")
    supplier = django_filters.CharFilter(
        label=_("Supplier RUC"), field_name="supplier__ruc", max_length=11
    )
    year = YearFilter(field_name="signed_on__year", label=_("Year signed"))
    min_amount = MoneyFilter(field_name="amount", lookup_expr="gte", label=_("Minimum amount (S/)"))
    max_amount = MoneyFilter(field_name="amount", lookup_expr="lte", label=_("Maximum amount (S/)"))
    size_class = django_filters.ChoiceFilter(
        choices=SizeClass.choices, label=_("Supplier's size class at the award")
    )
    guarantee = django_filters.ChoiceFilter(
        choices=Contract.Guarantee.choices, label=_("Guarantee")
    )
    status = django_filters.ChoiceFilter(choices=Contract.Status.choices, label=_("Status"))

    class Meta:
        model = Contract
        form = ContractFilterForm
        fields = [
            "entity",
            "supplier",
            "year",
            "min_amount",
            "max_amount",
            "size_class",
            "guarantee",
            "status",
        ]

    def filter_entity(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(entity__ruc=value) | Q(entity__acronym__iexact=value))


class SmeYearFilter(SingleValuedFilterSet):
    """The fiscal year of an entity's SME compliance page and its CSV."""

    year = YearFilter(label=_("Fiscal year"), method="filter_year")
    # What ?format=csv gives: the contracts behind the share (default) or the month table.
    table = django_filters.ChoiceFilter(
        label=_("Table"),
        choices=[("contracts", _("Contracts")), ("months", _("Months"))],
        method="filter_table",
    )

    class Meta:
        model = Contract
        fields = ["year", "table"]

    def filter_table(self, queryset, name, value):
        return queryset  # it chooses the CSV's table, not contracts

    def csv_table(self) -> str:
        data = self.form.cleaned_data if self.is_valid() else {}
        return data.get("table") or "contracts"

    def filter_year(self, queryset, name, value):
        return queryset.filter(signed_on__year=value)

    def year_or(self, default: int) -> int:
        data = self.form.cleaned_data if self.is_valid() else {}
        return data.get("year") or default


class SmeRankingFilter(EntityPlaceFilter):
    """The national SME ranking (/mype/): the year read by the view, the rest narrows the
    entities ranked. The same FilterSet serves the page and the CSV."""

    year = YearFilter(label=_("Fiscal year"), method="filter_year")
    sort = django_filters.ChoiceFilter(
        label=_("Order"),
        choices=[
            ("share", _("Lowest share first")),
            ("-share", _("Highest share first")),
            ("gap", _("Largest gap to the minimum first")),
            ("value", _("Largest contracted value first")),
            ("name", _("By name")),
        ],
        empty_label=None,  # no value is the first order, listed once
        method="filter_year",
    )

    class Meta:
        model = Entity
        fields = ["year", "sector", "level", "department", "sort"]

    def filter_year(self, queryset, name, value):
        return queryset  # the year chooses the contracts and sort orders them, not entities

    def sort_or_default(self) -> str:
        data = self.form.cleaned_data if self.is_valid() else {}
        return data.get("sort") or ""

    def year_or(self, default: int) -> int:
        data = self.form.cleaned_data if self.is_valid() else {}
        return data.get("year") or default


# --- the auditors' list of flagged processes (/auditoria/riesgos/) ---------------------------


def _parse_score(text: str) -> int:
    score = int(text)
    if not 0 <= score <= 100:
        raise ValueError("a score is 0 to 100")
    return score


RISK_SORTS = {
    order.name: order
    for order in (
        keyset.Order("-score", "score", True, _parse_score),
        keyset.Order("score", "score", False, _parse_score),
        keyset.Order("-date", "published_at", True, keyset.parse_moment),
        keyset.Order("date", "published_at", False, keyset.parse_moment),
    )
}
RISK_SORT_LABELS = {
    "-score": _("Highest risk first"),
    "score": _("Lowest risk first"),
    "-date": _("Newest call first"),
    "date": _("Oldest call first"),
}


class RiskFilterForm(OrderedRangesForm, forms.Form):
    default_renderer = FILTER_FORM_RENDERER

    RANGES = (("call_from", "call_to"), ("min_score", "max_score"))


class RiskFilter(django_filters.FilterSet):
    """The auditors' list of flagged processes (ProcessRisk rows) and its CSV: by flag,
    entity, department, score range and call period; sorted by score or call date."""

    flag = django_filters.ChoiceFilter(
        choices=RiskFlagCode.choices, label=_("Red flag"), method="filter_flag"
    )
    entity = django_filters.CharFilter(
        label=_("Entity (RUC or acronym)"), method="filter_entity", max_length=30
    )
    department = DepartmentFilter()
    min_score = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label=_("Minimum score"), min_value=0, max_value=100
    )
    max_score = django_filters.NumberFilter(
        field_name="score", lookup_expr="lte", label=_("Maximum score"), min_value=0, max_value=100
    )
    call_from = DayFilter(label=_("Called from"), method="filter_period")
    call_to = DayFilter(label=_("Called until"), method="filter_period")
    sort = django_filters.ChoiceFilter(
        choices=list(RISK_SORT_LABELS.items()),
        label=_("Sort"),
        method="filter_sort",
        empty_label=None,
    )

    class Meta:
        model = ProcessRisk
        form = RiskFilterForm
        fields = [
            "flag",
            "entity",
            "department",
            "min_score",
            "max_score",
            "call_from",
            "call_to",
            "sort",
        ]

    @property
    def order(self) -> keyset.Order:
        data = getattr(self.form, "cleaned_data", {}) if self.is_bound else {}
        return RISK_SORTS[data.get("sort") or "-score"]

    def filter_sort(self, queryset, name, value):
        return queryset

    def filter_flag(self, queryset, name, value):
        flags = ProcessRiskFlag.objects.filter(process=OuterRef("process"), code=value)
        return queryset.filter(Exists(flags))

    def filter_entity(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(entity__ruc=value) | Q(entity__acronym__iexact=value))

    def filter_department(self, queryset, name, value):
        return queryset.filter(entity__ubigeo__code__startswith=value.code)

    def filter_period(self, queryset, name, value):
        if name == "call_from":
            return queryset.filter(published_at__gte=clock.local(value, time.min))
        return queryset.filter(published_at__lt=clock.local(value + timedelta(days=1), time.min))


class StuckFilter(django_filters.FilterSet):
    """The auditors' stuck processes (ProcurementProcess rows) and overdue appeals
    (procurement.stuck): both lists are narrowed by the process's entity, department and
    procedure type; the stage (the one whose end was overrun, which the status owes) narrows
    the stuck processes only."""

    entity = django_filters.CharFilter(
        label=_("Entity (RUC or acronym)"), method="filter_entity", max_length=30
    )
    department = DepartmentFilter()
    procedure_type = django_filters.ChoiceFilter(
        choices=ProcedureType.choices,
        label=_("Procedure type"),
        method="filter_procedure_type",
    )
    stage = django_filters.ChoiceFilter(
        choices=[(s.value, s.label) for s in (Stage.AWARD, Stage.STANDSTILL, Stage.CONTRACT)],
        label=_("Overrun stage"),
        method="filter_stage",
    )

    @staticmethod
    def _process(queryset) -> str:
        """The path from a row of `queryset` to its process."""
        return "" if queryset.model is ProcurementProcess else "process__"

    def filter_entity(self, queryset, name, value):
        value = value.strip()
        to = self._process(queryset)
        return queryset.filter(
            Q(**{f"{to}entity__ruc": value}) | Q(**{f"{to}entity__acronym__iexact": value})
        )

    def filter_department(self, queryset, name, value):
        return queryset.filter(
            **{f"{self._process(queryset)}entity__ubigeo__code__startswith": value.code}
        )

    def filter_procedure_type(self, queryset, name, value):
        return queryset.filter(**{f"{self._process(queryset)}procedure_type": value})

    def filter_stage(self, queryset, name, value):
        if queryset.model is ProcurementProcess:
            return queryset.filter(status__in=[s for s, due in DUE_STAGE.items() if due == value])
        return queryset
