import pytest
from django.contrib import admin

from core.models import AuditEntry, FiscalYear
from tests.factories import EntityFactory, SupplierFactory, admin_user

pytestmark = pytest.mark.django_db


def test_every_model_has_a_searchable_admin_page(client):
    EntityFactory()
    SupplierFactory()
    client.force_login(admin_user())
    for model, model_admin in admin.site._registry.items():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        if model_admin.search_fields:
            assert client.get(url, {"q": "lima"}).status_code == 200, url
    for app, name in [
        ("core", "catalogitem"),
        ("procurement", "entity"),
        ("suppliers", "supplier"),
    ]:
        assert (app, name) in {
            (m._meta.app_label, m._meta.model_name) for m in admin.site._registry
        }


def test_admin_edits_leave_an_audit_entry(client):
    admin = admin_user()
    client.force_login(admin)
    year = FiscalYear.objects.get(pk=2027)
    response = client.post(
        f"/admin/core/fiscalyear/{year.pk}/change/",
        {
            "year": 2027,
            "uit": "5700.00",
            "uit_source": "D.S. oficial",
            "sme_rule": "ley-30056",
            "sme_reserved_min_share": "0.400",
            "thresholds-TOTAL_FORMS": "0",
            "thresholds-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    year.refresh_from_db()
    assert year.uit == 5700 and year.sme_rule_id == "ley-30056" and not year.provisional
    entry = AuditEntry.objects.get(action="admin.changed", object_type="core.fiscalyear")
    assert entry.actor == admin
    assert {"uit", "sme_rule", "provisional"} <= set(entry.data["fields"])


def test_the_audit_trail_cannot_be_edited_in_the_admin(client):
    client.force_login(admin_user())
    assert client.get("/admin/core/auditentry/add/").status_code == 403
