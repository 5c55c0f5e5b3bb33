"""Escaping for the markup written in Python on the busiest pages (the search form's widgets,
the process table's rows)."""

import html

from django.utils.functional import Promise


def escaped(value) -> str:
    """django.utils.html.conditional_escape's text (a value with __html__ as it says, any
    other escaped), without its lazy-aware wrapper and SafeString: a few hundred values per
    search page. The result goes into markup marked safe as a whole."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
