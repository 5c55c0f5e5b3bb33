"""`manage.py import_ocds` refreshes the SME summary once per entity and year it moved, at the
end of the import, however many releases of that entity's processes it loaded; the summary
then equals the live figures."""

import json

import pytest

from procurement import sme
from procurement.models import Contract, Entity, ProcurementProcess
from procurement.ocds import importer
from tests.procurement.test_import_ocds import oece_package, run
from tests.procurement.test_sme_summary import assert_same

pytestmark = pytest.mark.django_db


@pytest.fixture
def refreshes(monkeypatch):
    """The refreshes of the summary, by (entity id, year), each still run for real."""
    calls = []
    real = sme.refresh_summary

    def counting(*, entity_id=None, year=None):
        calls.append((entity_id, year))
        return real(entity_id=entity_id, year=year)

    monkeypatch.setattr(sme, "refresh_summary", counting)
    return calls


def test_an_import_refreshes_each_entity_year_once_and_the_summary_is_the_live_one(
    tmp_path, refreshes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # as committed transactions do
        out, err = run(tmp_path, oece_package())
    assert err == "" and "3 releases loaded, 0 already imported, 0 refused." in out
    entity = Entity.objects.get()
    process = ProcurementProcess.objects.get()
    year = Contract.objects.get().signed_on.year
    assert process.fiscal_year_id == year == 2024
    assert refreshes == [(entity.pk, 2024)]
    live = sme.actual_share(
        sme.share_contracts(Contract.objects.filter(entity=entity, signed_on__year=year)),
        sme.minimum_for(year),
    )
    assert live.contracts + live.unknown_contracts == 1
    assert_same(sme.entity_share(entity, year), live)
    assert sme.summary_lead_time(year).processes == 1


def test_importing_the_same_file_again_refreshes_nothing(tmp_path, refreshes):
    run(tmp_path, oece_package())
    refreshes.clear()
    out, _err = run(tmp_path, oece_package())
    assert "0 releases loaded, 3 already imported, 0 refused." in out
    assert refreshes == []


def test_load_release_alone_still_refreshes_its_process_on_commit(
    django_capture_on_commit_callbacks, refreshes
):
    tender = importer.read_package(json.dumps(oece_package()))[0]
    with django_capture_on_commit_callbacks(execute=True):
        outcome = importer.load_release(tender)
    entity = Entity.objects.get()
    assert outcome.summary_years == {(entity.pk, 2024)}
    assert refreshes == [(entity.pk, 2024)]
