"""The SME summary follows the admin's edits of what it reads: a catalog code made (or no
longer) SME-suppliable, in the catalog's list, rewrites the summed figures once the edit
commits. An entity's department, sector or level is read through the entity when the
figures are grouped, so an edit of it shows at once."""

from datetime import date
from decimal import Decimal

import pytest

from core.models import CatalogItem
from procurement import sme
from procurement.models import Contract, Entity
from tests.factories import EntityFactory, SupplierFactory, admin_user
from tests.procurement.sme_world import contract, process

pytestmark = pytest.mark.django_db

CODE = "43211503"
YEAR = 2026


def live(entity) -> sme.ActualShare:
    contracts = Contract.objects.filter(entity=entity, signed_on__year=YEAR)
    return sme.actual_share(sme.share_contracts(contracts), sme.minimum_for(YEAR))


def _flag_in_the_list(client, item: CatalogItem, suppliable: bool):
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-code": item.code,  # the primary key
        "_save": "Save",
    }
    if suppliable:
        data["form-0-sme_suppliable"] = "on"
    return client.post(f"/admin/core/catalogitem/?q={item.code}", data)


def test_a_flag_changed_in_the_catalog_list_is_in_the_summary_after_the_request(
    client, django_capture_on_commit_callbacks
):
    entity = EntityFactory()
    proc = process(entity, items=[(CODE, 1000, True)])
    contract(proc, SupplierFactory(), 1000, signed_on=date(YEAR, 3, 10))
    assert sme.entity_share(entity, YEAR).eligible_value == Decimal("1000")
    item = CatalogItem.objects.get(code=CODE)
    client.force_login(admin_user())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _flag_in_the_list(client, item, suppliable=False)
    assert response.status_code == 302, response.content.decode()[:2000]
    item.refresh_from_db()
    assert item.sme_suppliable is False
    assert len(callbacks) == 1
    summed = sme.entity_share(entity, YEAR)
    assert summed.eligible_value == live(entity).eligible_value == 0
    assert summed.share is None

    with django_capture_on_commit_callbacks(execute=True):
        _flag_in_the_list(client, item, suppliable=True)
    assert sme.entity_share(entity, YEAR).sme_value == live(entity).sme_value == 1000


def test_a_list_save_that_leaves_the_flag_as_it_was_refreshes_nothing(
    client, django_capture_on_commit_callbacks
):
    item = CatalogItem.objects.get(code="44121701")
    assert item.sme_suppliable
    client.force_login(admin_user())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _flag_in_the_list(client, item, suppliable=True)
    assert response.status_code == 302
    assert callbacks == []


def test_an_entity_moved_to_another_sector_is_grouped_there_without_a_refresh():
    entity = EntityFactory(sector_id="salud")
    proc = process(entity, items=[(CODE, 1000, True)])
    contract(proc, SupplierFactory(), 1000, signed_on=date(YEAR, 3, 10))

    def sectors():
        rows = sme.summary_shares_by(YEAR, Entity.objects.all(), "entity__sector")
        return {key["entity__sector"]: share.sme_value for key, share in rows}

    assert sectors() == {"salud": 1000}
    Entity.objects.filter(pk=entity.pk).update(sector_id="educacion")
    assert sectors() == {"educacion": 1000}
