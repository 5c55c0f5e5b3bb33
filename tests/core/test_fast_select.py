"""core.widgets.FastSelect: a plain select written by the fast renderer straight from its
choices must be Django's Select, byte for byte: the selected option (the first match only),
empty and None values, escaping (a safe label stays as it is), attributes, option groups."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.forms.widgets import ChoiceWidget
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core.widgets import FAST_RENDERER, FastSelect, use_fast_selects
from procurement.filters import ProcessFilter
from procurement.models import ProcurementProcess

STOCK = DjangoTemplates()

CHOICES = [
    (None, "Any"),
    ("a&b", 'A & "B" <i>'),
    ("safe", mark_safe("<b>bold</b>")),
    ("lazy", gettext_lazy("Status")),
    (3, 3),
    ("a&b", "the same value again"),
]
GROUPS = [("", "Any"), ("Fruit", [("apple", "Apple"), ("pear", "Pear")]), ("nut", "Nut")]


@pytest.mark.parametrize(
    ("choices", "value", "attrs"),
    [
        (CHOICES, None, None),
        (CHOICES, "a&b", {"id": "id_x", "aria-invalid": "true", "required": True}),
        (CHOICES, "3", {"disabled": False, "data-x": "<q>"}),
        (CHOICES, "", None),
        (GROUPS, "pear", {"id": "id_g"}),
    ],
    ids=["unselected", "selected-once", "number", "empty", "groups"],
)
def test_a_fast_select_is_djangos_select(choices, value, attrs):
    fast = FastSelect(attrs={"class": "wide"}, choices=choices)
    stock = forms.Select(attrs={"class": "wide"}, choices=choices)
    html = fast.render("x", value, attrs, renderer=FAST_RENDERER)
    assert html == stock.render("x", value, attrs, renderer=STOCK)
    if choices is CHOICES:
        assert "&lt;i&gt;" in html and "<b>bold</b>" in html  # escaped; a safe label as it is
        assert html.count(" selected") == 1  # None and "" select the empty choice
        assert "again" not in html.split(" selected", 1)[0]  # the first match, only
    # With Django's renderer it is Django's select.
    assert fast.render("x", value, attrs, renderer=STOCK) == html


def test_the_search_forms_selects_are_written_without_option_dicts(monkeypatch):
    form = ProcessFilter({"status": "convocado"}, queryset=ProcurementProcess.objects.none()).form
    assert type(form.fields["status"].widget) is FastSelect
    monkeypatch.setattr(
        ChoiceWidget, "create_option", lambda *args, **kwargs: pytest.fail("option dict")
    )
    html = str(form["status"]) + str(form["sort"])
    assert '<option value="convocado" selected>' in html


def test_only_plain_selects_become_fast():
    class Choices(forms.Form):
        plain = forms.ChoiceField(choices=[("a", "A")])
        many = forms.MultipleChoiceField(choices=[("a", "A")])
        yes_no = forms.NullBooleanField()

    use_fast_selects(Choices.base_fields)
    widgets = {name: type(field.widget) for name, field in Choices.base_fields.items()}
    assert widgets == {
        "plain": FastSelect,
        "many": forms.SelectMultiple,
        "yes_no": forms.NullBooleanSelect,
    }
