"""The contracts part of a supplier's public record, as an inclusion tag: the suppliers app
shows it without importing procurement (which sits above it)."""

from django import template

from ..services.contracts import supplier_record

register = template.Library()


@register.inclusion_tag("procurement/includes/supplier_contracts.html")
def supplier_contracts(supplier):
    """Contracts won (void ones left out of the totals), their amounts and the averages of
    the after-sales evaluations."""
    return supplier_record(supplier)
