"""Finding a place (UBIGEO district) from the name a person typed: one resolver for every
form that asks for a district by name (supplier registration, delivery place of a plan item)."""

from django import forms
from django.utils.translation import gettext as _

from .models import Department, District
from .text import plain


def resolve_district(department: Department, text: str) -> District:
    """The district of `department` named `text` (accents and case ignored); a name shared by
    two provinces is told apart as 'Name (Province)'."""
    wanted = plain(text)
    candidates = list(
        District.objects.filter(province__department=department).select_related("province")
    )
    matches = [d for d in candidates if plain(d.name) == wanted]
    if not matches:
        matches = [d for d in candidates if plain(f"{d.name} ({d.province.name})") == wanted]
    if len(matches) == 1:
        return matches[0]
    if matches:
        options = ", ".join(f"{d.name} ({d.province.name})" for d in matches)
        raise forms.ValidationError(
            _("Several districts have that name; write one of: %(options)s.") % {"options": options}
        )
    similar = [d for d in candidates if wanted and wanted in plain(d.name)][:8]
    if similar:
        options = ", ".join(d.name for d in similar)
        raise forms.ValidationError(
            _("No district of %(department)s has that exact name. Did you mean: %(options)s?")
            % {"department": department.name, "options": options}
        )
    raise forms.ValidationError(
        _("No district of %(department)s has that name.") % {"department": department.name}
    )
