"""Discarding a draft asks for confirmation on its own page first (no JavaScript needed)."""

import pytest

from procurement.models import PlanVersion, ProcurementPlan
from tests.factories import draft_plan

pytestmark = pytest.mark.django_db


def test_discard_asks_first_and_deletes_only_when_confirmed(client):
    version, staff = draft_plan(items=[{}, {}])
    client.force_login(staff)
    url = f"/gestion/planes/{version.pk}/descartar/"
    page = client.get(f"/gestion/planes/{version.pk}/").content.decode()
    assert f'href="{url}"' in page
    confirm = client.get(url)
    assert confirm.status_code == 200 and 'name="confirm"' in confirm.content.decode()
    assert client.post(url).status_code == 400  # an unconfirmed post deletes nothing
    assert PlanVersion.objects.filter(pk=version.pk).exists()
    assert client.post(url, {"confirm": "True"}).status_code == 302
    assert not PlanVersion.objects.filter(pk=version.pk).exists()
    assert not ProcurementPlan.objects.exists()
