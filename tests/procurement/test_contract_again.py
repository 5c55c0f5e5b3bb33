"""Issue 10: a contract declared void stays on record, and its award is contracted again.

The whole path: sign -> declare void (the process goes back to consentido) -> sign a new
contract for the same award (same winner, the award's amount) -> contratado, the pages and
the open data showing both contracts, linked. One standing contract per award: the service
refuses a second one, the database too (contract_one_standing_per_award), and two signings at
the same moment end with one contract and a clear refusal."""

import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client

from core import clock
from core.models import AuditEntry
from notifications.models import Event, EventKind
from procurement import sme
from procurement.models import Award, Contract, ProcessStatus, ProcurementProcess
from procurement.services import contracts, processes
from tests.domain import raises_domain
from tests.procurement.evaluating import awarded_tender, consent

pytestmark = pytest.mark.django_db


def _consented():
    tender, award, _people = awarded_tender()
    return tender, consent(award)


def _day(award, days):
    return award.consented_on + timedelta(days=days)


def _at(award, days):
    return clock.pinned(clock.local(_day(award, days)))


def _sign(tender, award, number, days, **overrides):
    with _at(award, days):
        return contracts.sign_contract(
            actor=tender.staff,
            award=award,
            number=number,
            signed_on=_day(award, days),
            term_days=60,
            guarantee=Contract.Guarantee.PERFORMANCE_BOND,
            **overrides,
        )


def _annul(tender, contract, award, days):
    with _at(award, days):
        return contracts.annul_contract(actor=tender.staff, contract=contract, reason="Firma falsa")


def _signed_voided_signed():
    """Signed on day 1 after the consent, declared void on day 3, signed again on day 5."""
    tender, award = _consented()
    first = _sign(tender, award, "C-1-2026", 1)
    _annul(tender, first, award, 3)
    second = _sign(tender, award, "C-2-2026", 5)
    first.refresh_from_db()
    return tender, award, first, second


def _status(tender):
    return ProcurementProcess.objects.get(pk=tender.process.pk).status


def test_a_void_contracts_award_is_contracted_again_and_the_process_is_contracted():
    tender, award = _consented()
    first = _sign(tender, award, "C-1-2026", 1)
    assert _status(tender) == ProcessStatus.CONTRACTED
    _annul(tender, first, award, 3)
    assert _status(tender) == ProcessStatus.CONSENTED
    # The award waits for its contract again; the void one stays on record.
    assert contracts.awards_to_contract(tender.process) == [award]
    assert award.standing_contract is None
    # Not signed before the contract it replaces was declared void.
    with raises_domain("date_out_of_range"):
        _sign(tender, award, "C-2-2026", 2)
    with raises_domain("number_taken"):  # the void contract keeps its number
        _sign(tender, award, "C-1-2026", 5)
    second = _sign(tender, award, "C-2-2026", 5)
    assert (second.award_id, second.supplier_id, second.amount) == (
        award.pk,
        award.supplier_id,
        award.amount,
    )
    assert (second.winner_sme, second.size_classes) == (award.winner_sme, award.winner_size_classes)
    assert _status(tender) == ProcessStatus.CONTRACTED
    assert contracts.awards_to_contract(tender.process) == []
    assert award.standing_contract == second
    first.refresh_from_db()
    assert first.status == Contract.Status.VOID
    assert list(award.contracts.order_by("id")) == [first, second]
    # The history: contracted, back to consented, contracted again.
    actions = list(
        tender.process.history.filter(action__in=["contract", "void_contract"]).values_list(
            "action", flat=True
        )
    )
    assert actions == ["contract", "void_contract", "contract"]
    signed = AuditEntry.objects.get(action="contract.signed", object_id=str(second.pk))
    assert signed.data["replaces"] == [first.pk]
    assert Event.objects.filter(kind=EventKind.CONTRACT_SIGNED, object_id=str(second.pk)).exists()
    assert Event.objects.filter(kind=EventKind.PROCESS_CONTRACTED).count() == 2
    assert Event.objects.filter(kind=EventKind.PROCESS_CONTRACT_VOIDED).count() == 1


def test_no_contract_is_signed_once_the_process_is_declared_void():
    """A void contract sends the process back to consented; if the entity then declares the
    whole process void, its consented award is contracted no more."""
    tender, award = _consented()
    first = _sign(tender, award, "C-1-2026", 1)
    _annul(tender, first, award, 3)
    with _at(award, 4):
        processes.annul(
            actor=tender.staff,
            process=ProcurementProcess.objects.get(pk=tender.process.pk),
            reason="Vicio en las bases",
            return_stage="convocatoria",
        )
    award.refresh_from_db()
    assert award.status == Award.Status.CONSENTED  # the award stays what it was
    with raises_domain("process_not_contracting"):
        _sign(tender, award, "C-2-2026", 5)
    assert contracts.signing_refusal(award).code == "process_not_contracting"
    assert not Contract.objects.standing().filter(award=award).exists()
    assert _status(tender) == ProcessStatus.VOID


