"""Published processes for the search tests: each a called Licitación Pública made of its own
plan's items, with the description, items, entity and call date asked for."""

from contextlib import nullcontext
from decimal import Decimal as D

from core import clock
from tests.factories import process_from_plan, publish_with_lp_calendar, published_plan


def published(
    description,
    items=("Bien",),
    *,
    entity=None,
    value=D("450000"),
    call=None,
    catalog="43211503",
    **plan_item,
):
    """A called LP process with the given description and item descriptions (each item worth
    `value`, under catalog code `catalog`), called on `call` (default: the next working day)."""
    version, staff = published_plan(
        entity=entity,
        items=[
            {"description": text, "estimated_value": value, "catalog_item": catalog} | plan_item
            for text in items
        ],
    )
    with clock.pinned(call) if call else nullcontext():
        process = process_from_plan(staff, version, description=description)
        return publish_with_lp_calendar(staff, process, call=call)
