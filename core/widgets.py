"""Form widgets shared by every search form."""

from django import forms
from django.utils.translation import gettext_lazy as _

# What a filter's empty choice means: no condition (settings.FILTERS_EMPTY_CHOICE_LABEL).
ANY = _("Any")


class AnyYesNoSelect(forms.NullBooleanSelect):
    """A yes/no filter whose empty choice reads "Any", not Django's "Unknown": leaving it
    empty does not filter. Values stay "true" and "false" in URLs, as before."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", ANY), ("true", _("Yes")), ("false", _("No"))]

    def format_value(self, value):
        # A list, as Select expects (NullBooleanSelect's string would match "" inside "false").
        return [{True: "true", False: "false", "true": "true", "false": "false"}.get(value, "")]
