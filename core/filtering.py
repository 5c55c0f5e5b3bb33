"""Search pages answer bad filter values with 400 and the form's errors, instead of quietly
dropping the filter (an export of everything when someone asked for a subset is a lie)."""

import copy
from collections import OrderedDict
from decimal import Decimal

import django_filters
from django import forms
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ChoiceIterator
from django_filters.filters import AllValuesFilter, AllValuesMultipleFilter, FilterMethod
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .widgets import FastSelect, FastWidgetRenderer, StrictYesNoSelect, use_fast_selects


def filter_status(filterset) -> int:
    return 400 if filterset.is_bound and not filterset.is_valid() else 200


def invalid_export(filterset) -> HttpResponse | None:
    """For CSV exports: a 400 text response naming the bad filters, or None when all is well."""
    if filter_status(filterset) == 200:
        return None
    return errors_response(filterset.form)


def errors_response(*forms_) -> HttpResponse:
    """A 400 text response naming each bad field of `forms_` and its errors (CSV exports)."""
    lines = [
        f"{name}: {' '.join(str(e) for e in errors)}"
        for form in forms_
        for name, errors in form.errors.items()
    ]
    return HttpResponse(
        "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
    )


class _RepeatsRefused:
    """A filter form mixin: a parameter of a single-valued filter given more than once
    (?year=2026&year=2025) is an error of that field, never the last value taken silently."""

    def clean(self):
        data = super().clean()
        getlist = getattr(self.data, "getlist", None)
        if getlist is not None:
            for name, field in self.fields.items():
                if isinstance(field, forms.MultipleChoiceField | forms.MultiValueField):
                    continue
                if len(getlist(self.add_prefix(name))) > 1 and name not in self.errors:
                    self.add_error(name, _("Give this filter only once."))
        return data


class SingleValuedFilterSet(django_filters.FilterSet):
    """A FilterSet whose single-valued filters refuse a repeated parameter (a 400 with the
    form's error on the pages and CSVs that check filter_status or invalid_export)."""

    def get_form_class(self):
        form_class = super().get_form_class()
        return type(form_class.__name__, (_RepeatsRefused, form_class), {})


# Filters whose values go into a query are bounded to what the columns can hold: an
# out-of-range number (9223372036854775808, -1e1000, 26 digits) is a form error, not a query
# the database refuses with a 500.
FIRST_YEAR, LAST_YEAR = 1990, 2199
MAX_MONEY = Decimal("99999999999999.99")  # a 16-digit money column with 2 decimals


class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", FIRST_YEAR)
        kwargs.setdefault("max_value", LAST_YEAR)
        super().__init__(*args, **kwargs)


class MonthFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=12, **kwargs)


