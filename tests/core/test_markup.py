"""core.markup.escaped writes what format_html writes for each argument (conditional_escape)."""

import pytest
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core.markup import escaped


class Markup:
    def __html__(self):
        return "<em>own</em>"


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "<script>alert('x') & \"y\"</script>",
        mark_safe("<b>safe</b>"),
        gettext_lazy("Status"),
        12.5,
        None,
        Markup(),
    ],
)
def test_escaped_is_conditional_escape(value):
    assert escaped(value) == conditional_escape(value)
