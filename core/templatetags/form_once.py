from django import template

from core import idempotency

register = template.Library()


@register.simple_tag
def form_token() -> str:
    """`{% form_token %}` in a hand-written create form: its one-time token (core.idempotency)."""
    return idempotency.hidden_input()
