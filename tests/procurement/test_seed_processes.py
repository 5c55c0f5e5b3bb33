import hashlib
import re
from collections import Counter, defaultdict
from datetime import date
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from core import clock
from core.codelists import ProcedureType, Stage
from core.models import StageMinimum
from core.workdays import calendar as working_calendar
from procurement.calendar_rules import calendar_problems, stages_of, unmet_minimums
from procurement.demo import processes as demo_processes
from procurement.demo.processes import RUSHED_PROCESSES
from procurement.models import (
    EvaluationCriterion,
    ProcessItem,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
    StatusChange,
)
from procurement.services.processes import check_procedure_type
from procurement.state_machine import TRANSITIONS
from tests.procurement.status_history import assert_due_stored, assert_last_change_stored

TODAY = "2026-11-25"
PROCESSES = 300
IDENTIFIER = re.compile(
    r"^(?P<type>[A-Z]+)-SM-(?P<sequence>[1-9][0-9]*)-(?P<year>[0-9]{4})-"
    r"(?P<acronym>[A-Z0-9]+(?:-[A-Z0-9]+)*)-(?P<call>[1-9][0-9]*)$"
)


def seed_processes(seed: int = 2) -> None:
    # Seeding for today caps the day's history at the moment of the seed: a pinned clock
    # makes that moment, and so the data, the same on every run.
    with clock.pinned(date.fromisoformat(TODAY)):
        _seed(seed)


def _seed(seed: int) -> None:
    call_command(
        "seed_demo",
        "--processes",
        str(PROCESSES),
        "--seed",
        str(seed),
        "--today",
        TODAY,
        stdout=StringIO(),
    )


def digest() -> str:
    """A fingerprint of the seeded processes by natural keys (ids differ between runs)."""
    parts = [
        list(
            ProcurementProcess.objects.order_by("identifier").values_list(
                "identifier",
                "entity__ruc",
                "fiscal_year_id",
                "procedure_type",
                "sequence",
                "call_number",
                "object_type",
                "description",
                "delivery_place",
                "delivery_ubigeo_id",
                "estimated_value",
                "sme_only",
                "award_by_items",
                "outside_plan_reason",
                "status",
                "suspended_from",
                "void_return_stage",
                "created_at",
                "published_at",
            )
        ),
        list(
            ProcessItem.objects.order_by(
                "process__identifier", "plan_item__reference", "catalog_item_id", "estimated_value"
            ).values_list(
                "process__identifier",
                "plan_item__version__number",
                "plan_item__reference",
                "catalog_item_id",
                "description",
                "quantity",
                "unit",
                "estimated_value",
            )
        ),
        list(
            ProcessStage.objects.order_by("process__identifier", "position").values_list(
                "process__identifier", "stage", "position", "start", "end"
            )
        ),
        list(
            StatusChange.objects.order_by("process__identifier", "at").values_list(
                "process__identifier",
                "action",
                "from_status",
                "to_status",
                "reason",
                "return_stage",
                "at",
            )
        ),
        list(
            EvaluationCriterion.objects.order_by("process__identifier", "position").values_list(
                "process__identifier", "kind", "name", "weight", "position"
            )
        ),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@pytest.fixture(scope="class")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seeds twice with the same seed (the second in smaller batches): the first run is
    rolled back after taking its fingerprint, the second stays for the read-only checks of
    the class (then rolled back). The documents' files go to a temporary folder, as with the function-scoped fixtures."""
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=fast,
            MEDIA_ROOT=tmp_path_factory.mktemp("media"),
            ANCHOR_DIR=tmp_path_factory.mktemp("anchors"),
        ),
        transaction.atomic(),
    ):
        with transaction.atomic():
            seed_processes(2)
            first = digest()
            transaction.set_rollback(True)
        assert ProcurementProcess.objects.count() == 0  # rolled back
        # The second in batches of 70 (the writer thread sends each while the next is
        # built): the same rows, and the vectors checked below written batch by batch.
        with mock.patch.object(demo_processes, "BATCH", 70):
            seed_processes(2)
        yield {"first": first, "second": digest()}
        transaction.set_rollback(True)


def sample() -> list[ProcurementProcess]:
    """30 processes, every tenth by identifier (deterministic), with their rows."""
    ids = list(ProcurementProcess.objects.order_by("identifier").values_list("pk", flat=True))
    return list(
        ProcurementProcess.objects.filter(pk__in=ids[::10])
        .select_related("entity")
        .prefetch_related("stages", "history", "items__plan_item")
        .order_by("identifier")
    )


