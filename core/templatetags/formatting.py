"""Template filters over core.formatting, for the pages of every app: `{% load formatting %}`.
(procurement's `portal` library re-exports them.)"""

from datetime import datetime

from django import template

from core import formatting

register = template.Library()


@register.filter
def money(value):
    """250000 -> 'S/ 250 000,00' (Spanish) or 'S/ 250,000.00' (English)."""
    return formatting.money(value)


@register.filter
def amount(value):
    """250000 -> '250 000,00': for cells under a header that already says S/."""
    return formatting.amount(value)


@register.filter
def percent(value, decimals=1):
    """0.4213 -> '42,1 %'."""
    return formatting.percent(value, int(decimals))


@register.filter
def number(value):
    """11647 -> '11 647' (Spanish) or '11,647' (English): counts and sequence numbers."""
    return formatting.number(value)


@register.filter
def quantity(value):
    """12500 -> '12 500', 2.5 -> '2,5' (Spanish): quantities of goods and services."""
    return formatting.quantity(value)


@register.filter
def day(value):
    """A date in the language's short format: 26/11/2026 in Spanish."""
    return formatting.day(value)


@register.filter
def moment(value):
    """A date and time in the language's short format and the portal's time zone. Takes a
    datetime or an ISO 8601 string (signed statements carry them so)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return formatting.moment(value)
