"""Auditors' internal notes on a process: written by auditors and admins (audited, in the
process's timeline), shown to them only (on the process page and the notes page), refused
when empty or too long, never shown to the public, staff or suppliers."""

import pytest

from core.models import AuditEntry
from procurement.models import AuditorNote
from procurement.models.notes import NOTE_MAX_LENGTH
from procurement.services import notes
from tests.core.test_accessibility import audit as accessibility_audit
from tests.domain import raises_domain
from tests.factories import SupplierFactory, admin_user, auditor, staff_of, user_of
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db
SECRET = "Posible fraccionamiento: revisar con el OCI."


@pytest.fixture
def process():
    return published("Computadoras")


def test_an_auditor_adds_a_note_recorded_in_the_process_timeline(client, process):
    reader = auditor()
    client.force_login(reader)
    url = f"/auditoria/notas/{process.identifier}/"
    response = client.post(url, {"text": f"  {SECRET}  "})
    assert response.status_code == 302 and response["Location"] == url
    note = AuditorNote.objects.get()
    assert (note.process, note.author, note.text) == (process, reader, SECRET)
    entry = AuditEntry.objects.filter(action="process.auditor_note_added").get()
    assert entry.actor == reader
    assert (entry.object_type, entry.object_id) == (
        "procurement.procurementprocess",
        str(process.pk),
    )
    assert entry.data["text"] == SECRET and entry.data["note"] == note.pk
    timeline = client.get(f"/auditoria/registro/procurement.procurementprocess/{process.pk}/")
    assert timeline.status_code == 200 and timeline.context["timeline"]
    assert entry.sequence in [e.sequence for e in timeline.context["page"]]
    assert SECRET in client.get(url).content.decode()
    accessibility_audit(client, url)
    accessibility_audit(client, f"/procesos/{process.identifier}/")


def test_admins_too_and_the_notes_show_on_the_process_page_for_them_only(client, process):
    notes.add_note(actor=admin_user(), process=process, text=SECRET)
    page = f"/procesos/{process.identifier}/"
    client.force_login(auditor())
    shown = client.get(page).content.decode()
    assert SECRET in shown
    assert f'href="/auditoria/registro/procurement.procurementprocess/{process.pk}/"' in shown
    for user in (None, staff_of(process.entity), user_of(SupplierFactory())):
        client.logout()
        if user is not None:
            client.force_login(user)
        body = client.get(page).content.decode()
        assert SECRET not in body and "/auditoria/notas/" not in body


def test_empty_and_too_long_notes_are_refused(client, process):
    reader = auditor()
    with raises_domain("note_empty"):
        notes.add_note(actor=reader, process=process, text="   ")
    with raises_domain("note_too_long"):
        notes.add_note(actor=reader, process=process, text="x" * (NOTE_MAX_LENGTH + 1))
    notes.add_note(actor=reader, process=process, text="x" * NOTE_MAX_LENGTH)  # at the limit
    client.force_login(reader)
    url = f"/auditoria/notas/{process.identifier}/"
    assert client.post(url, {"text": ""}).status_code == 400
    assert client.post(url, {"text": "x" * (NOTE_MAX_LENGTH + 1)}).status_code == 400
    assert AuditorNote.objects.count() == 1


def test_staff_and_suppliers_may_not_write_notes(process):
    from django.core.exceptions import PermissionDenied

    for user in (staff_of(process.entity), user_of(SupplierFactory())):
        with pytest.raises(PermissionDenied):
            notes.add_note(actor=user, process=process, text=SECRET)
    assert not AuditorNote.objects.exists()
    assert not notes.process_notes(staff_of(process.entity), process).exists()


def test_unknown_process_is_404(client):
    client.force_login(auditor())
    assert client.get("/auditoria/notas/LP-SM-9-2026-NADA-1/").status_code == 404