@pytest.mark.parametrize("ending", ["none", "complete", "terminate"])
def test_a_standing_contract_is_never_doubled(ending):
    """Active, completed or terminated (resuelto): the lot had its contract, and keeps it.
    Only a contract declared void makes room for another."""
    tender, award = _consented()
    first = _sign(tender, award, "C-1-2026", 1)
    with _at(award, 3):
        if ending == "complete":
            contracts.complete_contract(
                actor=tender.staff,
                contract=first,
                completed_on=_day(award, 3),
                final_amount=award.amount,
            )
        elif ending == "terminate":
            contracts.terminate_contract(
                actor=tender.staff,
                contract=first,
                party=Contract.Party.SUPPLIER,
                reason="Incumplimiento",
                terminated_on=_day(award, 3),
            )
    with raises_domain("contract_exists"):
        _sign(tender, award, "C-2-2026", 4)
    assert award.contracts.count() == 1
    assert award.standing_contract == first


def test_the_database_keeps_one_standing_contract_per_award():
    tender, award, first, second = _signed_voided_signed()
    fields = {
        f.attname: getattr(second, f.attname)
        for f in Contract._meta.concrete_fields
        if not f.primary_key
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.objects.create(**{**fields, "number": "C-3-2026"})
    # A void one more is no contract of the lot: the database takes it.
    Contract.objects.create(
        **{**fields, "number": "C-4-2026", "status": Contract.Status.VOID, "end_reason": "x"}
    )
    assert award.contracts.standing().get() == second


def test_the_constraint_refuses_with_a_message_when_the_guard_is_passed(monkeypatch):
    """What the database says when a signing races past the service's guard (a contract
    written in between): the same clear refusal, no 500, nothing half-written."""
    tender, award = _consented()
    first = _sign(tender, award, "C-1-2026", 1)
    monkeypatch.setattr(contracts, "signing_refusal", lambda award: None)
    events = Event.objects.count()
    with raises_domain("contract_exists"):
        _sign(tender, award, "C-2-2026", 2)
    assert list(award.contracts.all()) == [first]
    assert Event.objects.count() == events


@pytest.mark.django_db(transaction=True)
def test_two_signings_at_the_same_moment_make_one_contract_and_a_clear_refusal():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises every writer anyway")
    tender, award = _consented()
    first = _sign(tender, award, "C-1-2026", 1)
    _annul(tender, first, award, 2)
    outcomes = []
    start = threading.Barrier(2)

    def sign(number):
        try:
            start.wait(timeout=30)
            outcomes.append(_sign(tender, award, number, 3).number)
        except contracts.DomainError as error:
            outcomes.append(error.code)
        except Exception as error:  # noqa: BLE001 - reported below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(n,)) for n in ("C-2-2026", "C-3-2026")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes, key=len) in (
        ["C-2-2026", "contract_exists"],
        ["C-3-2026", "contract_exists"],
    ), outcomes
    standing = award.contracts.standing().get()
    assert standing.number in outcomes
    assert award.contracts.count() == 2
    assert _status(tender) == ProcessStatus.CONTRACTED


def test_the_pages_show_both_contracts_linked():
    tender, award, first, second = _signed_voided_signed()
    client = Client()
    page = client.get(f"/procesos/{tender.process.identifier}/").content.decode()
    assert f'href="/contratos/{first.pk}/"' in page and f'href="/contratos/{second.pk}/"' in page
    assert 'data-status="nulo"' in page and 'data-status="vigente"' in page
    new = client.get(f"/contratos/{second.pk}/").content.decode()
    assert 'data-link="replaces"' in new and f'href="/contratos/{first.pk}/"' in new
    assert 'data-link="replaced-by"' not in new
    old = client.get(f"/contratos/{first.pk}/").content.decode()
    assert 'data-link="replaced-by"' in old and f'href="/contratos/{second.pk}/"' in old
    assert 'data-status="nulo"' in old
    listing = client.get("/contratos/").content.decode()
    assert "C-1-2026" in listing and "C-2-2026" in listing
    voided = client.get("/contratos/", {"status": "nulo"}).content.decode()
    assert "C-1-2026" in voided and "C-2-2026" not in voided


