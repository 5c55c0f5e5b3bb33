import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.catalog import code_prefix
from core.codelists import SizeClass
from core.filtering import DepartmentFilter
from core.widgets import AnyYesNoSelect

from .models import Supplier


class SupplierFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or RUC"), method="filter_text")
    size_class = django_filters.ChoiceFilter(choices=SizeClass.choices, label=_("Size class"))
    sme = django_filters.BooleanFilter(
        widget=AnyYesNoSelect, label=_("SME only"), method="filter_sme"
    )
    department = DepartmentFilter()
    category = django_filters.CharFilter(label=_("Catalog code"), method="filter_category")

    class Meta:
        model = Supplier
        fields = ["q", "size_class", "sme", "department", "category"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(legal_name__icontains=value)
            | Q(trade_name__icontains=value)
            | Q(ruc__startswith=value)
        )

    def filter_sme(self, queryset, name, value):
        condition = Q(size_class__in=SizeClass.sme_values())
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_department(self, queryset, name, value):
        return queryset.filter(domicile__code__startswith=value.code)

    def filter_category(self, queryset, name, value):
        """A code matches its descendants: 43210000 (a family) matches 43211503."""
        prefix = code_prefix(value)
        if not prefix:
            return queryset
        return queryset.filter(categories__code__startswith=prefix).distinct()
