"""Form widgets shared by every search form."""

import functools
from pathlib import Path

from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape as _escape
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import reference_versions

# What a filter's empty choice means: no condition (settings.FILTERS_EMPTY_CHOICE_LABEL).
ANY = _("Any")


class AnyYesNoSelect(forms.NullBooleanSelect):
    """A yes/no filter whose empty choice reads "Any", not Django's "Unknown": leaving it
    empty does not filter. Values stay "true" and "false" in URLs, as before."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", ANY), ("true", _("Yes")), ("false", _("No"))]

    def format_value(self, value):
        # A list, as Select expects (NullBooleanSelect's string would match "" inside "false").
        return [{True: "true", False: "false", "true": "true", "false": "false"}.get(value, "")]


class StrictYesNoSelect(AnyYesNoSelect):
    """AnyYesNoSelect that hands a value it does not know (" true", "maybe") to its field, to
    be refused (core.filtering.YesNoField), where NullBooleanSelect reads it as "any"."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value is None or value == "":
            return None
        known = super().value_from_datadict(data, files, name)
        return value if known is None else known


# --- widget rendering without the per-option templates ----------------------------------------

_FORMS_TEMPLATES = Path(forms.__file__).parent / "templates"
_SELECT = "django/forms/widgets/select.html"
_OPTION = "django/forms/widgets/select_option.html"
_INPUT = "django/forms/widgets/input.html"
# Django's input widgets whose template is only {% include "django/forms/widgets/input.html" %}.
_INPUTS = frozenset(
    f"django/forms/widgets/{kind}.html"
    for kind in (
        "input",
        "text",
        "date",
        "number",
        "search",
        "email",
        "url",
        "tel",
        "hidden",
        "checkbox",
        "password",
        "file",
        "color",
        "datetime",
        "time",
    )
)
_FILE = "django/forms/widgets/clearable_file_input.html"
# Checkboxes and radio buttons: checkbox_select.html and radio.html include multiple_input.html,
# whose options (checkbox_option.html, radio_option.html) include input_option.html.
_MULTIPLE = "django/forms/widgets/multiple_input.html"
_MULTIPLES = {
    "django/forms/widgets/checkbox_select.html": "django/forms/widgets/checkbox_option.html",
    "django/forms/widgets/radio.html": "django/forms/widgets/radio_option.html",
}
_INPUT_OPTION = "django/forms/widgets/input_option.html"


def _attrs(attrs: dict) -> str:
    """What django/forms/widgets/attrs.html writes: in order, False left out, True bare."""
    return "".join(
        ""
        if value is False
        else f" {_escape(name)}"
        if value is True
        else f' {_escape(name)}="{_escape(str(value))}"'
        for name, value in attrs.items()
    )


