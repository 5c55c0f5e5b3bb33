"""Template filters: amounts, percentages and dates as the active language writes them (the
formats themselves live in core.formatting, shared with messages and e-mails)."""

from django import template

from core import formatting

register = template.Library()


@register.filter
def percent(value, decimals=1):
    """0.4213 -> '42,1 %'."""
    return formatting.percent(value, int(decimals))


@register.filter
def money(value):
    """250000 -> 'S/ 250 000,00' (Spanish) or 'S/ 250,000.00' (English)."""
    return formatting.money(value)


@register.filter
def amount(value):
    """250000 -> '250 000,00': for cells under a header that already says S/."""
    return formatting.amount(value)


@register.filter
def day(value):
    """A date in the language's short format: 26/11/2026 in Spanish."""
    return formatting.day(value)


@register.filter
def get_item(mapping, key):
    return mapping.get(key)
