"""Template filters of the procurement pages: the money, amount, percent, number, quantity,
day and moment filters of core's `formatting` library (one definition, core.formatting),
plus a dictionary lookup."""

from django import template

from core.templatetags.formatting import register as formatting

register = template.Library()
register.filters.update(formatting.filters)


@register.filter
def get_item(mapping, key):
    return mapping.get(key)
