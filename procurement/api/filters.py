"""Filters of the API lists that have no page of their own (the others reuse
procurement.filters, the same FilterSets as the search pages)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from core.filtering import YearFilter

from ..models import Award, BidOpening, Evaluation, PlanVersion, ProcessDocument


class PlanVersionFilter(django_filters.FilterSet):
    entity = django_filters.CharFilter(field_name="plan__entity__ruc", label=_("Entity RUC"))
    year = YearFilter(field_name="plan__fiscal_year", label=_("Fiscal year"))

    class Meta:
        model = PlanVersion
        fields = ["entity", "year"]


class DocumentFilter(django_filters.FilterSet):
    process = django_filters.CharFilter(
        field_name="process__identifier", label=_("Process identifier")
    )
    kind = django_filters.ChoiceFilter(choices=ProcessDocument.Kind.choices, label=_("Kind"))

    class Meta:
        model = ProcessDocument
        fields = ["process", "kind"]


class OpeningActFilter(django_filters.FilterSet):
    entity = django_filters.CharFilter(field_name="process__entity__ruc", label=_("Entity RUC"))

    class Meta:
        model = BidOpening
        fields = ["entity"]


class EvaluationFilter(django_filters.FilterSet):
    process = django_filters.CharFilter(
        field_name="process__identifier", label=_("Process identifier")
    )

    class Meta:
        model = Evaluation
        fields = ["process"]


class AwardFilter(django_filters.FilterSet):
    process = django_filters.CharFilter(
        field_name="process__identifier", label=_("Process identifier")
    )
    supplier = django_filters.CharFilter(field_name="supplier__ruc", label=_("Supplier RUC"))
    status = django_filters.ChoiceFilter(choices=Award.Status.choices, label=_("Status"))

    class Meta:
        model = Award
        fields = ["process", "supplier", "status"]
