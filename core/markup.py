"""Markup written in Python on the busiest pages (the search form's widgets, the process
table's rows) instead of template nodes: values escaped exactly as format_html and the
template's {{ }} escape them."""

import html

from django.utils.functional import Promise


def escaped(value) -> str:
    """conditional_escape without its wrappers: a lazy text is read, a value that knows its
    own markup (__html__, a SafeString) is kept as it is, anything else is str()-ed and
    escaped (&, <, >, " and ')."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