def test_the_staff_page_offers_the_award_again_once_its_contract_is_void():
    tender, award = _consented()
    first = _sign(tender, award, "C-1-2026", 1)
    client = Client()
    client.force_login(tender.staff)
    url = f"/gestion/procesos/{tender.process.pk}/contratos/"
    with _at(award, 2):
        assert f'id="award-{award.pk}"' not in client.get(url).content.decode()
    _annul(tender, first, award, 2)
    with _at(award, 3):
        assert f'id="award-{award.pk}"' in client.get(url).content.decode()
        form = {
            "award": award.pk,
            "signed_on": _day(award, 3).isoformat(),
            "term_days": "30",
            "guarantee": "fiel_cumplimiento",
            "amount": "",
        }
        response = client.post(url, {**form, "number": "C-2-2026"})
        assert response.status_code == 302
        again = client.post(url, {**form, "number": "C-3-2026"})
    assert again.status_code == 400
    assert award.contracts.standing().get().number == "C-2-2026"


def test_the_sme_share_and_the_supplier_record_count_the_standing_contract_only():
    tender, award, first, second = _signed_voided_signed()
    rows = list(sme.share_contracts(Contract.objects.filter(process=tender.process)))
    assert [r.pk for r in rows] == [second.pk]
    record = contracts.supplier_record(award.supplier)
    assert (record["count"], record["amount"]) == (1, second.amount)
    assert {c.pk for c in record["contracts"]} == {first.pk, second.pk}  # both listed


def test_the_price_history_links_the_standing_contract():
    from procurement import prices

    tender, award, first, second = _signed_voided_signed()
    code = tender.process.items.get().catalog_item_id
    assert [line["contract_id"] for line in prices.awarded_lines(code)] == [second.pk]
    _annul(tender, second, award, 6)
    assert [line["contract_id"] for line in prices.awarded_lines(code)] == [None]


def _exported(tmp_path):
    tender, award, first, second = _signed_voided_signed()
    target = tmp_path / "out.jsonl"
    call_command("export_ocds", "--jsonl", "--output", str(target), stdout=StringIO())
    return award, first, second, target


def test_the_open_data_lists_both_contracts(tmp_path):
    award, first, second, target = _exported(tmp_path)
    releases = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    stated = {}
    for release in releases:
        for contract in release.get("contracts", []):
            if "status" in contract:
                stated[contract["id"]] = (contract["awardID"], contract["status"])
    assert stated == {
        str(first.pk): (str(award.pk), "cancelled"),
        str(second.pk): (str(award.pk), "active"),
    }


def test_the_open_data_imports_both_contracts_again(tmp_path):
    """Into a portal without the process, its entity and suppliers: both contracts come
    back, the void one and the standing one, and the process is contracted."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the portal is emptied with TRUNCATE ... CASCADE")
    award, first, second, target = _exported(tmp_path)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "TRUNCATE procurement_procurementprocess, procurement_entity, suppliers_supplier "
            "CASCADE"
        )
    out, err = StringIO(), StringIO()
    call_command("import_ocds", str(target), stdout=out, stderr=err)
    assert err.getvalue() == "" and "0 refused" in out.getvalue()
    process = ProcurementProcess.objects.get()
    assert process.status == ProcessStatus.CONTRACTED
    imported = Award.objects.get(process=process)
    assert sorted(imported.contracts.values_list("status", "amount")) == sorted(
        [(Contract.Status.VOID, first.amount), (Contract.Status.ACTIVE, second.amount)]
    )


@pytest.mark.django_db(transaction=True)
def test_amending_and_evaluating_run_in_their_own_transaction():
    """The services take their own transaction (as a view calls them: no test transaction
    around them): amending locks the contract, evaluating too."""
    tender, award = _consented()
    contract = _sign(tender, award, "C-1-2026", 1)
    with _at(award, 2):
        contracts.amend_contract(
            actor=tender.staff,
            contract=contract,
            kind="adicional",
            amount=award.amount / 10,
            reason="Mayor cantidad",
            signed_on=_day(award, 2),
        )
        contracts.complete_contract(
            actor=tender.staff,
            contract=contract,
            completed_on=_day(award, 2),
            final_amount=award.amount,
        )
        evaluation = contracts.evaluate_supplier(
            actor=tender.staff, contract=contract, on_time=True, quality=4, penalties=0
        )
    assert contract.amendments.count() == 1 and evaluation.quality == 4


def test_every_status_but_void_stands():
    """STANDING_STATUSES, the one list of the contracts an award's lot counts, is every
    contract status but the void one."""
    from procurement.models.contracts import STANDING_STATUSES

    assert set(STANDING_STATUSES) == set(Contract.Status.values) - {Contract.Status.VOID}
