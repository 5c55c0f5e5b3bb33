import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.catalog import code_prefix
from core.codelists import GovernmentLevel, ObjectType, ProcedureType, SizeClass
from core.filtering import MoneyFilter, MonthFilter, YearFilter
from core.models import Department, Sector
from core.widgets import AnyYesNoSelect

from .models import Contract, Entity, PlanItem, PlanVersion, ProcessStatus, ProcurementProcess


class EntityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name, acronym or RUC"), method="filter_text")
    sector = django_filters.ModelChoiceFilter(queryset=Sector.objects.all(), label=_("Sector"))
    level = django_filters.ChoiceFilter(
        choices=GovernmentLevel.choices, label=_("Government level")
    )
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), label=_("Department"), method="filter_department"
    )

    class Meta:
        model = Entity
        fields = ["q", "sector", "level", "department"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(name__icontains=value) | Q(acronym__icontains=value) | Q(ruc__startswith=value)
        )

    def filter_department(self, queryset, name, value):
        return queryset.filter(ubigeo__code__startswith=value.code)


class PlanFilter(django_filters.FilterSet):
    """Public list of plans in force."""

    q = django_filters.CharFilter(label=_("Entity (name, acronym or RUC)"), method="filter_entity")
    year = YearFilter(field_name="plan__fiscal_year", label=_("Fiscal year"))
    sector = django_filters.ModelChoiceFilter(
        field_name="plan__entity__sector", queryset=Sector.objects.all(), label=_("Sector")
    )
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), label=_("Department"), method="filter_department"
    )
    compliant = django_filters.BooleanFilter(
        widget=AnyYesNoSelect, field_name="sme_compliant", label=_("Meets the 40% SME reservation")
    )

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


class PlanItemFilter(django_filters.FilterSet):
    """Items of one plan version (public page, CSV export)."""

    object_type = django_filters.ChoiceFilter(choices=ObjectType.choices, label=_("Object"))
    procedure_type = django_filters.ChoiceFilter(
        choices=ProcedureType.choices, label=_("Procedure type")
    )
    month = MonthFilter(field_name="planned_month", label=_("Planned month"))
    catalog = django_filters.CharFilter(label=_("Catalog code"), method="filter_catalog")
    reserved = django_filters.BooleanFilter(
        widget=AnyYesNoSelect, field_name="sme_reserved", label=_("Reserved for SMEs")
    )
    min_value = MoneyFilter(
        field_name="estimated_value", lookup_expr="gte", label=_("Minimum value (S/)")
    )
    max_value = MoneyFilter(
        field_name="estimated_value", lookup_expr="lte", label=_("Maximum value (S/)")
    )

    class Meta:
        model = PlanItem
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


class ProcessFilter(django_filters.FilterSet):
    """Public search of selection processes; the same FilterSet serves the page and CSV."""

    q = django_filters.CharFilter(label=_("Words or identifier"), method="filter_text")
    entity = django_filters.CharFilter(label=_("Entity (RUC or acronym)"), method="filter_entity")
    procedure_type = django_filters.ChoiceFilter(
        choices=ProcedureType.choices, label=_("Procedure type")
    )
    object_type = django_filters.ChoiceFilter(choices=ObjectType.choices, label=_("Object"))
    status = django_filters.ChoiceFilter(choices=ProcessStatus.choices, label=_("Status"))
    year = YearFilter(field_name="fiscal_year", label=_("Fiscal year"))
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), label=_("Department"), method="filter_department"
    )
    sme_only = django_filters.BooleanFilter(widget=AnyYesNoSelect, label=_("SMEs only"))
    min_value = MoneyFilter(
        field_name="estimated_value", lookup_expr="gte", label=_("Minimum value (S/)")
    )
    max_value = MoneyFilter(
        field_name="estimated_value", lookup_expr="lte", label=_("Maximum value (S/)")
    )

    class Meta:
        model = ProcurementProcess
        fields = [
            "q",
            "entity",
            "procedure_type",
            "object_type",
            "status",
            "year",
            "department",
            "sme_only",
        ]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(identifier__iexact=value) | Q(description__icontains=value))

    def filter_entity(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(entity__ruc=value) | Q(entity__acronym__iexact=value))

    def filter_department(self, queryset, name, value):
        return queryset.filter(entity__ubigeo__code__startswith=value.code)


class ContractFilter(django_filters.FilterSet):
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