class MoneyFilter(django_filters.NumberFilter):
    """An amount in soles, zero or more, at most what a money column holds."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=Decimal(0), max_value=MAX_MONEY, max_digits=16, **kwargs)


class _BoundedDateField(forms.DateField):
    def clean(self, value):
        day = super().clean(value)
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise forms.ValidationError(
                _("Enter a date between %(first)s and %(last)s.")
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            )
        return day


# A plain form's date field with the same bounds and date picker as DayFilter.
class DayField(_BoundedDateField):
    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DayFilter(django_filters.DateFilter):
    """A date (YYYY-MM-DD, the browser's date picker) between FIRST_YEAR and LAST_YEAR."""

    field_class = _BoundedDateField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(*args, **kwargs)


class OrderedRangesForm:
    """A form mixin: each (start, end) pair of fields in RANGES is a range whose end must not
    come before its start (dates, amounts, scores); a reversed one is an error on its end,
    never an empty answer that looks like "nothing happened". Equal ends are a range of one
    value. A pair with either end missing or invalid is not compared."""

    RANGES: tuple[tuple[str, str], ...] = ()

    def clean(self):
        data = super().clean()
        for start, end in self.RANGES:
            low, high = data.get(start), data.get(end)
            if low is not None and high is not None and low > high:
                self.add_error(end, _("The end of the range is before its start."))
        return data


class YesNoField(forms.NullBooleanField):
    """Yes, no or any (empty); any other value is an error, not "any"."""

    widget = StrictYesNoSelect
    default_error_messages = {"invalid": _("Choose yes, no or any.")}

    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return value
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter ("true", "false", empty for any) that refuses other values."""

    field_class = YesNoField


@extend_schema_field(OpenApiTypes.STR)
class DepartmentFilter(django_filters.ModelChoiceFilter):
    """A department by its 2-digit UBIGEO code (Department's primary key), shared by every
    search that narrows by department; each FilterSet says what "in the department" means
    for its rows through `method`. Described to the API schema as a string."""

    def __init__(self, *, method: str = "filter_department", **kwargs):
        from .models import Department

        kwargs.setdefault("label", _("Department"))
        super().__init__(queryset=Department.objects.all(), method=method, **kwargs)


# --- a FilterSet built for every request of a busy page ----------------------------------------


def _filter_copy(filter_):
    """A filter of the class as one FilterSet instance's own: its attributes copied (the
    filterset sets model and parent on it), its extra arguments too, and its method bound to
    the copy. Django-filter deep-copies every filter instead, querysets and choices included:
    a millisecond of the search page per request."""
    copied = copy.copy(filter_)
    copied.extra = dict(filter_.extra)
    copied.__dict__.pop("_field", None)
    if isinstance(filter_.__dict__.get("filter"), FilterMethod):
        copied.filter = FilterMethod(copied)
    return copied


class _InstanceFilters(OrderedDict):
    """The class's filters; what FilterSet.__init__ deep-copies: _filter_copy of each."""

    def __deepcopy__(self, memo):
        return OrderedDict((name, _filter_copy(filter_)) for name, filter_ in self.items())


class _FormFields(dict):
    """A reused form class's fields; what Form.__init__ deep-copies for every form: each
    field as its own __deepcopy__ copies it (_field_copy)."""

    def __deepcopy__(self, memo):
        return {name: _field_copy(field, memo) for name, field in self.items()}


def _field_copy(field, memo):
    """`field.__deepcopy__(memo)`, except that a plain choice field's choices (value, label
    pairs: tuples, never changed in place) go into a new list as they are, instead of being
    deep-copied pair by pair and label by label: half the cost of building the search form."""
    if type(field).__deepcopy__ is not forms.ChoiceField.__deepcopy__:
        return copy.deepcopy(field, memo)  # any other field, a model choice field
    choices = field._choices
    # django-filter wraps the pairs in a ChoiceIterator that knows its field.
    wrapped = isinstance(choices, ChoiceIterator) and choices.field is field
    pairs = choices.choices if wrapped else choices
    if not isinstance(pairs, list) or not all(
        isinstance(pair, tuple) and not isinstance(pair[1], list | tuple) for pair in pairs
    ):
        return copy.deepcopy(field, memo)  # option groups, choices from a callable
    copied = forms.Field.__deepcopy__(field, memo)
    if wrapped:
        copied._choices = copy.copy(choices)
        copied._choices.field, copied._choices.choices = copied, list(pairs)
    else:
        copied._choices = list(pairs)
    return copied


class LeanFilterSet(django_filters.FilterSet):
    """A FilterSet that costs less per request: its form class (a new class with a new field
    per filter for every instance, in django-filter) is built once per FilterSet class, and
    its filters are copied per instance, not deep-copied. The form still gets its own fields
    (Form deep-copies them, a model choice field its queryset: the choices are read for each
    form). For FilterSets whose filters keep no state of their own beyond what _filter_copy
    copies; a form class is reused only when every filter names its label (a label derived
    from the model is translated when it is built) and no field depends on the request or on
    the rows (a callable queryset, AllValuesFilter). With the fast renderer
    (core.widgets.FAST_RENDERER) its plain selects are FastSelects, and when the form class is
    reused their options are written once (per language, and per version of the reference rows
    a select lists) instead of for every form."""

    @classmethod
    def get_filters(cls):
        return _InstanceFilters(super().get_filters())

    def get_form_class(self):
        cls = type(self)
        form_class = cls.__dict__.get("_lean_form_class")
        if form_class is None:
            # Asked of the class's filters: building the fields gives each copy a label.
            reusable = all(_reusable_field(filter_) for filter_ in cls.base_filters.values())
            form_class = super().get_form_class()
            fast = isinstance(getattr(form_class, "default_renderer", None), FastWidgetRenderer)
            if fast:
                use_fast_selects(form_class.base_fields)
            if reusable:
                cls._lean_form_class = form_class
                form_class.base_fields = _FormFields(form_class.base_fields)
                if fast:  # the same choices for every form: options written once
                    for name, field in form_class.base_fields.items():
                        if isinstance(field.widget, FastSelect):
                            field.widget.options_key = (cls.__module__, cls.__qualname__, name)
        return form_class


def _reusable_field(filter_) -> bool:
    return (
        filter_._label is not None
        and not callable(getattr(filter_, "queryset", None))
        and not isinstance(filter_, AllValuesFilter | AllValuesMultipleFilter)
    )
