"""Plan versions: modifications, the public history and the diff between versions."""

from decimal import Decimal

import pytest
from django.utils import timezone

from procurement.models import PlanItem
from procurement.queries import version_diff
from procurement.services import plans
from tests.domain import raises_domain
from tests.factories import draft_plan, plan_item_data

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def published():
    version, staff = draft_plan(
        items=[
            {"description": "Papel bond", "estimated_value": D("5000"), "sme_reserved": True},
            {"description": "Tóner", "estimated_value": D("3000"), "sme_reserved": True},
            {"description": "Sillas", "estimated_value": D("2000")},
        ]
    )
    plans.publish_version(staff, version, approval_date=timezone.localdate())
    version.refresh_from_db()
    return version, staff


def _modify(published):
    version, staff = published
    draft = plans.start_modification(staff, version.plan)
    items = {i.description: i for i in draft.items.all()}
    plans.delete_item(staff, items["Sillas"])
    plans.update_item(
        staff,
        items["Tóner"],
        plan_item_data(description="Tóner", estimated_value=D("3500"), sme_reserved=True),
    )
    plans.add_item(
        staff, draft, plan_item_data(description="Escritorios", estimated_value=D("4000"))
    )
    return draft, staff


def test_modification_copies_the_version_in_force_and_needs_a_reason(published):
    draft, staff = _modify(published)
    assert draft.number == 1 and draft.items.count() == 3
    with raises_domain("reason_required", field="reason") as error:
        plans.publish_version(staff, draft, approval_date=timezone.localdate())
    assert error.value.field == "reason"
    plans.publish_version(
        staff, draft, approval_date=timezone.localdate(), reason="Nuevas necesidades"
    )
    # The original version is untouched.
    original = published[0]
    assert sorted(original.items.values_list("description", flat=True)) == [
        "Papel bond",
        "Sillas",
        "Tóner",
    ]


def test_published_versions_cannot_change(published):
    version, staff = published
    item = version.items.first()
    with raises_domain("version_published"):
        plans.update_item(staff, item, plan_item_data(estimated_value=D("1")))
    with raises_domain("version_published"):
        plans.delete_item(staff, item)
    with raises_domain("version_published"):
        plans.add_item(staff, version, plan_item_data())
    assert PlanItem.objects.get(pk=item.pk).estimated_value == item.estimated_value


def test_only_one_draft_at_a_time(published):
    _modify(published)
    with raises_domain("draft_exists"):
        plans.start_modification(published[1], published[0].plan)


def test_diff_lists_added_removed_and_changed_with_old_and_new_values(published):
    draft, staff = _modify(published)
    plans.publish_version(staff, draft, approval_date=timezone.localdate(), reason="Ajuste")
    diff = version_diff(published[0], draft)
    assert [i.description for i in diff.added] == ["Escritorios"]
    assert [i.description for i in diff.removed] == ["Sillas"]
    assert len(diff.changed) == 1
    change = diff.changed[0]
    assert change.new.description == "Tóner"
    assert [(f[0], f[2], f[3]) for f in change.fields] == [
        ("estimated_value", "3\xa0000,00", "3\xa0500,00")
    ]


def test_public_pages_show_every_version_and_the_changes(client, published):
    draft, staff = _modify(published)
    plans.publish_version(
        staff, draft, approval_date=timezone.localdate(), reason="Ajuste de necesidades"
    )
    entity = draft.plan.entity
    base = f"/planes/{entity.ruc}/2026/"
    html = client.get(base).content.decode()
    assert "Escritorios" in html and "Sillas" not in html and "Ajuste de necesidades" in html
    html = client.get(base, {"version": 0}).content.decode()
    assert "Sillas" in html and "Escritorios" not in html
    assert client.get(base, {"version": 7}).status_code == 404
    assert client.get(base, {"version": "x"}).status_code == 200
    html = client.get(base + "cambios/", {"desde": 0, "hasta": 1}).content.decode()
    assert "Escritorios" in html and "Sillas" in html
    assert "3\xa0000,00" in html and "3\xa0500,00" in html


