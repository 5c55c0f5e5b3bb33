"""Demo selection processes: items, stage calendars and status histories, in every status.

Built as an import (no audit entries, no events), streamed in batches so a million processes
fit in bounded memory (procurement.demo.bulk_writers). The data respects the rules the
services enforce:

- processes of an entity and fiscal year are numbered per procedure type from 1, in the
  order they were created, and identified as the service does
  (procurement.models.process_identifier; a second call of a deserted process keeps its
  number and ends in `-2`);
- about two in three come from items of the plan in force (never mixing SME-reserved and
  open items; a reserved item makes the process SME-only; an item is held by one live
  process at most), the rest are outside the plan with a reason;
- the procedure type fits the year's thresholds for the object and value (direct
  contracting is rare);
- calendars and histories follow procurement.demo.process_timeline: every stage of the
  procedure type, on working days, meeting every minimum, and a path through the state
  machine that agrees with the calendar and `today`.

Red flags, on purpose (procurement.demo.risk), all by the heaviest entity (in seeds of
SPLIT_FROM processes or more): RUSHED_PROCESSES calendars are the only ones that miss a
minimum, the bid window of awarded Adjudicaciones Simplificadas (as a rushed process would
be recorded); it splits a purchase and contracts directly again and again.

This process only decides how many processes each entity makes and takes their ids; each
entity's processes are drawn from the entity's own random stream (entity_processes), so
forked workers (procurement.demo.workers) build them and their COPY text chunk by chunk,
and a seed gives the same rows however they are chunked and wherever they are built.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from accounts.models import Membership, Role
from core.codelists import ObjectType, ProcedureType, Stage
from core.models import (
    ProcedureStage,
    StageMinimum,
)
from core.workdays import WorkingCalendar

from .. import red_flags, search
from ..models import (
    CommitteeMember,
    Entity,
    EvaluationCriterion,
    PlanItem,
    PlanVersion,
    ProcessItem,
    ProcessStage,
    ProcurementProcess,
    StatusChange,
    process_identifier,
)
from ..models import ProcessStatus as S
from . import workers
from .bulk_writers import CopyText, CopyWriter, copy_sql, send_copy, writer_for_connection
from .phases import Phases
from .process_criteria import CRITERION_FIELDS, criteria_for, criterion_rows
from .process_profile import (
    LEVEL_WEIGHT,
    OUTSIDE_PLAN_REASONS,
    PLAN_SHARE,
    QUANTITIES,
    RECENT,
    SECOND_CALL_SHARE,
    STATUS_MIX,
    UNITS,
    pick,
    pick_weighted,
)
from .process_purchases import Purchases
from .process_timeline import (
    WorkingDays,
    choose,
    randint,
    replay,
    rushed_offsets,
    stage_offsets,
    stage_plan,
    status_path,
)
from .users import DEMO_ENTITIES

BATCH = 2_000  # processes per flush (a batch is written while the next is built)
# Red flags the demo shows through its data (procurement.demo.risk says which come from where).
# Rushed processes: called with a bid window below the legal minimum and awarded this many
# working days after the call.
RUSHED_PROCESSES = 3
RUSHED_AWARD_DAY = 4
# The split purchase: each part's share of the threshold it avoids (each at most 20% under
# it, together above it), called within this many working days; seeds of fewer processes
# than SPLIT_FROM have none.
SPLIT_SHARES = (Decimal("0.93"), Decimal("0.89"))
SPLIT_DAYS = 5
SPLIT_FROM = 50
# Direct contracts of that same entity in one year: as many as make them repeated.
DIRECT_CONTRACTS = red_flags.THRESHOLDS.direct_per_year
# The rushed processes are that entity's too, drawn (in these statuses, weighted as in
# STATUS_MIX) until they are Adjudicaciones Simplificadas, at most RUSH_ATTEMPTS times.
RUSHED_STATUSES = [(s, w) for s, w in STATUS_MIX if s in (S.AWARDED, S.CONSENTED, S.CONTRACTED)]
RUSHED_STATUSES = [(s, w / sum(w for _s, w in RUSHED_STATUSES)) for s, w in RUSHED_STATUSES]
RUSH_ATTEMPTS = 400
# Processes of the splitter entity made on purpose, part of its count.
SPLITTER_RESERVED = len(SPLIT_SHARES) + DIRECT_CONTRACTS + RUSHED_PROCESSES

PROCESS_FIELDS = [
    "id",
    "identifier",
    "procedure_type",
    "sequence",
    "call_number",
    "object_type",
    "description",
    "delivery_place",
    "estimated_value",
    "sme_only",
    "award_by_items",
    "outside_plan_reason",
    "direct_cause",
    "status",
    "suspended_from",
    "void_return_stage",
    "created_at",
    "published_at",
    "status_changed_at",
    "delivery_ubigeo",
    "entity",
    "fiscal_year",
    "catalog_codes",  # search.catalog_codes of the items (search.refresh writes it elsewhere)
]
ITEM_FIELDS = [
    "process",
    "entity",
    "plan_item",
    "catalog_item",
    "description",
    "quantity",
    "unit",
    "estimated_value",
]
STAGE_FIELDS = ["process", "stage", "position", "start", "end"]
COMMITTEE_FIELDS = ["process", "user", "role", "designated_at", "designated_by"]
CHANGE_FIELDS = [
    "process",
    "action",
    "from_status",
    "to_status",
    "reason",
    "return_stage",
    "actor",
    "at",
]

# The tables written, in the order of _build_chunk's rows.
TABLES = [
    (ProcurementProcess, PROCESS_FIELDS),
    (ProcessItem, ITEM_FIELDS),
    (ProcessStage, STAGE_FIELDS),
    (StatusChange, CHANGE_FIELDS),
    (EvaluationCriterion, CRITERION_FIELDS),
    (CommitteeMember, COMMITTEE_FIELDS),
]


@dataclass(slots=True)
class _Process:
    entity: "_Entity"
    year: int
    procedure_type: str
    object_type: str
    value: Decimal
    sme_only: bool
    outside_reason: str
    description: str
    place: str
    ubigeo: str
    items: list[tuple]
    stages: list[tuple[str, int, int]]  # (stage, start, end) as working-day numbers
    status: str = S.DRAFT
    suspended_from: str = ""
    void_return_stage: str = ""
    created: tuple[int, int] = (0, 0)  # (working-day number, minute of the day)
    changes: list[tuple] = field(
        default_factory=list
    )  # (action, from, to, reason, stage, day, minute)
    direct_cause: str = ""
    call_number: int = 1
    first_call: "_Process | None" = None
    sequence: int = 0
    deserted_on: int = -1
    demo: str = ""  # "opening" or "bidding": a process set up for the demo accounts
    rushed: bool = False  # a rushed calendar (ProcessBuilder._rushed_processes)


@dataclass(slots=True)
class _Entity:
    pk: int
    acronym: str
    name: str
    level: str
    ubigeo: str
    weight: float


class ProcessBuilder:
    """Creates `count` processes spread over the entities; returns the row counts."""

    def __init__(
        self,
        rng: random.Random,
        today: date,
        years: list[int],
        *,
        until: datetime,
        phases: Phases | None = None,
    ):
        self.rng = rng
        self.phases = phases or Phases()
        self.today = today
        self.until = until  # nothing happens after it
        self.years = sorted(years)
        self.lima = ZoneInfo(settings.TIME_ZONE)
        # From a month before the first fiscal year (processes are prepared before the call).
        first = date(self.years[0] - 1, 12, 1)
        last = max(date(self.years[-1], 12, 31), today)
        self.workdays = WorkingDays(
            WorkingCalendar.from_database(), first, last + timedelta(days=400)
        )
        self.T = self.workdays.on_or_before(today)  # last working day up to today
        self.U = self.workdays.on_or_after(today)  # first working day from today
        self.year_range = {
            y: (
                self.workdays.on_or_after(date(y, 1, 1)),
                self.workdays.on_or_before(date(y, 12, 31)),
            )
            for y in self.years
        }
        # Running processes were mostly called in the last weeks: their fiscal year is the
        # one of a call about 20 working days ago (the previous one in early January).
        recent = self.workdays.days[max(0, self.T - 20)].year
        self.current_year = recent if recent in self.years else self.years[-1]
        self.year_weights = [
            (y, max(0, min(hi, self.T) - lo + 1)) for y, (lo, hi) in self.year_range.items()
        ]
        self.purchases = Purchases(rng, self.years)
        self._load_reference()
        self._load_entities()
        self._load_plans()
        self._load_texts()

    # --- reference data, read once ----------------------------------------------------------

    def _load_reference(self) -> None:
        self.stage_order: dict[str, list[str]] = {}
        for procedure, stage in ProcedureStage.objects.order_by(
            "procedure_type", "position"
        ).values_list("procedure_type", "stage"):
            self.stage_order.setdefault(procedure, []).append(stage)
        self.minimums: dict[str, dict[str, list[tuple]]] = {}
        for rule in StageMinimum.objects.order_by("id"):
            self.minimums.setdefault(rule.procedure_type, {}).setdefault(rule.stage, []).append(
                (rule.edge == "end", rule.from_stage, rule.from_edge == "end", rule.working_days)
            )
        self.layouts = {
            procedure: stage_plan(order, self.minimums.get(procedure, {}))
            for procedure, order in self.stage_order.items()
        }

    def _load_entities(self) -> None:
        self.entities = []
        for pk, acronym, name, level, ubigeo in Entity.objects.order_by("ruc").values_list(
            "pk", "acronym", "name", "level", "ubigeo_id"
        ):
            weight = LEVEL_WEIGHT.get(level, 1.0)
            if acronym == "MML":
                weight = 4.0
            elif acronym.startswith("MD-"):
                weight = 0.6
            self.entities.append(_Entity(pk, acronym, name, level, ubigeo, weight))
        self._load_committees()

    def _load_committees(self) -> None:
        """Each entity's committee: its `staff.` account presides, its `staff2.` one is the
        other member (procurement.demo.users makes both for every entity)."""
        seats: dict[int, dict[str, int]] = {}
        for entity, user, email in Membership.objects.filter(
            role=Role.ENTITY_STAFF, user__email__endswith="demo.portal.pe"
        ).values_list("entity_id", "user_id", "user__email"):
            seats.setdefault(entity, {})[email.split(".", 1)[0]] = user
        self.committees = {
            entity: (seat["staff"], seat["staff2"])
            for entity, seat in seats.items()
            if "staff" in seat and "staff2" in seat
        }

    def _load_plans(self) -> None:
        """Free items of the plan in force per (entity, year), and the working day from which
        a process may use them (after that version's publication)."""
        latest: dict[tuple[int, int], tuple[int, int, date]] = {}
        versions = (
            PlanVersion.objects.in_force()
            .filter(plan__fiscal_year__in=self.years)
            .values_list("pk", "plan__entity_id", "plan__fiscal_year_id", "number", "published_at")
        )
        for pk, entity, year, number, published in versions:
            latest[(entity, year)] = (pk, number, published.astimezone(self.lima).date())
        in_force = {pk: key for key, (pk, _n, _p) in latest.items()}
        self.plan_from = {
            key: self.workdays.on_or_before(published) + 1
            for key, (_pk, _n, published) in latest.items()
        }
        self.pools: dict[tuple[int, int], list[tuple]] = {key: [] for key in latest}
        for row in (
            PlanItem.objects.filter(version_id__in=list(in_force))
            .order_by("version_id", "reference")
            .values_list(
                "version_id",
                "pk",
                "object_type",
                "catalog_item_id",
                "description",
                "quantity",
                "unit",
                "estimated_value",
                "procedure_type",
                "sme_reserved",
            )
        ):
            self.pools[in_force[row[0]]].append(row[1:])

    # --- one process ------------------------------------------------------------------------

    def _process(
        self,
        entity: _Entity,
        status: str,
        first_call: _Process | None = None,
        window=None,
        *,
        purchase: tuple[int, str, list[tuple], str] | None = None,
        rush: bool = False,
    ):
        """One process of `entity` in `status`, or None when its dates cannot fit. `window`
        (offsets -> (low, high) call days) overrides the call days status_path allows;
        `purchase` (year, object type, items, procedure type or "") buys those items outside
        the plan, by that procedure type when given; with `rush`, an awarded Adjudicación
        Simplificada gets a rushed calendar (_rushed_processes)."""
        rng = self.rng
        if first_call is not None:
            year = first_call.year
        elif purchase is not None:
            year = purchase[0]
        elif status in RECENT:
            year = self.current_year
        else:
            year = pick_weighted(rng, self.year_weights)
        pool = self.pools.get((entity.pk, year)) if first_call is None else None
        use_plan = purchase is None and bool(pool) and rng.random() < PLAN_SHARE
        for _attempt in range(2):
            if first_call is not None:
                process = _copy_for_second_call(first_call)
                plan_rows = []
            elif use_plan:
                plan_rows = self.purchases.take_plan_items(pool)
                value = sum((row[6] for row in plan_rows), Decimal(0))
                object_type = plan_rows[0][1]
                process = _Process(
                    entity=entity,
                    year=year,
                    procedure_type=self.purchases.procedure(
                        year, object_type, value, plan_rows[0][7]
                    ),
                    object_type=object_type,
                    value=value,
                    sme_only=plan_rows[0][8],
                    outside_reason="",
                    description="",
                    place="",
                    ubigeo="",
                    items=[(r[0], r[2], r[3], r[4], r[5], r[6]) for r in plan_rows],
                    stages=[],
                )
                self.purchases.describe(process, entity, plan_rows[0][3], len(plan_rows))
            else:
                plan_rows = []
                if purchase is not None:
                    object_type, items = purchase[1], purchase[2]
                else:
                    object_type, items = self.purchases.outside_items(entity, year)
                value = sum((row[5] for row in items), Decimal(0))
                process = _Process(
                    entity=entity,
                    year=year,
                    procedure_type=(purchase and purchase[3])
                    or self.purchases.procedure(year, object_type, value),
                    object_type=object_type,
                    value=value,
                    sme_only=False,
                    outside_reason=choose(rng, OUTSIDE_PLAN_REASONS),
                    description="",
                    place="",
                    ubigeo="",
                    items=items,
                    stages=[],
                )
                self.purchases.describe(process, entity, items[0][2], len(items))
            order = self.stage_order[process.procedure_type]
            offsets = stage_offsets(self.rng, self.layouts[process.procedure_type])
            events, (low, high) = status_path(self.rng, status, offsets, order, self.T, self.U)
            rushed = rush and _rushable(process, events)
            if rushed:
                offsets = rushed_offsets(offsets, order, RUSHED_AWARD_DAY)
                events, (low, high) = status_path(self.rng, status, offsets, order, self.T, self.U)
            if window is not None:
                low, high = window(offsets)
            if events:  # every action done by today
                high = min(high, self.T - max(event[0] for event in events))
            year_low, year_high = self.year_range[year]
            if low is None:
                low = year_low + 8  # created (up to 8 working days before) within the year
            if status not in RECENT:
                high = min(high, year_high)
            if first_call is not None:
                low = max(low, first_call.deserted_on + 10)
                high = min(high, first_call.deserted_on + 60)
            elif use_plan:
                low = max(low, self.plan_from[(entity.pk, year)] + 9)
            if low <= high:
                break
            if first_call is not None:
                return None
            if use_plan:  # the plan was not in force yet: give the items back
                pool.extend(plan_rows)
                use_plan = False
                continue
            low = high  # a running process whose dates spill over the fiscal year
            break
        process.rushed = rushed
        call = randint(rng, low, high)
        process.stages = [
            (stage, call + offsets[stage][0], call + offsets[stage][1]) for stage in order
        ]
        process.created = (
            min(call - randint(rng, 1, 8), self.T),
            randint(rng, 8 * 60, 17 * 60 + 30),
        )
        replay(self.rng, process, status, call, events)
        return process

    def _rushed_processes(self, entity: _Entity) -> list[_Process]:
        """RUSHED_PROCESSES Adjudicaciones Simplificadas of `entity`, called with a bid
        window shorter than the legal minimum and awarded days after the call
        (procurement.red_flags: short bid window, fast award); outside the plan, drawn until
        that many fit (fewer, rarely, after RUSH_ATTEMPTS draws)."""
        rng, made = self.rng, []
        for _attempt in range(RUSH_ATTEMPTS):
            status = pick(rng, RUSHED_STATUSES)
            year = self.current_year if status in RECENT else pick_weighted(rng, self.year_weights)
            object_type, items = self.purchases.outside_items(entity, year)
            purchase = (year, object_type, items, "")
            process = self._process(entity, status, purchase=purchase, rush=True)
            if process is not None and process.rushed:
                made.append(process)
                if len(made) == RUSHED_PROCESSES:
                    break
        return made

    def _split_purchase(self, entity: _Entity) -> list[_Process]:
        """Two processes of `entity` buying the same catalog item outside the plan, called a
        few working days apart, each valued a little under the goods threshold of a
        Licitación Pública and together above it: a purchase split to avoid the more
        competitive procedure (procurement.red_flags.split_purchase). Contracted, in the
        first fiscal year of the seed. Empty when the second call cannot come within
        SPLIT_DAYS working days of the first."""
        rng, year = self.rng, self.years[0]
        bound = min(
            (
                row.lower(self.purchases.uit_exact[year])
                for row in self.purchases.thresholds[year]
                if row.procedure_type == ProcedureType.LP and row.object_type == ObjectType.GOODS
            ),
            default=None,
        )
        if bound is None:
            return []
        code, name = choose(rng, self.purchases.codes[ObjectType.GOODS])
        made = []
        for share in SPLIT_SHARES:
            item = (
                None,
                code,
                name[:500],
                Decimal(choose(rng, QUANTITIES)),
                choose(rng, UNITS[ObjectType.GOODS]),
            )
            value = (bound * share).quantize(Decimal("0.01"))
            purchase = (year, ObjectType.GOODS, [(*item, value)], "")
            first = made[0].stages[0][1] if made else None
            window = None if first is None else (lambda _offsets, d=first: (d + 1, d + SPLIT_DAYS))
            process = self._process(entity, S.CONTRACTED, window=window, purchase=purchase)
            if process is None or (first is not None and process.stages[0][1] - first > SPLIT_DAYS):
                return []
            made.append(process)
        return made

    def _direct_contracts(self, entity: _Entity) -> list[_Process]:
        """DIRECT_CONTRACTS Contrataciones Directas of `entity` (each with its legal cause),
        contracted in the first fiscal year of the seed: the repeated direct contracting of
        procurement.red_flags.repeated_direct, which the seed's rare direct contracts reach
        only by chance."""
        year = self.years[0]
        made = []
        for _n in range(DIRECT_CONTRACTS):
            object_type, items = self.purchases.outside_items(entity, year)
            purchase = (year, object_type, items, ProcedureType.CD)
            made.append(self._process(entity, S.CONTRACTED, purchase=purchase))
        return made

    def _demo_processes(self, entity: _Entity) -> list[_Process]:
        """Two called processes of a demo entity for `make run` (procurement.demo.bids fills
        them): "opening", whose bid deadline passed yesterday or before with its opening
        due today or later (sealed bids wait for staff.<x> to start and staff2.<x> to
        confirm); "bidding", whose bid stage is open today (the demo SMEs are registered
        participants and may bid). Called by a type with an opening stage."""
        T, U = self.T, self.U

        def opening(o):
            bids_end = o[Stage.BIDS][1]
            return T - max(o.get(Stage.OPENING, (0, 0))[0], bids_end + 1), T - 1 - bids_end

        def bidding(o):
            return U - o[Stage.BIDS][1], T - o[Stage.BIDS][0]

        made = []
        for kind, window in (("opening", opening), ("bidding", bidding)):
            for _attempt in range(40):
                process = self._process(entity, S.CALLED, window=window)
                if (
                    process is not None
                    and Stage.OPENING in self.stage_order[process.procedure_type]
                ):
                    process.demo = kind
                    made.append(process)
                    break
        return made

    # --- all processes ----------------------------------------------------------------------

    def _counts(self, count: int) -> list[int]:
        weights = [e.weight for e in self.entities]
        cumulative, total = [], 0.0
        for weight in weights:
            total += weight
            cumulative.append(total)
        counts = [0] * len(self.entities)
        remaining = count
        while remaining:
            chunk = min(remaining, 100_000)
            for index in self.rng.choices(range(len(weights)), cum_weights=cumulative, k=chunk):
                counts[index] += 1
            remaining -= chunk
        return counts

    def shares(self, count: int) -> list[tuple[int, int, str]]:
        """(entity index, processes, role) per entity that has any, in the entities' order:
        what this process decides before the entities' processes are made (each from its
        own random stream, entity_processes). The role is "demo" for a demo entity (two
        processes more, _demo_processes), "splitter" for the entity that weighs most (its
        split purchase, direct contracts and rushed processes are part of its count)."""
        if not self.entities or not count:
            return []
        # The demo entities' two processes each (_demo_processes) are part of `count`, and so
        # are the split purchase, direct contracts and rushed processes of the entity that
        # weighs most (_split_purchase, _direct_contracts, _rushed_processes).
        demo = [e for e in self.entities if e.acronym in DEMO_ENTITIES]
        if count < 4 * len(demo):
            demo = []
        others = [e for e in self.entities if e not in demo]
        splitter = None
        if count >= SPLIT_FROM and others:
            splitter = max(others, key=lambda e: e.weight)  # the first of the heaviest
        reserved = 2 * len(demo) + (SPLITTER_RESERVED if splitter else 0)
        shares = []
        for index, (entity, n) in enumerate(
            zip(self.entities, self._counts(count - reserved), strict=True)
        ):
            role = "splitter" if entity is splitter else "demo" if entity in demo else ""
            n += SPLITTER_RESERVED if role == "splitter" else 2 if role == "demo" else 0
            if n:
                shares.append((index, n, role))
        return shares

    def entity_processes(self, index: int, n: int, role: str) -> list[_Process]:
        """The `n` processes of entity `index` (fewer only when a demo process cannot be
        made), numbered in the order they were created, drawn from the entity's own random
        stream (workers.chunk_stream of the builder's base and the entity's index): the same
        whichever process builds them, in whatever chunks."""
        entity = self.entities[index]
        self.rng = self.purchases.rng = workers.chunk_stream(self.stream_base, index)
        made: list[_Process] = []
        if role == "splitter":
            made.extend(self._split_purchase(entity))
            made.extend(self._direct_contracts(entity))
            made.extend(self._rushed_processes(entity))
        elif role == "demo":
            n -= 2
        while len(made) < n:
            process = self._process(entity, pick(self.rng, STATUS_MIX))
            made.append(process)
            if (
                process.status == S.DESERTED
                and len(made) < n
                and self.rng.random() < SECOND_CALL_SHARE
            ):
                for _ in range(3):
                    again = self._process(entity, pick(self.rng, STATUS_MIX), process)
                    if again is not None:
                        made.append(again)
                        break
        if role == "demo":
            made.extend(self._demo_processes(entity))
        made.sort(key=lambda p: p.created)
        numbers: dict[tuple[int, str], int] = {}
        for process in made:
            if process.first_call is not None:
                continue
            key = (process.year, process.procedure_type)
            numbers[key] = process.sequence = numbers.get(key, 0) + 1
        for process in made:
            if process.first_call is not None:
                process.sequence = process.first_call.sequence
        return made

    def _load_texts(self) -> None:
        """What rows(text=True) writes dates and moments with: each working day's date as
        COPY text, its UTC offset in Lima, and the minute of the day after which a moment
        is capped at `until` (see rows)."""
        until, lima = self.until, self.lima
        self.until_text = str(until)
        last = until.date()
        ceiling = (until.hour * 3600 + until.minute * 60 + until.second) // 60
        self.day_text, self.offset_text, self.cap = [], [], []
        for d in self.workdays.days:
            self.day_text.append(str(d))
            first = datetime(d.year, d.month, d.day, 0, 0, tzinfo=lima).utcoffset()
            end = datetime(d.year, d.month, d.day, 23, 59, tzinfo=lima).utcoffset()
            # None: the offset changes that day (not in Lima), the moment is made as a datetime
            self.offset_text.append(
                str(datetime(d.year, d.month, d.day, tzinfo=lima))[-6:] if first == end else None
            )
            self.cap.append(10_000 if d < last else ceiling if d == last else -1)

    def rows(self, process: _Process, pk: int, *, text: bool = False):
        """(process row, item rows, stage rows, status change rows, criterion rows, committee
        rows) in the *_FIELDS order; with `text`, dates and moments are their COPY text (as
        str() writes them, which is psycopg's text too)."""
        days, lima, until = self.workdays.days, self.lima, self.until

        def at(day: int, minute: int) -> datetime:
            # A time drawn for today may lie ahead of the seed: it then happened just now
            # (capping keeps the order, ties fall back on the row order).
            d = days[day]
            return min(
                datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=lima), until
            )

        moment = at
        if text:
            day_text, offset_text, cap, until_text = (
                self.day_text,
                self.offset_text,
                self.cap,
                self.until_text,
            )

            def moment(day: int, minute: int) -> str:  # the same moment, as text
                if minute > cap[day]:
                    return until_text
                offset = offset_text[day]
                if offset is None:
                    return str(at(day, minute))
                return f"{day_text[day]} {minute // 60:02}:{minute % 60:02}:00{offset}"

        entity = process.entity
        changes = [
            (pk, action, before, after, reason, back, None, moment(day, minute))
            for action, before, after, reason, back, day, minute in process.changes
        ]
        published = changes[0][7] if changes else None
        # The last change's moment, as StatusChange.save would store it (the moments, capped
        # or not, follow the order of the (day, minute) they were drawn for).
        last = moment(*max((c[5], c[6]) for c in process.changes)) if process.changes else None
        identifier = process_identifier(
            procedure_type=process.procedure_type,
            sequence=process.sequence,
            year=process.year,
            entity_acronym=entity.acronym,
            call_number=process.call_number,
        )
        by_items, table = criteria_for(
            identifier, process.procedure_type, process.object_type, len(process.items)
        )
        row = (
            pk,
            identifier,
            process.procedure_type,
            process.sequence,
            process.call_number,
            process.object_type,
            process.description,
            process.place,
            process.value,
            process.sme_only,
            by_items,
            process.outside_reason,
            process.direct_cause,
            process.status,
            process.suspended_from,
            process.void_return_stage,
            moment(*process.created),
            published,
            last,
            process.ubigeo,
            entity.pk,
            process.year,
            search.catalog_codes(item[1] for item in process.items),
        )
        items = [(pk, entity.pk, *item) for item in process.items]
        dates = self.day_text if text else days
        stages = [
            (pk, stage, position, dates[start], dates[end])
            for position, (stage, start, end) in enumerate(process.stages, start=1)
        ]
        # The committee is designated when the process is prepared, before its call (the
        # service refuses the call without one); drafts get one too, so staff can call them.
        committee = []
        if entity.pk in self.committees:
            president, member = self.committees[entity.pk]
            designated = row[PROCESS_FIELDS.index("created_at")]
            committee = [
                (pk, president, CommitteeMember.Role.PRESIDENT.value, designated, None),
                (pk, member, CommitteeMember.Role.MEMBER.value, designated, None),
            ]
        if process.demo:
            self._chunk_demo[pk] = process.demo
        return row, items, stages, changes, criterion_rows(pk, table), committee

    def build(self, count: int) -> tuple[int, int, int, int, int]:
        """Create `count` processes; returns (processes, items, stages, status changes,
        evaluation criteria); the committee members are counted in self.committee_members.

        This process decides how many each entity makes (shares) and takes their ids; the
        entities' processes and rows are made chunk by chunk (entities whole, about BATCH
        processes a chunk) by forked worker processes (procurement.demo.workers; here on
        SQLite), as COPY text this process sends: the process rows through a staging table,
        written once each with their search vectors."""
        writer = writer_for_connection()
        copying = isinstance(writer, CopyWriter)
        shares = self.shares(count)
        self.stream_base = self.rng.getrandbits(64)  # each entity's stream (entity_processes)
        ids = writer.allocate(sum(n for _i, n, _r in shares)) if shares else []
        chunks, chunk, size, taken = [], [], 0, 0
        for index, n, role in shares:
            chunk.append((index, n, role, ids[taken : taken + n]))
            taken += n
            size += n
            if size >= BATCH:
                chunks.append(chunk)
                chunk, size = [], 0
        if chunk:
            chunks.append(chunk)
        self.totals = [0, 0, 0, 0, 0, 0]
        self.demo_processes: dict[int, str] = {}  # pk -> "opening" | "bidding"
        self._staging = _create_staging() if copying else ""
        self._writer = writer
        self._sql = [
            copy_sql(self._staging, [*_columns(ProcurementProcess, PROCESS_FIELDS), "items_text"])
            if copying
            else "",
            *(
                copy_sql(model._meta.db_table, _columns(model, fields))
                for model, fields in TABLES[1:]
            ),
        ]
        self._load_sql = _load_staged_sql(self._staging) if copying else ""
        workers.run_chunks(
            chunks,
            lambda chunk: chunk,
            self._build_chunk,
            self._write,
            parallel=copying and workers.parallel_available(),
        )
        if copying:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {self._staging}")
        self.committee_members = self.totals[5]
        return tuple(self.totals[:5])

    def _build_chunk(self, _index: int, chunk) -> tuple[list, dict[int, str]]:
        """The rows of a chunk's entities (in a worker process or this one): per table, COPY
        text in a worker, tuples here; and the chunk's demo processes."""
        self._chunk_demo: dict[int, str] = {}
        tables: list[list[tuple]] = [[], [], [], [], [], []]
        staging = bool(self._staging)
        for index, n, role, ids in chunk:
            made = self.entity_processes(index, n, role)
            for process, pk in zip(made, ids, strict=False):
                row, items, stages, changes, criteria, committee = self.rows(
                    process, pk, text=staging
                )
                if staging:  # the items' text of the search vector (search.ITEMS_TEXT_SQL)
                    row = (*row, " ".join(item[4] for item in items) if items else None)
                tables[0].append(row)
                tables[1].extend(items)
                tables[2].extend(stages)
                tables[3].extend(changes)
                tables[4].extend(criteria)
                tables[5].extend(committee)
        if staging:
            tables = copy_texts(tables)
        return tables, self._chunk_demo

    def _write(self, built: tuple[list, dict[int, str]]) -> None:
        tables, demo = built
        self.demo_processes.update(demo)
        for index, rows in enumerate(tables):
            self.totals[index] += len(rows)
        with self.phases.phase("  of which writing process rows"):
            if not self._staging:
                for (model, fields), rows in zip(TABLES, tables, strict=True):
                    self._writer.write(model, fields, rows)
                with self.phases.phase("  of which search vectors"):
                    search.refresh([row[0] for row in tables[0]])
                return
            raw = self._writer.raw
            for sql, rows in zip(self._sql, tables, strict=True):
                send_copy(raw, sql, rows)
            with raw.cursor() as cursor:
                cursor.execute(self._load_sql)
                cursor.execute(f"TRUNCATE {self._staging}")


