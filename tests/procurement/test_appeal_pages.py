"""Appeal pages: a bidder files and withdraws from /procesos/<id>/apelacion/ (documents
checked like every process document), the process page shows the appeal, and the resolver
decides from /gestion/apelaciones/<id>/; everyone else is refused."""

from decimal import Decimal

import pytest
from django.test import Client

from core import clock
from procurement.models import Appeal, ProcessStatus, ProcurementProcess
from tests.factories import SupplierFactory, head_of, user_of
from tests.procurement.bidding import pdf
from tests.procurement.evaluating import awarded_tender, committee

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _small_awarded():
    tender, award, people = awarded_tender(bidders=2)
    ProcurementProcess.objects.filter(pk=tender.process.pk).update(
        estimated_value=Decimal("100000")
    )
    return tender, award, people, clock.local(award.standstill_ends)


def _file(client, tender, award, supplier, **extra):
    data = {
        "supplier": str(supplier.pk),
        "award": str(award.pk),
        "subject": "buena_pro",
        "entry": "",
        "reasons": "No acredita la experiencia.",
        "fee_amount": "1500.00",
        **extra,
    }
    return client.post(f"/procesos/{tender.process.identifier}/apelacion/", data)


def test_a_bidder_files_through_the_page_and_the_process_page_shows_it():
    tender, award, people, moment = _small_awarded()
    loser, loser_user = people[1]
    client = _client(loser_user)
    with clock.pinned(moment):
        page = client.get(f"/procesos/{tender.process.identifier}/")
        assert f"/procesos/{tender.process.identifier}/apelacion/" in page.content.decode()
        bad = _file(client, tender, award, loser, file=pdf("x", name="recurso.exe"))
        assert bad.status_code == 400 and not Appeal.objects.exists()
        response = _file(client, tender, award, loser, file=pdf("recurso", "recurso.pdf"))
        assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.documents.count() == 1
    tender.process.refresh_from_db()
    assert tender.process.status == ProcessStatus.SUSPENDED
    public = _client().get(f"/procesos/{tender.process.identifier}/").content.decode()
    assert f'id="appeal-{appeal.pk}"' in public and "No acredita la experiencia." in public
    assert appeal.documents.get().sha256 in public
    with clock.pinned(moment):
        withdrawn = client.post(
            f"/procesos/{tender.process.identifier}/apelacion/",
            {"action": "withdraw", "appeal": str(appeal.pk)},
        )
    assert withdrawn.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.WITHDRAWN


def test_non_bidders_cannot_reach_the_appeal_page():
    tender, award, people, moment = _small_awarded()
    outsider = user_of(SupplierFactory())
    with clock.pinned(moment):
        assert (
            _client(outsider).get(f"/procesos/{tender.process.identifier}/apelacion/").status_code
            == 403
        )
        assert _file(_client(outsider), tender, award, people[1][0]).status_code == 403
        assert _file(_client(tender.staff), tender, award, people[1][0]).status_code == 403
        anonymous = _client().get(f"/procesos/{tender.process.identifier}/apelacion/")
        assert anonymous.status_code == 302
    assert not Appeal.objects.exists()


def test_the_head_decides_from_its_page_and_the_committee_cannot():
    tender, award, people, moment = _small_awarded()
    with clock.pinned(moment):
        assert _file(_client(people[1][1]), tender, award, people[1][0]).status_code == 302
    appeal = Appeal.objects.get()
    url = f"/gestion/apelaciones/{appeal.pk}/"
    member, _second = committee(tender)
    head = head_of(tender.process.entity)
    with clock.pinned(moment):
        for user in (member, tender.staff, people[1][1]):
            assert _client(user).post(url, {"decision": "admit"}).status_code == 403
        client = _client(head)
        listing = client.get("/gestion/apelaciones/").content.decode()
        assert url in listing
        assert 'href="/gestion/apelaciones/"' in client.get("/contratos/").content.decode()
        assert 'href="/gestion/apelaciones/"' not in _client(member).get("/").content.decode()
        assert client.post(url, {"decision": "founded", "resolution": "x"}).status_code == 400
        assert client.post(url, {"decision": "admit"}).status_code == 302
        response = client.post(
            url,
            {
                "decision": "unfounded",
                "resolution": "Experiencia acreditada.",
                "file": pdf("resolucion", "resolucion.pdf"),
            },
        )
        assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.UNFOUNDED and appeal.resolution_document is not None
    award.refresh_from_db()
    assert award.status == "consentido"
    assert _client(head).get("/gestion/apelaciones/", follow=False).status_code == 200
    assert _client(member).get("/gestion/apelaciones/").status_code == 403
