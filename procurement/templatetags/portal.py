from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(value, decimals=1):
    """0.4213 -> '42,1 %' in the active locale's number format."""
    if value in (None, ""):
        return "—"
    return f"{number_format(Decimal(value) * 100, decimal_pos=int(decimals))} %"


@register.filter
def get_item(mapping, key):
    return mapping.get(key)
