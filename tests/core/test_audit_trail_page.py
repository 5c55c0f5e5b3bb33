"""The auditors' read-only audit trail page: who may see it, its filters and timelines, its
keyset pages and the chain verification state it reports."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from core import anchors, audit
from core.models import AuditVerification
from core.tasks import verify_audit_trail
from tests.core.test_accessibility import audit as accessibility_audit
from tests.factories import (
    EntityFactory,
    SupplierFactory,
    UserFactory,
    admin_user,
    auditor,
    staff_of,
    user_of,
)

pytestmark = pytest.mark.django_db
URL = "/auditoria/registro/"


@pytest.fixture
def trail():
    """Entries on two entities by two actors."""
    alice, bob = UserFactory(email="alice@example.pe"), UserFactory(email="bob@example.pe")
    first, second = EntityFactory(), EntityFactory()
    with transaction.atomic():
        entries = [
            audit.record(alice, "entity.updated", first, {"step": 1}),
            audit.record(bob, "entity.updated", second, {"step": 2}),
            audit.record(alice, "plan.published", first, {"step": 3}),
            audit.record(None, "entity.updated", second, {"step": 4}),
        ]
    return entries, first, second


def _sequences(response) -> list[int]:
    return [entry.sequence for entry in response.context["page"]]


def test_anonymous_visitors_are_sent_to_log_in(client, trail):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/cuentas/ingresar/")
    response = client.post(URL + "verificar/")
    assert response.status_code == 302 and not AuditVerification.objects.exists()


@pytest.mark.parametrize("who", ["staff", "supplier", "plain"])
def test_staff_and_supplier_users_are_refused(client, trail, who):
    user = {
        "staff": lambda: staff_of(EntityFactory()),
        "supplier": lambda: user_of(SupplierFactory()),
        "plain": UserFactory,
    }[who]()
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.post(URL + "verificar/").status_code == 403
    assert not AuditVerification.objects.exists()
    assert 'href="/auditoria/registro/"' not in client.get("/").content.decode()


def test_auditor_sees_entries_newest_first_and_a_nav_link(client, trail):
    entries, _first, _second = trail
    client.force_login(auditor())
    response = client.get(URL)
    assert response.status_code == 200
    assert _sequences(response) == [e.sequence for e in reversed(entries)]
    assert 'href="/auditoria/registro/"' in client.get("/").content.decode()
    accessibility_audit(client, URL)


def test_admins_read_it_too(client, trail):
    client.force_login(admin_user())
    assert client.get(URL).status_code == 200


def test_an_objects_timeline_is_the_page_filtered_by_type_and_id(client, trail):
    entries, first, _second = trail
    client.force_login(auditor())
    response = client.get(URL, {"object_type": "procurement.entity", "object_id": first.pk})
    assert response.status_code == 200 and response.context["timeline"]
    assert _sequences(response) == [entries[2].sequence, entries[0].sequence]
    # every entry links to its object's timeline
    link = f"?object_type=procurement.entity&amp;object_id={first.pk}"
    assert link in client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "plan.published"}, [2]),
        ({"actor": "BOB@example.pe"}, [1]),
        ({"since": "2000-01-01", "until": "2999-12-31"}, [3, 2, 1, 0]),
        ({"until": "2000-01-01"}, []),
    ],
)
def test_filters(client, trail, params, expected):
    entries, _first, _second = trail
    client.force_login(auditor())
    response = client.get(URL, params)
    assert response.status_code == 200
    assert _sequences(response) == [entries[i].sequence for i in expected]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "31/31/2026"}, "since"),
        ({"until": "99999-01-01"}, "until"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until"),
        ({"actor": "not an e-mail"}, "actor"),
        ({"action": "DROP TABLE"}, "action"),
        ({"object_type": "x" * 61}, "object_type"),
        ({"entity": "MINSA"}, "entity"),
    ],
)
def test_bad_filters_answer_400_with_the_form_errors(client, trail, params, field):
    client.force_login(auditor())
    response = client.get(URL, params)
    assert response.status_code == 400
    assert field in response.context["filter"].errors
    assert response.context["page"] is None


def test_keyset_pages_walk_older_and_back_newer(client, monkeypatch):
    monkeypatch.setattr("core.queries.PAGE_SIZE", 2)
    user, entity = UserFactory(), EntityFactory()
    with transaction.atomic():
        for n in range(5):
            audit.record(user, "entity.updated", entity, {"n": n})
    client.force_login(auditor())
    first = client.get(URL, {"action": "entity.updated"})
    assert _sequences(first) == [5, 4]
    page = first.context["page"]
    assert page.previous_cursor is None and page.next_cursor and page.count == 5
    second = client.get(URL, {"action": "entity.updated", "cursor": page.next_cursor})
    assert _sequences(second) == [3, 2]
    third = client.get(
        URL, {"action": "entity.updated", "cursor": second.context["page"].next_cursor}
    )
    assert _sequences(third) == [1] and third.context["page"].next_cursor is None
    back = client.get(
        URL, {"action": "entity.updated", "cursor": second.context["page"].previous_cursor}
    )
    assert _sequences(back) == [5, 4] and back.context["page"].previous_cursor is None
    html = first.content.decode()
    assert f"cursor={page.next_cursor}" in html and "action=entity.updated" in html
    bad = client.get(URL, {"action": "entity.updated", "cursor": "no-es-un-cursor"})
    assert bad.status_code == 400 and bad.context["bad_cursor"]


def test_state_before_any_verification_says_so(client, trail):
    client.force_login(auditor())
    state = client.get(URL).context["state"]
    assert state.last_verification is None
    assert state.head_sequence == 4 and state.unverified_entries == 4
    assert state.anchor_verified is None


def test_requested_verification_records_an_intact_chain_up_to_the_anchor(client, trail):
    anchor = anchors.publish_anchor()
    user = auditor()
    client.force_login(user)
    response = client.post(URL + "verificar/")
    assert response.status_code == 302 and response["Location"] == URL
    run = AuditVerification.objects.get()
    assert run.ok and run.checked == 4 and run.requested_by == user
    assert run.source == AuditVerification.Source.REQUEST
    assert run.anchors == 1 and run.latest_anchor_sequence == anchor.sequence
    page = client.get(URL)
    state = page.context["state"]
    assert state.anchor_verified is True and state.unverified_entries == 0
    # times in the page's language, not the anchor's ISO text
    assert anchor.statement["anchored_at"] not in page.content.decode()
    assert state.latest_anchor_at.isoformat() == anchor.statement["anchored_at"]


def test_the_page_only_verifies_on_post(client, trail):
    client.force_login(auditor())
    assert client.get(URL + "verificar/").status_code == 405
    assert not AuditVerification.objects.exists()


def test_a_tampered_chain_is_shown_broken(client, trail):
    entries, _first, _second = trail
    anchors.publish_anchor()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE core_auditentry SET data = %s WHERE id = %s", ['{"step": 99}', entries[1].pk]
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
    client.force_login(auditor())
    client.post(URL + "verificar/")
    run = AuditVerification.objects.get()
    assert not run.ok and run.broken_sequence == entries[1].sequence
    assert run.checked == entries[0].sequence
    response = client.get(URL)
    state = response.context["state"]
    assert state.last_verification == run and state.anchor_verified is False
    assert f"#{entries[1].sequence}" in response.content.decode()


def test_verify_audit_command_records_its_run(trail):
    out = StringIO()
    call_command("verify_audit", stdout=out)
    run = AuditVerification.objects.get()
    assert run.ok and run.source == AuditVerification.Source.COMMAND and run.checked == 4
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM core_auditentry WHERE sequence = 2")
        cursor.execute("SET LOCAL session_replication_role = origin")
    with pytest.raises(CommandError):
        call_command("verify_audit")
    latest = AuditVerification.objects.first()
    assert not latest.ok and latest.broken_sequence == 3


def test_footer_links_to_the_public_anchor(client):
    assert 'href="/auditoria/ancla/"' in client.get("/").content.decode()


def test_verification_requests_queued_together_walk_the_chain_once(client, trail):
    """Each click on "verify" queued a full walk of the chain (minutes on a large trail): a
    request that a verification started after it already answers runs nothing."""
    user = auditor()
    requested_at = timezone.now().isoformat()
    results = [verify_audit_trail(user.pk, requested_at) for _ in range(5)]
    assert results == [True] * 5
    assert AuditVerification.objects.count() == 1
    # A request made after that verification started gets its own.
    verify_audit_trail(user.pk, timezone.now().isoformat())
    assert AuditVerification.objects.count() == 2