def rushed() -> dict[int, list]:
    """The seeded processes whose calendar misses a legal minimum, with the minimums missed:
    only the demo's deliberately rushed processes (procurement.demo.processes._rushable)."""
    calendar = working_calendar()
    rules = defaultdict(list)
    for rule in StageMinimum.objects.all():
        rules[rule.procedure_type].append(rule)
    dates = defaultdict(dict)
    for pk, stage, start, end in ProcessStage.objects.values_list(
        "process_id", "stage", "start", "end"
    ):
        dates[pk][stage] = (start, end)
    types = dict(ProcurementProcess.objects.values_list("pk", "procedure_type"))
    missed = {pk: unmet_minimums(rules[types[pk]], dates[pk], calendar) for pk in dates}
    return {pk: unmet for pk, unmet in missed.items() if unmet}


@pytest.mark.django_db
@pytest.mark.usefixtures("seeded")
class TestSeededProcesses:
    def test_same_seed_gives_the_same_processes(self, seeded):
        assert seeded["first"] == seeded["second"]

    def test_each_process_stores_the_moment_of_its_last_status_change(self):
        # Written with the processes, and again where the awards rewrite histories.
        stored = assert_last_change_stored()
        assert sum(moment is not None for moment in stored.values()) > PROCESSES / 2

    def test_each_process_stores_the_last_day_it_is_on_time(self):
        # The stuck list's stored rule, written once at the end of the seed, in every status.
        due = assert_due_stored()
        owing = ProcurementProcess.objects.filter(stage_due_on__isnull=False)
        assert set(owing.values_list("status", flat=True)) == {
            "convocado",
            "adjudicado",
            "consentido",
        }
        assert sum(day is None for day in due.values()) > 0  # drafts, finished, suspended

    def test_every_seeded_process_is_found_by_its_words(self):
        from procurement import search

        processes = ProcurementProcess.objects.all()
        unsearchable = (
            {"search_vector__isnull": True}
            if search.default_engine() == search.TSVECTOR
            else {"search_text": ""}
        )
        assert not processes.filter(**unsearchable).exists()
        for process in sample()[:5]:
            found = search.filter_text(processes, f"{process.description} {process.entity.name}")
            assert found.filter(pk=process.pk).exists(), process.description

    def test_the_seeded_search_vectors_are_those_refresh_writes(self):
        # On PostgreSQL the seed writes each process row once with its vector (a bulk
        # INSERT ... SELECT); it must be what the one definition, search.refresh, writes.
        from procurement import search

        if search.default_engine() != search.TSVECTOR:
            pytest.skip("stored vectors are PostgreSQL's")
        vectors = ProcurementProcess.objects.order_by("pk").values_list("pk", "search_vector")
        seeded = list(vectors)
        with transaction.atomic():
            ProcurementProcess.objects.update(search_vector=None)
            search.refresh(ProcurementProcess.objects.all())
            assert list(vectors) == seeded
            transaction.set_rollback(True)

    def test_the_rows_written_as_copy_text_are_the_rows(self):
        """The rows the seed writes as COPY text (rows(text=True): dates and moments made
        as text, capped at the seed's last moment) are those of its plain rows."""
        import random

        from procurement.demo import latest_moment
        from procurement.demo.bulk_writers import copy_text

        today = date.fromisoformat(TODAY)
        with clock.pinned(today):
            builder = demo_processes.ProcessBuilder(
                random.Random(3), today, [2025, 2026], until=latest_moment(today)
            )
        builder.stream_base, builder._chunk_demo = 7, {}
        made = builder.entity_processes(0, 60, "")
        assert any(p.status == ProcessStatus.CALLED for p in made)
        for pk, process in enumerate(made, start=1):
            plain = builder.rows(process, pk)
            text = builder.rows(process, pk, text=True)
            written = demo_processes.copy_texts([[(*text[0], None)], *text[1:]])
            assert [t.data for t in written] == [
                copy_text(rows).data for rows in [[(*plain[0], None)], *plain[1:]]
            ]

    def test_the_seeded_catalog_codes_are_those_refresh_writes(self):
        # The seed writes each process's items' codes with its row (search.catalog_codes);
        # the catalog filter reads them there, so they must be what search.refresh writes.
        from procurement import search

        codes = ProcurementProcess.objects.order_by("pk").values_list("pk", "catalog_codes")
        seeded = list(codes)
        assert all(text.startswith(" ") and text.endswith(" ") for _pk, text in seeded)
        with transaction.atomic():
            ProcurementProcess.objects.update(catalog_codes="")
            search.refresh(ProcurementProcess.objects.all())
            assert list(codes) == seeded
            transaction.set_rollback(True)

    def test_count_statuses_years_and_identifiers(self):
        processes = ProcurementProcess.objects.select_related("entity")
        assert processes.count() == PROCESSES
        assert set(processes.values_list("status", flat=True)) == set(ProcessStatus.values)
        assert set(processes.values_list("fiscal_year_id", flat=True)) == {2025, 2026}
        assert processes.values("identifier").distinct().count() == PROCESSES
        numbers = defaultdict(list)
        for process in processes:
            match = IDENTIFIER.match(process.identifier)
            assert match, process.identifier
            assert match["type"] == process.procedure_type
            assert int(match["sequence"]) == process.sequence
            assert int(match["year"]) == process.fiscal_year_id
            assert match["acronym"] == process.entity.acronym
            assert int(match["call"]) == process.call_number
            if process.call_number == 1:
                key = (process.entity_id, process.fiscal_year_id, process.procedure_type)
                numbers[key].append(process.sequence)
            assert (process.published_at is None) == (process.status == ProcessStatus.DRAFT)
        # Numbered per entity, year and procedure type from 1, without gaps.
        assert all(sorted(seq) == list(range(1, len(seq) + 1)) for seq in numbers.values())
        direct = processes.filter(procedure_type=ProcedureType.CD)
        assert direct.count() <= PROCESSES * 0.08
        assert not direct.filter(direct_cause="").exists()  # each with its legal cause
        assert not processes.exclude(procedure_type=ProcedureType.CD).exclude(direct_cause="")

    def test_sample_calendars_meet_the_minimums_and_procedure_types_fit(self):
        calendar = working_calendar()
        processes = sample()
        assert len(processes) == 30
        # The demo's rushed processes miss the bid window on purpose (a red flag to show);
        # test_only_the_rushed_processes_miss_a_minimum checks them.
        exempt = rushed()
        for process in processes:
            rows = list(process.stages.all())
            assert [row.stage for row in rows] == stages_of(process.procedure_type)
            dates = {row.stage: (row.start, row.end) for row in rows}
            problems = calendar_problems(process.procedure_type, dates, calendar)
            assert len(problems) == len(exempt.get(process.pk, [])), problems
            check_procedure_type(
                process.fiscal_year_id,
                process.object_type,
                process.estimated_value,
                process.procedure_type,
                process.direct_cause,
            )  # raises when the type does not fit the year's thresholds
            assert process.estimated_value == sum(i.estimated_value for i in process.items.all())

    def test_only_the_rushed_processes_miss_a_minimum(self):
        """Exactly RUSHED_PROCESSES calendars miss a minimum: Adjudicaciones Simplificadas,
        awarded, whose bid window (and questions) are too short; the standstill after the
        award keeps its minimum and nothing else is wrong with their calendars."""
        missed = rushed()
        assert len(missed) == RUSHED_PROCESSES
        calendar = working_calendar()
        for pk, unmet in missed.items():
            process = ProcurementProcess.objects.get(pk=pk)
            assert process.procedure_type == ProcedureType.AS
            assert process.history.filter(action="award").exists()
            stages = {rule.stage for rule, *_rest in unmet}
            assert Stage.BIDS in stages and stages <= {Stage.QUESTIONS, Stage.BIDS}
            dates = {row.stage: (row.start, row.end) for row in process.stages.all()}
            problems = calendar_problems(process.procedure_type, dates, calendar)
            assert len(problems) == len(unmet), problems

    def test_sample_histories_lead_to_the_status_by_the_rules(self):
        today = date.fromisoformat(TODAY)
        for process in sample():
            stages = {row.stage: row for row in process.stages.all()}
            status, suspended_from, previous = ProcessStatus.DRAFT, "", None
            for change in process.history.all():
                rule = TRANSITIONS[change.action]
                assert status in rule.sources, (process.identifier, change.action)
                refused = getattr(rule, "refused_if_suspended_from", ())
                assert status != ProcessStatus.SUSPENDED or suspended_from not in refused
                assert (change.from_status, change.actor_id) == (status, None)
                assert change.to_status == (rule.target or suspended_from)
                assert change.reason or not rule.needs_reason
                day = timezone.localtime(change.at).date()
                assert day <= today
                assert previous is None or change.at > previous
                if rule.not_before and rule.not_before[0] in stages:
                    stage, edge = rule.not_before
                    if edge == "start":
                        assert day >= stages[stage].start, (process.identifier, change.action)
                    else:
                        assert day > stages[stage].end, (process.identifier, change.action)
                if change.action == "publish":
                    assert change.at == process.published_at
                    assert day == stages["convocatoria"].start
                suspended_from = status if change.action == "suspend" else ""
                status, previous = change.to_status, change.at
            assert status == process.status
            assert process.suspended_from == suspended_from
            assert bool(process.void_return_stage) == (status == ProcessStatus.VOID)

    def test_plan_items_sme_reservation_and_outside_plan_reasons(self):
        processes = ProcurementProcess.objects.all()
        from_plan = processes.filter(outside_plan_reason="")
        assert 0.55 <= from_plan.count() / PROCESSES <= 0.75
        assert processes.filter(sme_only=True).exists()
        for process in processes.prefetch_related("items__plan_item"):
            items = list(process.items.all())
            assert items
            if process.outside_plan_reason:
                assert not process.sme_only
                assert all(item.plan_item_id is None for item in items)
                continue
            plan_items = [item.plan_item for item in items]
            assert None not in plan_items
            # Never mixed; reserved items make an SME-only process.
            assert {p.sme_reserved for p in plan_items} == {process.sme_only}
            assert {p.object_type for p in plan_items} == {process.object_type}
            for item, plan_item in zip(items, plan_items, strict=True):
                assert (item.catalog_item_id, item.quantity, item.estimated_value) == (
                    plan_item.catalog_item_id,
                    plan_item.quantity,
                    plan_item.estimated_value,
                )
        live = ProcessItem.objects.filter(plan_item__isnull=False).exclude(
            process__status__in=[ProcessStatus.CANCELLED, ProcessStatus.DESERTED]
        )
        held = live.values("plan_item").annotate(n=Count("id")).filter(n__gt=1)
        assert not held.exists()  # a plan item is in one live process at most
        assert Counter(processes.values_list("call_number", flat=True))[1] >= PROCESSES * 0.9

    def test_every_process_has_criteria_its_procedure_type_accepts(self):
        from procurement.services.criteria import criteria_refusal

        processes = ProcurementProcess.objects.prefetch_related("criteria")
        kinds = Counter()
        for process in processes:
            assert criteria_refusal(process) is None, (process.identifier, process.procedure_type)
            criteria = list(process.criteria.all())
            kinds[process.procedure_type, len(criteria) > 0] += 1
            if process.award_by_items:
                assert process.items.count() >= 2
        assert not any(has for (kind, has) in kinds if kind == ProcedureType.CD)
        assert processes.filter(award_by_items=True).exists()
        assert processes.filter(status=ProcessStatus.DRAFT, criteria__isnull=False).exists()


