"""`{% same_for a b ... %}…{% endsame_for %}`: a fragment of markup that depends on nothing
but the truth of the values named (user roles: "has entity staff memberships", "is
authenticated"), the active language and the URL configuration, written once per process for
each combination and then reused. For the navigation and footer of base.html, whose links
(each a URL reversal and a translation) are the same on every page a user of the same roles
sees: the base template was about a third of the bid page's template time.

Only what is named may vary: a fragment must hold no per-request value (no CSRF token, no
e-mail, no path, no object), which stays outside it. The values are reduced to True/False,
so at most 2^n fragments per language are kept; the URL configuration and the translations
do not change while a process runs (a deployment starts new processes)."""

from django import template
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()

_written: dict[tuple, str] = {}


class SameForNode(template.Node):
    def __init__(self, nodelist, name: str, values):
        self.nodelist, self.name, self.values = nodelist, name, values

    def render(self, context):
        key = (
            self.name,
            get_language(),
            get_script_prefix(),
            get_urlconf(),
            *(bool(value.resolve(context)) for value in self.values),
        )
        text = _written.get(key)
        if text is None:
            text = _written[key] = self.nodelist.render(context)
        return mark_safe(text)  # noqa: S308 - the template's own rendering, escaped as written


@register.tag
def same_for(parser, token):
    """`{% same_for "name" value ... %}`: "name" tells fragments apart (each its own), the
    values are the only context the fragment depends on, by their truth."""
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError("same_for takes a quoted name first, then values")
    nodelist = parser.parse(("endsame_for",))
    parser.delete_first_token()
    return SameForNode(nodelist, bits[1][1:-1], [parser.compile_filter(bit) for bit in bits[2:]])


def forget() -> None:
    """Forget every written fragment (tests that change URLs or translations)."""
    _written.clear()
