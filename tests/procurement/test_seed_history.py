"""The demo seed's history is consistent: classifications dated after the year they classify,
modification reasons that say what changed, and an audit chain for everything it created."""

from collections import Counter
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from core import anchors
from core.models import AuditEntry
from procurement.demo.history import ACTOR
from procurement.demo.plans import modification_reason
from procurement.models import (
    Award,
    BidOpening,
    Contract,
    Evaluation,
    Participant,
    PlanVersion,
    ProcessDocument,
    ProcurementProcess,
    ReceiptLedgerEntry,
    StatusChange,
)
from suppliers.models import SizeClassification, Supplier
from tests.seeding import seeded_once

pytestmark = pytest.mark.django_db
TODAY = "2026-11-25"
# A process's entries for its documents (tests/procurement/test_seed_documents.py checks them).
DOCUMENT_ACTIONS = {
    "process.answers_published",
    "process.integrated_bases_published",
    "process.document_published",
}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    with seeded_once(
        django_db_blocker, tmp_path_factory, "--processes", "60", "--seed", "4", "--today", TODAY
    ) as seeded:
        yield seeded


def test_classifications_are_dated_after_the_sales_year_ends(seeded):
    rows = SizeClassification.objects.values_list("sales_year_id", "classified_at")
    assert rows
    for sales_year, classified_at in rows:
        assert classified_at.year == sales_year + 1
        assert classified_at.date() <= date.fromisoformat(TODAY)


def test_a_modifications_reason_says_what_it_changed(seeded):
    modifications = PlanVersion.objects.filter(number__gte=1).select_related("plan")
    assert modifications.count() > 20
    for version in modifications:
        before = dict(
            PlanVersion.objects.get(plan=version.plan, number=version.number - 1).items.values_list(
                "reference", "estimated_value"
            )
        )
        after = dict(version.items.values_list("reference", "estimated_value"))
        added = len(after.keys() - before.keys())
        removed = len(before.keys() - after.keys())
        revalued = sum(1 for ref in after.keys() & before.keys() if after[ref] != before[ref])
        assert version.reason == modification_reason(added, removed, revalued), version.pk


def test_modification_reason_wording():
    assert modification_reason(1, 0, 0) == "Incorporación de un procedimiento no previsto."
    assert modification_reason(2, 1, 0) == (
        "Incorporación de 2 procedimientos no previstos y exclusión de un procedimiento que "
        "ya no se ejecutará."
    )


