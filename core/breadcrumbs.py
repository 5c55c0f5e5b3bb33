"""Breadcrumbs: where a page sits on the drill-down path (department -> entity -> process ->
contract; suppliers -> department -> supplier), as links from the home page to the page
itself. Each app builds its pages' trails from these pieces (procurement.breadcrumbs); the
base template shows them (templates/includes/breadcrumbs.html)."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str | None = None  # None for the page itself (the last crumb)


def trail(*crumbs: Crumb, here: str | None = None) -> list[Crumb]:
    """The home page, the given crumbs and, when `here` is given, the page itself."""
    path = [Crumb(_("Home"), reverse("home")), *crumbs]
    if here is not None:
        path.append(Crumb(here))
    return path


def filtered(url_name: str, **params) -> str:
    """A list page's URL with its filter parameters (the department's entities, say)."""
    return f"{reverse(url_name)}?{urlencode(params)}"


def department_crumb(url_name: str, department) -> Crumb:
    """A department as a crumb: the list `url_name` filtered by it."""
    return Crumb(department.name, filtered(url_name, department=department.pk))
