import pytest
from django.contrib import admin

from core.admin_audit import AuditedModelAdmin
from core.models import AuditEntry, FiscalYear
from notifications.models import Event, EventKind
from tests.factories import EntityFactory, SupplierFactory, UserFactory, admin_user

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


def test_every_admin_page_is_audited_or_read_only(rf):
    """Each registered model either audits its admin writes or cannot be written there."""
    request = rf.get("/admin/")
    request.user = admin_user()
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, AuditedModelAdmin):
            continue
        writes = [
            model_admin.has_add_permission(request),
            model_admin.has_change_permission(request),
            model_admin.has_delete_permission(request),
        ]
        assert not any(writes), f"{model._meta.label} is writable in the admin without audit"


def test_a_password_set_in_the_admin_is_audited(client):
    admin = admin_user()
    victim = UserFactory()
    client.force_login(admin)
    response = client.post(
        f"/admin/accounts/user/{victim.pk}/password/",
        {
            "password1": "A-new-password-2026!",
            "password2": "A-new-password-2026!",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    victim.refresh_from_db()
    assert victim.check_password("A-new-password-2026!")
    entry = AuditEntry.objects.get(action="admin.password_changed")
    assert entry.actor == admin
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(victim.pk))
    assert victim.password not in str(entry.data)


def test_a_refused_password_change_writes_no_entry(client):
    victim = UserFactory()
    client.force_login(admin_user())
    response = client.post(
        f"/admin/accounts/user/{victim.pk}/password/",
        {"password1": "A-new-password-2026!", "password2": "different", "usable_password": "true"},
    )
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(action="admin.password_changed").exists()


def test_a_bulk_delete_in_the_admin_is_audited(client):
    admin = admin_user()
    events = [
        Event.objects.create(kind=EventKind.PLAN_PUBLISHED, object_type="plan", object_id=str(n))
        for n in range(3)
    ]
    client.force_login(admin)
    response = client.post(
        "/admin/notifications/event/",
        {
            "action": "delete_selected",
            "_selected_action": [e.pk for e in events[:2]],
            "post": "yes",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(Event.objects.values_list("pk", flat=True)) == [events[2].pk]
    entries = AuditEntry.objects.filter(action="admin.deleted", object_type="notifications.event")
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(
        str(e.pk) for e in events[:2]
    )
    assert all(entry.actor == admin for entry in entries)
