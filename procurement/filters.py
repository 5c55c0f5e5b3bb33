import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.codelists import GovernmentLevel
from core.models import Department, Sector

from .models import Entity


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