def test_drafts_are_not_public(client):
    version, _staff = draft_plan(items=[{}])
    entity = version.plan.entity
    assert client.get(f"/planes/{entity.ruc}/2026/").status_code == 404
    assert entity.name not in client.get("/planes/").content.decode()


def test_plan_items_filter_and_csv_export(client, published):
    version, staff = published
    entity = version.plan.entity
    base = f"/planes/{entity.ruc}/2026/"
    html = client.get(base, {"reserved": "true"}).content.decode()
    assert "Papel bond" in html and "Sillas" not in html
    html = client.get(base, {"min_value": "2500", "max_value": "4000"}).content.decode()
    assert "Tóner" in html and "Papel bond" not in html
    html = client.get(base, {"catalog": "44120000"}).content.decode()
    assert "Papel bond" in html
    html = client.get(base, {"catalog": "43000000"}).content.decode()
    assert "Papel bond" not in html
    response = client.get(base, {"format": "csv", "reserved": "true"})
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("item,objeto,codigo_catalogo")
    assert len(lines) == 3
    response = client.get("/planes/", {"format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert entity.ruc in body and "cumple_40" in body


@pytest.mark.parametrize("value", ["maybe", "yes", "1", " true", "TRUE "])
def test_an_unknown_yes_no_value_on_the_plan_pages_is_refused_not_read_as_any(
    client, published, value
):
    """compliant (the plans list and its API) and reserved (a plan's items) are
    core.filtering.YesNoFilter, as the process search's sme_only: a value the select does
    not know is a 400 with its message, on the page, the CSV and the API, never "any"."""
    version, _staff = published
    items = f"/planes/{version.plan.entity.ruc}/2026/"
    for url, name in [("/planes/", "compliant"), (items, "reserved")]:
        response = client.get(url, {name: value})
        assert response.status_code == 400, (url, value)
        assert response.context["filter"].errors == {name: ["Elija sí, no o todos."]}
        assert "Elija sí, no o todos." in response.content.decode()
        exported = client.get(url, {name: value, "format": "csv"})
        assert exported.status_code == 400
        assert exported.content.decode().startswith(f"{name}: ")
    assert client.get("/api/v1/plans/", {"compliant": value}).status_code == 400


def test_yes_no_and_any_still_filter_the_plan_pages(client, published):
    version, _staff = published
    items = f"/planes/{version.plan.entity.ruc}/2026/"
    found = {
        value: client.get(items, {"reserved": value}) for value in ("true", "false", "", "True")
    }
    assert {value: r.status_code for value, r in found.items()} == dict.fromkeys(found, 200)
    assert [i.description for i in found["true"].context["page"]] == ["Papel bond", "Tóner"]
    assert [i.description for i in found["false"].context["page"]] == ["Sillas"]
    assert len(found[""].context["page"]) == 3
    entity = version.plan.entity.name
    for value, listed in [("true", True), ("false", False), ("", True)]:
        response = client.get("/planes/", {"compliant": value})
        assert response.status_code == 200
        assert (entity in response.content.decode()) is listed, value
        api = client.get("/api/v1/plans/", {"compliant": value})
        assert api.status_code == 200
        assert len(api.json()["results"]) == int(listed), value


def test_a_reversed_value_range_on_a_plans_items_is_an_error_and_an_equal_one_is_fine(
    client, published
):
    version, _staff = published
    items = f"/planes/{version.plan.entity.ruc}/2026/"
    response = client.get(items, {"min_value": "5000", "max_value": "4999.99"})
    assert response.status_code == 400
    assert response.context["filter"].errors == {
        "max_value": ["El final del rango es anterior a su inicio."]
    }
    exported = client.get(items, {"min_value": "5000", "max_value": "4999", "format": "csv"})
    assert exported.status_code == 400
    equal = client.get(items, {"min_value": "5000", "max_value": "5000"})
    assert equal.status_code == 200
    assert [i.description for i in equal.context["page"]] == ["Papel bond"]