class FastWidgetRenderer(DjangoTemplates):
    """Django's form renderer, except that a select, the plain inputs (text, hidden,
    checkbox, file...) and the lists of checkboxes or radio buttons are written in Python
    (format_html: the same escaping) instead of through select.html, one select_option.html
    and attrs.html per option: a search form's selects hold a hundred options, and their
    templates were half of the search page's Python time (bench/search.py); the bid page's
    inputs, most of its own. The markup is the templates' own, byte for byte
    (tests/procurement/test_search_form_render.py, test_bid_form_render.py); a template
    overridden by an app, an optgroup, a file input showing its current file or an option
    of another template goes through the templates as before."""

    @functools.cached_property
    def _stock(self) -> dict[str, bool]:
        return {}

    def _is_stock(self, template_name: str) -> bool:
        """True when `template_name` resolves to Django's own file (no app overrides it)."""
        stock = self._stock.get(template_name)
        if stock is None:
            origin = Path(self.get_template(template_name).origin.name)
            stock = self._stock[template_name] = origin == _FORMS_TEMPLATES / template_name
        return stock

    def _are_stock(self, *template_names: str) -> bool:
        return all(self._is_stock(name) for name in template_names)

    def render(self, template_name, context, request=None):
        widget = context.get("widget")
        if widget is not None:
            if template_name == _SELECT and self._is_stock(_SELECT):
                html = self._select(widget)
                if html is not None:
                    return html
            elif template_name in _INPUTS and self._are_stock(template_name, _INPUT):
                return self._input(widget)
            elif (
                template_name == _FILE
                and not widget.get("is_initial")
                and self._are_stock(_FILE, _INPUT)
            ):
                # With no file yet the template writes the input alone, without a value.
                return self._input({**widget, "value": None})
            elif template_name in _MULTIPLES and self._are_stock(
                template_name, _MULTIPLE, _MULTIPLES[template_name], _INPUT_OPTION, _INPUT
            ):
                html = self._multiple(widget, _MULTIPLES[template_name])
                if html is not None:
                    return html
        return super().render(template_name, context, request)

    @staticmethod
    def _input(widget) -> str:
        value = widget["value"]
        value = "" if value is None else f' value="{_escape(str(value))}"'
        # Every value is escaped by _escape (conditional_escape).
        return mark_safe(  # noqa: S308
            f'<input type="{_escape(widget["type"])}" name="{_escape(widget["name"])}"{value}'
            f"{_attrs(widget['attrs'])}>"
        )

    def _multiple(self, widget, option_template: str) -> str | None:
        """multiple_input.html with its options (input_option.html): the newlines and spaces
        are the templates' own, each include's last newline included."""
        id_, css = widget["attrs"].get("id"), widget["attrs"].get("class")
        parts = [
            "<div",
            format_html(' id="{}"', localize(id_)) if id_ else "",
            format_html(' class="{}"', localize(css)) if css else "",
            ">",
        ]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                return None  # option groups: the templates
            for option in options:
                if option["template_name"] != option_template:
                    return None
                option_id = option["attrs"].get("id")
                label_open = label_close = ""
                if option["wrap_label"]:
                    label_open = (
                        format_html('<label for="{}">', localize(option_id))
                        if option_id
                        else "<label>"
                    )
                    label_close = format_html(" {}</label>", localize(option["label"]))
                parts.append(
                    "<div>\n    "
                    + label_open
                    + self._input(option)
                    + "\n"  # input.html's last newline
                    + label_close
                    + "\n\n"  # input_option.html's, then the option template's
                    + "</div>"
                )
        parts.append("\n</div>")
        return mark_safe("".join(parts))  # noqa: S308 (format_html's pieces and literals)

    def _select(self, widget) -> str | None:
        options = []
        for group_name, group, _index in widget["optgroups"]:
            if group_name:
                return None  # optgroups: the templates
            for option in group:
                if option["template_name"] != _OPTION or not self._is_stock(_OPTION):
                    return None
                options.append((str(option["value"]), option["attrs"], option["label"]))
        return self._select_html(widget["name"], widget["attrs"], options)

    @staticmethod
    def _select_html(name, attrs: dict, options) -> str:
        """select.html with its options (value, attributes, label) in select_option.html, whose
        last newline is part of each option."""
        parts = [f'<select name="{_escape(name)}"{_attrs(attrs)}>']
        for value, option_attrs, label in options:
            parts.append(_option_html(value, option_attrs, label))
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every value escaped by _escape)

    @functools.cached_property
    def _kept_options(self) -> dict:
        return {}

    def select_from_choices(
        self, name, values: list[str], attrs: dict, choices, key=None
    ) -> str | None:
        """A plain select (FastSelect) written from its choices, skipping the option dicts of
        ChoiceWidget.optgroups and create_option: the first option whose value is one of
        `values` is selected, as there. None when the templates must write it (an app's
        template, option groups). With a `key` (what the choices are: a form's field, the
        language, the rows' version), the options are written once per key and reused, and
        `choices` is not read again."""
        if not self._are_stock(_SELECT, _OPTION):
            return None
        options = self._kept_options.get(key) if key is not None else None
        if options is None:
            options = _Options.written(choices)
            if options is None:
                return None  # option groups: the templates
            if key is not None:
                if len(self._kept_options) >= _KEPT_OPTIONS:
                    self._kept_options.clear()  # old versions of the rows
                self._kept_options[key] = options
        # Every value is escaped by _escape, the options by _Options.
        return mark_safe(  # noqa: S308
            f'<select name="{_escape(name)}"{_attrs(attrs)}>{options.html(values)}\n</select>'
        )


