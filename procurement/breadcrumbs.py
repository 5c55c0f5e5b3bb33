"""The trails of the procurement pages (core.breadcrumbs): Home › Entities › department ›
entity › process › contract, one function per level, each building on the one above."""

from django.urls import reverse
from django.utils.translation import gettext as _

from core.breadcrumbs import Crumb, department_crumb, trail


def entity_crumbs(entity) -> list[Crumb]:
    """Entities › the entity's department (its entities) › the entity. The entity must come
    with its place (entities_with_location, or select_related of ubigeo's department)."""
    return [
        Crumb(_("Entities"), reverse("procurement:entity_list")),
        department_crumb("procurement:entity_list", entity.ubigeo.province.department),
        Crumb(entity.name, reverse("procurement:entity_detail", args=[entity.ruc])),
    ]


def process_crumbs(process) -> list[Crumb]:
    return [
        *entity_crumbs(process.entity),
        Crumb(
            process.identifier,
            reverse("procurement:process_detail", args=[process.identifier]),
        ),
    ]


def for_entity(entity, here: str | None = None) -> list[Crumb]:
    """The entity's page (here=None) or a page of the entity's (its SME share, a plan)."""
    crumbs = entity_crumbs(entity)
    if here is None:
        return trail(*crumbs[:-1], here=entity.name)
    return trail(*crumbs, here=here)


def for_process(process, here: str | None = None) -> list[Crumb]:
    """The process page (here=None) or a page of the process's (its evaluation)."""
    crumbs = process_crumbs(process)
    if here is None:
        return trail(*crumbs[:-1], here=process.identifier)
    return trail(*crumbs, here=here)


def plan_crumb(plan) -> Crumb:
    return Crumb(
        _("Annual procurement plan %(year)s") % {"year": plan.fiscal_year_id},
        reverse("procurement:plan_detail", args=[plan.entity.ruc, plan.fiscal_year_id]),
    )


def for_plan(plan, here: str | None = None) -> list[Crumb]:
    """The plan's page (here=None) or a page of the plan's (its changes)."""
    if here is None:
        return trail(*entity_crumbs(plan.entity), here=plan_crumb(plan).label)
    return trail(*entity_crumbs(plan.entity), plan_crumb(plan), here=here)


def for_prices(catalog_item) -> list[Crumb]:
    return trail(
        Crumb(_("Purchase statistics"), reverse("procurement:statistics")),
        here=_("Prices of %(code)s") % {"code": catalog_item.code},
    )


def for_contract(contract) -> list[Crumb]:
    return trail(
        *process_crumbs(contract.process),
        here=_("Contract %(number)s") % {"number": contract.number},
    )
