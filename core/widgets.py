"""Form widgets shared by every search form."""

import functools
from pathlib import Path

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

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
# Django's input widgets whose template is only {% include "django/forms/widgets/input.html" %}.
_INPUTS = frozenset(
    f"django/forms/widgets/{kind}.html"
    for kind in ("input", "text", "date", "number", "search", "email", "url", "tel")
)


def _attrs(attrs: dict) -> str:
    """What django/forms/widgets/attrs.html writes: in order, False left out, True bare."""
    return "".join(
        ""
        if value is False
        else format_html(" {}", name)
        if value is True
        else format_html(' {}="{}"', name, str(value))
        for name, value in attrs.items()
    )


class FastWidgetRenderer(DjangoTemplates):
    """Django's form renderer, except that a select and the plain inputs are written in Python
    (format_html: the same escaping) instead of through select.html, one select_option.html
    and attrs.html per option: a search form's selects hold a hundred options, and their
    templates were half of the search page's Python time (bench/search.py). The markup is
    the templates' own, byte for byte (tests/procurement/test_search_form_render.py); a
    template overridden by an app, an optgroup or an option with attributes of its own
    (radio-like widgets) goes through the templates as before."""

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

    def render(self, template_name, context, request=None):
        widget = context.get("widget")
        if widget is not None:
            if template_name == _SELECT and self._is_stock(_SELECT):
                html = self._select(widget)
                if html is not None:
                    return html
            elif (
                template_name in _INPUTS
                and self._is_stock(template_name)
                and self._is_stock("django/forms/widgets/input.html")
            ):
                return self._input(widget)
        return super().render(template_name, context, request)

    @staticmethod
    def _input(widget) -> str:
        value = widget["value"]
        # Every piece is format_html's (escaped) or a literal.
        return mark_safe(  # noqa: S308
            format_html('<input type="{}" name="{}"', widget["type"], widget["name"])
            + ("" if value is None else format_html(' value="{}"', str(value)))
            + _attrs(widget["attrs"])
            + ">"
        )

    def _select(self, widget) -> str | None:
        parts = [format_html('<select name="{}"', widget["name"]), _attrs(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                return None  # optgroups: the templates
            for option in options:
                if option["template_name"] != _OPTION or not self._is_stock(_OPTION):
                    return None
                parts.append(
                    format_html('\n  <option value="{}"', str(option["value"]))
                    + _attrs(option["attrs"])
                    # select_option.html's last newline is part of each option
                    + format_html(">{}</option>\n", localize(option["label"]))
                )
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 (format_html's pieces and literals)


# One instance for the forms that use it (its template engine is built once): the search and
# red-flag filters, and the bid's offer form, whose price and consortium inputs were most of
# the bid page's rendering time.
FAST_RENDERER = FastWidgetRenderer()