def test_the_process_tables_copy_text_is_the_one_psycopg_makes():
    """The seed writes the COPY text of its process tables itself (faster than adapting each
    value through psycopg): byte for byte what bulk_writers.copy_text makes of the same rows,
    free text with tabs, newlines and backslashes, NULLs, booleans, decimals and moments."""
    from datetime import datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from procurement.demo.bulk_writers import copy_text

    lima = ZoneInfo("America/Lima")
    at = datetime(2026, 3, 2, 9, 5, tzinfo=lima)
    last = datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=lima)
    text = "Adquisición de\tpapel\\bond\nA4\r«x»"
    tables = [
        [
            (
                1,
                "LP-SM-1-2026-X-1",
                "LP",
                1,
                1,
                "goods",
                text,
                text,
                Decimal("10.50"),
                True,
                False,
                "",
                "",
                "called",
                "",
                "",
                at,
                at,
                last,
                "150101",
                7,
                2026,
                " 43211503 44121701 ",
                text,
            ),
            (
                2,
                "AS-SM-1-2026-X-2",
                "AS",
                3,
                2,
                "works",
                "d",
                "p",
                Decimal(1000),
                False,
                True,
                text,
                "emergency",
                "draft",
                "called",
                "call",
                at,
                None,
                None,
                "150101",
                7,
                2025,
                "",
                None,
            ),
        ],  # fmt: skip
        [
            (1, 7, None, "44121", text, Decimal(5), "unit", Decimal("1.00")),
            (1, 7, 12, "44121", "x", Decimal("2500"), "box", Decimal("46000.01")),
        ],  # fmt: skip
        [(1, "call", 1, date(2026, 3, 2), date(2026, 3, 9))],
        [(1, "publish", "draft", "called", text, "", None, last)],
        [(1, "economic", "Precio", Decimal(100), 1)],
        [(1, 5, "president", at, None)],
    ]
    made = demo_processes.copy_texts(tables)
    assert [t.data for t in made] == [copy_text(rows).data for rows in tables]
    assert [t.count for t in made] == [len(rows) for rows in tables]
