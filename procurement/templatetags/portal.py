"""Template filters of the procurement pages: the money, amount, percent, number, quantity,
day and moment filters of core's `formatting` library (one definition, core.formatting),
plus a dictionary lookup and the process table's rows."""

import re
import unicodedata
from datetime import datetime

from django import template
from django.urls import reverse
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.html import conditional_escape as escaped
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import template_localtime
from django.utils.translation import gettext

from core import formatting
from core.converters import IdentifierConverter
from core.templatetags.formatting import register as formatting_library
from procurement.models import ProcurementProcess

register = template.Library()
register.filters.update(formatting_library.filters)


@register.filter
def get_item(mapping, key):
    return mapping.get(key)


# --- the rows of the process table (procurement/includes/process_table.html) -----------------

_ROW = (
    '\n    <tr>\n      <td><a href="{}">{}</a>{}</td>\n      <td>{}</td>\n      <td>{}</td>'
    '\n      <td class="num">{}</td>\n      <td>{}</td>\n      <td>{}</td>\n    </tr>\n  '
)
_IDENTIFIER = re.compile(IdentifierConverter.regex)
_DESCRIPTION_CHARS = 90


@register.simple_tag
def process_rows(processes) -> str:
    """The table's rows, written here instead of by a {% for %} of {% url %}, truncatechars,
    amount, get_status_display and date per cell: those were the search page's largest
    template cost (25 rows). The markup is the loop's own, byte for byte, every value escaped
    as the template escaped it (tests/procurement/test_process_table_render.py)."""
    if not processes:
        return ""
    badge = f' <span class="badge ok">{escaped(gettext("SMEs only"))}</span>'
    statuses = dict(ProcurementProcess._meta.get_field("status").flatchoices)
    # Every identifier the converter accepts is written as it is (no character of its regex
    # is quoted), so one reversed path serves every row.
    placeholder = "0"
    prefix, suffix = reverse("procurement:process_detail", args=[placeholder]).rsplit(
        placeholder, 1
    )
    amount = formatting.amounts()
    day_format, days = get_format("SHORT_DATE_FORMAT"), {}
    rows = []
    for process in processes:
        identifier = process.identifier
        if _IDENTIFIER.fullmatch(identifier):
            url = f"{prefix}{identifier}{suffix}"
        else:
            url = reverse("procurement:process_detail", args=[identifier])
        called = getattr(process, "call_date", None)  # annotated by queries.public_processes()
        if isinstance(called, datetime):
            called = template_localtime(called)  # as the date filter's value is
        if called not in days:  # the date filter's: date_format, "" when there is none
            days[called] = "" if called in (None, "") else dateformat.format(called, day_format)
        rows.append(
            _ROW.format(
                escaped(url),
                escaped(identifier),
                badge if process.sme_only else "",
                escaped(process.entity.acronym),
                escaped(_truncated(process.description)),
                escaped(amount(process.estimated_value)),
                escaped(statuses.get(process.status, process.status)),
                escaped(days[called]),
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 (every value escaped)


def _truncated(text: str) -> str:
    """truncatechars:90 (a text no longer than that stays as it is, NFC-normalised as
    Truncator does)."""
    text = unicodedata.normalize("NFC", text)
    if len(text) <= _DESCRIPTION_CHARS:
        return text
    return Truncator(text).chars(_DESCRIPTION_CHARS)