_KEPT_OPTIONS = 200  # selects times languages times versions of their rows


def _option_html(value: str, attrs: dict, label) -> str:
    return (
        f'\n  <option value="{_escape(value)}"{_attrs(attrs)}>{_escape(localize(label))}</option>\n'
    )


class _Options:
    """A select's options as markup: all of them unselected, and where each begins and ends
    in it with its selected markup, so that selecting one is two slices."""

    __slots__ = ("first", "selected", "text")

    def __init__(self, text: str, first: dict, selected: list):
        self.text, self.first, self.selected = text, first, selected

    @classmethod
    def written(cls, choices) -> "_Options | None":
        parts, first, selected, length = [], {}, [], 0
        for value, label in choices:
            if isinstance(label, list | tuple):
                return None  # option groups
            value = "" if value is None else str(value)
            html = _option_html(value, _NOT_SELECTED, label)
            if value not in first:
                first[value] = len(selected)
            selected.append((length, length + len(html), _option_html(value, _SELECTED, label)))
            parts.append(html)
            length += len(html)
        return cls("".join(parts), first, selected)

    def html(self, values: list[str]) -> str:
        """The options with the first one whose value is one of `values` selected."""
        found = [self.first[value] for value in values if value in self.first]
        if not found:
            return self.text
        start, end, html = self.selected[min(found)]
        return self.text[:start] + html + self.text[end:]


_SELECTED, _NOT_SELECTED = {"selected": True}, {}


class FastSelect(forms.Select):
    """A select that the fast renderer writes straight from its choices (with another renderer,
    or subclassed, Django's own rendering). Search forms hold a dozen selects, one of a hundred
    options; building an option dict per option was most of their remaining time.

    With an `options_key` (core.filtering.LeanFilterSet sets one on the selects of a form class
    whose choices are the same for every form: the class and the field), the options are
    written once per language, and for a select of reference rows (core.reference_versions)
    once per version of the rows, which are then not read at all."""

    options_key = None

    def render(self, name, value, attrs=None, renderer=None):
        if type(self) is FastSelect and isinstance(renderer, FastWidgetRenderer):
            html_ = renderer.select_from_choices(
                name,
                self.format_value(value),
                self.build_attrs(self.attrs, attrs),
                self.choices,
                self._kept_key(),
            )
            if html_ is not None:
                return html_
        return super().render(name, value, attrs, renderer)

    def _kept_key(self) -> tuple | None:
        if self.options_key is None:
            return None
        if isinstance(self.choices, ModelChoiceIterator):
            model = self.choices.queryset.model
            if not reference_versions.is_watched(model):
                return None  # rows whose changes nothing announces: read every time
            return (self.options_key, get_language(), reference_versions.version(model))
        return (self.options_key, get_language())


def use_fast_selects(fields) -> None:
    """Make the plain selects of `fields` (a form class's fields) FastSelects: the same widget
    with the same attributes and choices, written by the fast renderer."""
    for field in fields.values():
        if type(field.widget) is forms.Select:
            field.widget.__class__ = FastSelect


# One instance for the forms that use it (its template engine is built once): the search and
# red-flag filters, and the bid page's forms (offer, document, consortium consent), whose
# inputs were most of the bid page's rendering time.
FAST_RENDERER = FastWidgetRenderer()