def test_the_seeded_history_is_chained_verified_and_anchored(seeded):
    entries = AuditEntry.objects.all()
    actions = Counter(entries.values_list("action", flat=True))
    assert actions["process.created"] == ProcurementProcess.objects.count()
    assert actions["plan.published"] == PlanVersion.objects.filter(status="published").count()
    assert actions["supplier.classified"] == SizeClassification.objects.count()
    assert actions["supplier.registered"] == Supplier.objects.count()
    assert actions["account.created"] >= 8
    assert actions["process.committee_designated"] == ProcurementProcess.objects.count()
    # The bids' part (procurement.demo.bids): registrations, openings and receipts.
    bid_actions = {
        "process.participant_registered",
        "process.opening_started",
        "process.bids_opened",
    }
    assert actions["process.participant_registered"] == Participant.objects.count() > 0
    openings = BidOpening.objects.filter(status="completed").count()
    assert actions["process.opening_started"] == actions["process.bids_opened"] == openings > 0
    assert actions["bid.received"] + actions["bid.withdrawn"] == ReceiptLedgerEntry.objects.count()
    # The awards' part (procurement.demo.awards): tables, each lot's outcome, consents.
    award_actions = {
        "process.evaluation_published",
        "process.lot_awarded",
        "process.lot_deserted",
        "process.lot_consented",
        "process.lot_award_revoked",
    }
    assert actions["process.evaluation_published"] == Evaluation.objects.count() > 0
    assert actions["process.lot_awarded"] + actions["process.lot_deserted"] == Award.objects.count()
    consented = Award.objects.filter(consented_on__isnull=False).count()
    assert actions["process.lot_consented"] == consented > 0
    assert actions["contract.signed"] == Contract.objects.count() > 0
    assert sum(
        n
        for a, n in actions.items()
        if a.startswith("process.")
        and a not in DOCUMENT_ACTIONS
        and a not in bid_actions
        and a not in award_actions
    ) == (2 * ProcurementProcess.objects.count() + StatusChange.objects.count())
    assert actions["process.document_published"] == ProcessDocument.objects.count() > 0
    assert set(entries.values_list("actor_label", flat=True)) == {ACTOR}
    # in time order: sequence order is time order
    times = list(entries.order_by("sequence").values_list("created_at", flat=True))
    assert times == sorted(times)
    # one process's timeline: its creation and committee, then each status change in order
    process = ProcurementProcess.objects.filter(history__isnull=False).first()
    timeline = list(
        entries.filter(object_type="procurement.procurementprocess", object_id=str(process.pk))
        .exclude(action__in=DOCUMENT_ACTIONS)
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    changes = list(process.history.order_by("at", "pk").values_list("action", flat=True))
    assert timeline == ["process.created", "process.committee_designated"] + [
        f"process.{a}" for a in changes
    ]
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert f"{entries.count()} entries verified" in out.getvalue()
    anchor = anchors.latest()
    assert anchor is not None and anchor.sequence == entries.count()
    assert f"anchored at entry #{anchor.sequence}" in seeded


def test_services_continue_the_seeded_chain(seeded):
    from django.db import transaction

    from core import audit

    head = AuditEntry.objects.order_by("-sequence").first()
    with transaction.atomic():
        entry = audit.record(None, "test.after_seed", ("x.y", 1))
    assert entry.sequence == head.sequence + 1 and entry.previous_hash == head.entry_hash
    assert audit.verify_chain().ok


def _encoded_by_python():
    from datetime import UTC

    from core import audit
    from procurement.demo.history import history

    return [
        (
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            a,
            kind,
            pk,
            audit._encode_data(data),
        )
        for at, a, kind, pk, data in history()
    ]


def _encoded_by_postgresql():
    from procurement.demo.history import encoded_history

    with encoded_history() as rows:
        return list(rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL writes it")
def test_postgresql_writes_the_history_the_streams_give(seeded):
    # The seed chains the text PostgreSQL writes (procurement.demo.history._stream_queries):
    # the same entries, in the same order, with the same canonical data as the Python streams.
    written = _encoded_by_postgresql()
    assert len({row[1] for row in written}) > 20
    assert written == _encoded_by_python()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL writes it")
def test_postgresql_escapes_and_writes_values_as_python_does(seeded):
    from datetime import timedelta

    supplier = Supplier.objects.order_by("pk").first()
    supplier.legal_name = 'Ñandú "Q" \\ back\nnew\ttab\x01 €'
    supplier.save(update_fields=["legal_name"])
    openings = list(BidOpening.objects.filter(status="completed").order_by("pk")[:2])
    # milliseconds kept only when there are microseconds (DjangoJSONEncoder): .000Z, none
    moment = openings[0].confirm_by.replace(microsecond=0)
    BidOpening.objects.filter(pk=openings[0].pk).update(
        confirm_by=moment + timedelta(microseconds=500)
    )
    BidOpening.objects.filter(pk=openings[1].pk).update(confirm_by=moment)
    (registered,) = [
        data
        for _at, action, _kind, pk, data in _encoded_by_postgresql()
        if action == "supplier.registered" and pk == str(supplier.pk)
    ]
    assert '"legal_name":"Ñandú \\"Q\\" \\\\ back\\nnew\\ttab\\u0001 €"' in registered
    assert _encoded_by_postgresql() == _encoded_by_python()