# COPY's text format, written out for these tables' rows (bulk_writers.copy_text adapts each
# value through psycopg, several times slower): the same bytes, which a test checks.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _free(text: str) -> str:
    """Free text escaped for COPY (backslash, tab, newline, carriage return)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


def _null(value):
    return _NULL if value is None else value


def _process_line(r) -> str:
    return (
        f"{r[0]}\t{_free(r[1])}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{_free(r[6])}\t{_free(r[7])}\t"
        f"{r[8]}\t{'t' if r[9] else 'f'}\t{'t' if r[10] else 'f'}\t{_free(r[11])}\t{r[12]}\t"
        f"{r[13]}\t{r[14]}\t{r[15]}\t{r[16]}\t{_null(r[17])}\t{_null(r[18])}\t{r[19]}\t{r[20]}\t"
        f"{r[21]}\t{_free(r[22])}\t{_NULL if r[23] is None else _free(r[23])}\n"
    )


# _process_line writes PROCESS_FIELDS in order, then the items' text of the search vector.
assert len(PROCESS_FIELDS) == 23, "a process field was added: write it in _process_line"


def _item_line(r) -> str:
    return f"{r[0]}\t{r[1]}\t{_null(r[2])}\t{r[3]}\t{_free(r[4])}\t{r[5]}\t{r[6]}\t{r[7]}\n"


def _stage_line(r) -> str:
    return f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\n"


def _change_line(r) -> str:
    return f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{_free(r[4])}\t{r[5]}\t{_null(r[6])}\t{r[7]}\n"


def _criterion_line(r) -> str:
    return f"{r[0]}\t{r[1]}\t{_free(r[2])}\t{r[3]}\t{r[4]}\n"


def _committee_line(r) -> str:
    return f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{_null(r[4])}\n"


_LINES = (_process_line, _item_line, _stage_line, _change_line, _criterion_line, _committee_line)


def copy_texts(tables: list[list[tuple]]) -> list[CopyText]:
    """The COPY text of _build_chunk's tables (the process rows with their items' text)."""
    return [
        CopyText("".join(map(line, rows)).encode(), len(rows))
        for line, rows in zip(_LINES, tables, strict=True)
    ]


def _columns(model, fields: list[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in fields]


def _create_staging() -> str:
    """PostgreSQL: a temporary table (dropped at the end) with the seeded columns of
    processes and their items' text, into which each batch's process rows are copied;
    _load_staged_sql then writes each row once, with its search vector, instead of writing
    it and rewriting it for the vector (an UPDATE leaves a dead copy of every row behind)."""
    staging = "demo_process_rows"
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in _columns(ProcurementProcess, PROCESS_FIELDS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS SELECT {columns} "  # noqa: S608 - names from metadata
            f"FROM {quote(ProcurementProcess._meta.db_table)} WITH NO DATA"
        )
        cursor.execute(f"ALTER TABLE {staging} ADD COLUMN items_text text")
    return staging


def _load_staged_sql(staging: str) -> str:
    """Move the staged process rows into the process table, in id order, each with the search
    vector procurement.search.vector_sql makes of its description, items (their text, joined
    as search.ITEMS_TEXT_SQL joins them, staged with the row) and entity; then empty the
    staging table for the next batch."""
    quote = connection.ops.quote_name
    columns = [quote(c) for c in _columns(ProcurementProcess, PROCESS_FIELDS)]
    vector = search.vector_sql("s.description", "s.items_text", "e.name", "e.acronym")
    return (
        f"INSERT INTO {quote(ProcurementProcess._meta.db_table)} "  # noqa: S608 - names from metadata
        f"({', '.join(columns)}, {quote(ProcurementProcess._meta.get_field('search_vector').column)}) "
        f"SELECT {', '.join('s.' + c for c in columns)}, {vector} "
        f"FROM {staging} AS s JOIN {quote(Entity._meta.db_table)} AS e ON e.id = s.entity_id "
        "ORDER BY s.id"
    )


def _rushable(process: _Process, events: list[tuple]) -> bool:
    """Whether `process` may be rushed: an Adjudicación Simplificada that gets awarded."""
    return process.procedure_type == ProcedureType.AS and any(
        event[1] == "award" for event in events
    )


def _copy_for_second_call(first: _Process) -> _Process:
    """The second call of a deserted process: same number, items and procedure."""
    return _Process(
        entity=first.entity,
        year=first.year,
        procedure_type=first.procedure_type,
        object_type=first.object_type,
        value=first.value,
        sme_only=first.sme_only,
        outside_reason=first.outside_reason,
        description=first.description,
        place=first.place,
        ubigeo=first.ubigeo,
        items=first.items,
        stages=[],
        direct_cause=first.direct_cause,
        call_number=first.call_number + 1,
        first_call=first,
    )
