"""Filters of the auditors' audit trail page (django-filter, like every search page)."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry

_ACTION = RegexValidator(r"^[a-z_]+(\.[a-z_]+)*$", _("An action looks like “plan.published”."))
_OBJECT_TYPE = RegexValidator(
    r"^[a-z_]+\.[a-z_]+$", _("An object type looks like “procurement.procurementprocess”.")
)
_RUC = RegexValidator(r"^[0-9]{11}$", _("Enter an 11-digit RUC."))

# Which entries concern an entity (its own record and everything it owns: plans, processes,
# their documents, awards, contracts...): core knows no entity, so the apps that own such
# objects register here a function RUC -> condition on (object_type, object_id), or None
# when no such entity (procurement does, in its AppConfig.ready).
ENTITY_SCOPES: list[Callable[[str], Q | None]] = []


class EmailFilter(django_filters.CharFilter):
    field_class = forms.EmailField


class AuditEntryFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


class AuditEntryFilter(django_filters.FilterSet):
    """Entries by action, object (its timeline), actor's e-mail, entity and date; the page
    goes through them with a `cursor` (core.queries.entry_page)."""

    action = django_filters.CharFilter(
        label=_("Action"), max_length=60, validators=[_ACTION], strip=True
    )
    object_type = django_filters.CharFilter(
        label=_("Object type"), max_length=60, validators=[_OBJECT_TYPE], strip=True
    )
    object_id = django_filters.CharFilter(label=_("Object id"), max_length=64, strip=True)
    actor = EmailFilter(field_name="actor_label", label=_("Actor's e-mail"), method="filter_actor")
    entity = django_filters.CharFilter(
        label=_("Entity (RUC)"), max_length=11, validators=[_RUC], method="filter_entity"
    )
    since = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="gte",
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        method="filter_since",
    )
    until = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="lte",
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        method="filter_until",
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "object_type", "object_id", "actor", "entity", "since", "until"]
        form = AuditEntryFilterForm

    def filter_actor(self, queryset, name, value):
        return queryset.filter(actor_label=value.strip().lower())

    def filter_entity(self, queryset, name, value):
        conditions = [q for q in (scope(value) for scope in ENTITY_SCOPES) if q is not None]
        if not conditions:
            return queryset.none()
        combined = Q()
        for condition in conditions:
            combined |= condition
        return queryset.filter(combined)

    # Days in the portal's time zone, as bounds on the indexed instant (no cast per row).
    def filter_since(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of(value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(created_at__lt=_start_of(value + timedelta(days=1)))


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
