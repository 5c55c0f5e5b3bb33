"""core.filtering.LeanFilterSet: the search's FilterSet builds its form class once and copies
its filters per instance without deep copies; each instance must still filter, validate and
translate on its own."""

import django_filters
import pytest
from django.utils import translation

from core.filtering import LeanFilterSet
from procurement.filters import ProcessFilter
from procurement.models import Entity, ProcurementProcess
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db


def _filter(data=None):
    return ProcessFilter(data, queryset=ProcurementProcess.objects.all())


def test_the_form_class_is_built_once_and_the_fields_are_each_forms_own():
    first, second = _filter({"status": "convocado"}), _filter({"status": "x"})
    assert type(first.form) is type(second.form)
    assert first.form.fields["status"] is not second.form.fields["status"]
    assert first.form.fields["sector"].queryset is not second.form.fields["sector"].queryset
    assert first.is_valid() and not second.is_valid()
    assert "status" in second.form.errors and not first.form.errors


def test_a_forms_choices_and_widget_are_its_own():
    # Choices are copied as a new list of the same pairs (core.filtering._field_copy).
    first, second = _filter(), _filter()
    mine, other = first.form.fields["status"], second.form.fields["status"]
    assert mine._choices is not other._choices and mine._choices.field is mine
    mine._choices.choices.append(("nuevo", "Nuevo"))
    mine.widget.attrs["data-x"] = "1"
    mine.error_messages["invalid_choice"] = "x"
    assert "nuevo" in [value for value, _label in mine.choices]
    for form in (second.form, _filter().form):
        assert "nuevo" not in [value for value, _label in form.fields["status"].choices]
        assert "data-x" not in form.fields["status"].widget.attrs
        assert form.fields["status"].error_messages["invalid_choice"] != "x"
    assert _filter({"status": "nuevo"}).form.errors  # not a choice of another form


def test_each_instance_has_its_own_filters_bound_to_it():
    first, second = _filter({"q": "papel"}), _filter({"q": "tinta"})
    assert first.filters["q"] is not second.filters["q"]
    assert first.filters["q"].parent is first and second.filters["q"].parent is second
    # A method filter calls its own instance's method (filter_text keeps what it found).
    assert first.filters["q"].filter.f is first.filters["q"]
    assert ProcessFilter.base_filters["q"].__dict__.get("parent") is None


def test_two_searches_filter_independently():
    called = published("Papel bond A4")
    published("Tinta para impresoras")
    first, second = _filter({"q": called.identifier}), _filter({"q": "tinta"})
    assert list(first.qs) == [called] and first.identified == called
    assert [p.description for p in second.qs] == ["Tinta para impresoras"]
    assert second.identified is None


def test_labels_follow_the_language_of_each_request():
    with translation.override("es"):
        spanish = str(_filter({}).form["status"].label)
    with translation.override("en"):
        english = str(_filter({}).form["status"].label)
    assert (spanish, english) == ("Estado", "Status")


def test_a_filter_without_its_own_label_gets_a_form_class_per_instance():
    """A label derived from the model is translated when the field is built: never shared."""

    class Unlabelled(LeanFilterSet):
        acronym = django_filters.CharFilter()

        class Meta:
            model = Entity
            fields = ["acronym"]

    first, second = Unlabelled({}), Unlabelled({})
    assert type(first.form) is not type(second.form)
