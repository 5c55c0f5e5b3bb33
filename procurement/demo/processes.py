"""Demo selection processes: items, stage calendars and status histories, in every status.

Built as an import (no audit entries, no events), streamed in batches so a million processes
fit in bounded memory: rows are plain tuples written with COPY on PostgreSQL and batched
INSERTs elsewhere. The data respects the rules the services enforce:

- processes of an entity and fiscal year are numbered per procedure type from 1, in the
  order they were created (`LP-SM-3-2026-MINSA-1`; a second call of a deserted process
  keeps its number and ends in `-2`);
- about two in three come from items of the plan in force (never mixing SME-reserved and
  open items; a reserved item makes the process SME-only; an item is held by one live
  process at most), the rest are outside the plan with a reason;
- the procedure type fits the year's thresholds for the object and value (direct
  contracting is rare);
- calendars have the stages of the procedure type (core.ProcedureStage), on working days,
  in order, meeting every core.StageMinimum;
- the status agrees with the calendar and `today`, and the history is a path through
  procurement.state_machine.TRANSITIONS that respects each transition's calendar edge.

Dates are worked out on working-day numbers (one WorkingCalendar, consulted once per day
of the period), which keeps a million calendars cheap.
"""

import random
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from core.codelists import DirectCause, ObjectType, ProcedureType, Stage
from core.models import (
    CatalogItem,
    District,
    FiscalYear,
    ProcedureStage,
    ProcedureThreshold,
    StageMinimum,
)
from core.workdays import WorkingCalendar

from ..models import (
    Entity,
    PlanItem,
    PlanVersion,
    ProcessItem,
    ProcessStage,
    ProcurementProcess,
    StatusChange,
)
from ..models import ProcessStatus as S
from ..rules import procedures_for
from ..state_machine import TRANSITIONS
from .names import SME_FAMILIES

BATCH = 10_000  # processes per flush
STATUS_MIX = [(S.DRAFT, 0.03), (S.CALLED, 0.25), (S.SUSPENDED, 0.02), (S.AWARDED, 0.10),
              (S.CONSENTED, 0.10), (S.CONTRACTED, 0.35), (S.DESERTED, 0.07),
              (S.CANCELLED, 0.05), (S.VOID, 0.03)]  # fmt: skip
# Statuses that only exist near `today` (the process is still running).
RECENT = {S.DRAFT, S.CALLED, S.SUSPENDED, S.AWARDED, S.CONSENTED}
PLAN_SHARE = 0.65  # processes that come from the plan while it has free items
DIRECT_SHARE = 0.03  # direct contracting (CD), with a legal cause
SECOND_CALL_SHARE = 0.3  # deserted processes called again
OBJECT_MIX = [(ObjectType.GOODS, 0.5), (ObjectType.SERVICES, 0.35), (ObjectType.WORKS, 0.1),
              (ObjectType.CONSULTING_WORKS, 0.05)]  # fmt: skip
LEVEL_WEIGHT = {"national": 6.0, "regional": 3.0, "local": 1.2}
SCALE = {"national": 3.0, "regional": 1.5, "local": 0.6}
UNITS = {
    ObjectType.GOODS: ["unidad", "caja", "paquete", "kit", "millar", "juego"],
    ObjectType.SERVICES: ["servicio"],
    ObjectType.WORKS: ["obra"],
    ObjectType.CONSULTING_WORKS: ["servicio"],
}
QUANTITIES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2500]

# How each stage is laid out, in working days: (anchor, gap range, duration range). The
# anchor is the call's start ("call") or the previous stage's end ("end"); registration runs
# beside the other stages until the day before the bid deadline. These are typical lengths,
# not the legal minimums: those come from core.StageMinimum and are applied on top.
LAYOUT = {
    Stage.CALL: ("call", (0, 0), (0, 0)),
    Stage.REGISTRATION: ("call", (1, 1), None),
    Stage.QUESTIONS: ("call", (1, 1), (4, 9)),
    Stage.ANSWERS: ("end", (1, 3), (0, 2)),
    Stage.INTEGRATION: ("end", (1, 2), (0, 1)),
    Stage.BIDS: ("end", (1, 2), (0, 4)),
    Stage.OPENING: ("end", (0, 1), (0, 0)),
    Stage.EVALUATION: ("end", (0, 1), (1, 6)),
    Stage.AWARD: ("end", (1, 2), (0, 0)),
    Stage.STANDSTILL: ("end", (1, 1), (0, 0)),
    Stage.CONTRACT: ("end", (1, 3), (3, 10)),
}
DEFAULT_LAYOUT = ("end", (1, 2), (0, 3))

OUTSIDE_PLAN_REASONS = [
    "Necesidad sobrevenida no prevista en el PAC; se incluirá en la próxima modificación.",
    "Atención de la situación de emergencia por lluvias intensas declarada por D.S.",
    "Reposición de bienes siniestrados requerida con urgencia por el área usuaria.",
    "Transferencia de partidas recibida después de aprobado el PAC.",
    "Cumplimiento de una sentencia judicial que ordena la prestación.",
]
# Legal causes of direct contracting (Ley 30225, art. 27): weight, words for the description.
DIRECT_CAUSES = [
    (DirectCause.EMERGENCY, 0.30, "situación de emergencia"),
    (DirectCause.SOLE_PROVIDER, 0.20, "proveedor único"),
    (DirectCause.SHORTAGE, 0.15, "desabastecimiento inminente"),
    (DirectCause.BETWEEN_ENTITIES, 0.15, "convenio entre entidades públicas"),
    (DirectCause.PERSONAL_SERVICES, 0.10, "servicios personalísimos"),
    (DirectCause.LEGAL_COUNSEL, 0.05, "patrocinio legal de funcionarios"),
    (DirectCause.RESEARCH, 0.05, "investigación científica"),
]
REASONS = {
    "suspend_award": [
        "Recurso de apelación interpuesto por un postor contra el otorgamiento de la buena pro.",
        "Recurso de apelación contra la descalificación de una oferta.",
        "Recurso de apelación contra la evaluación y calificación de las ofertas.",
    ],
    "suspend_call": [
        "Recurso de apelación contra actos dictados durante el procedimiento de selección.",
        "Medida cautelar dictada por el Tribunal de Contrataciones del Estado.",
    ],
    "resume": [
        "Recurso declarado infundado por el Tribunal de Contrataciones del Estado.",
        "Recurso declarado improcedente.",
        "Desistimiento del impugnante.",
    ],
    "desert": [
        "No se presentaron ofertas.",
        "Ninguna oferta cumplió los requisitos de admisión.",
        "Ninguna oferta alcanzó el puntaje técnico mínimo.",
        "Las ofertas superan el valor estimado y no se obtuvo ampliación presupuestal.",
    ],
    "cancel": [
        "Desaparición de la necesidad del área usuaria.",
        "Recorte presupuestal dispuesto por la Ley de Presupuesto.",
        "Reprogramación de la contratación por causa de fuerza mayor.",
        "La necesidad será atendida mediante una compra corporativa.",
    ],
    "annul": [
        "Nulidad de oficio: las bases contravienen el principio de transparencia.",
        "Nulidad de oficio: el requerimiento contiene especificaciones que direccionan la contratación.",
        "Nulidad declarada por el Tribunal de Contrataciones del Estado.",
        "Vicios en la evaluación y calificación de las ofertas.",
    ],
}
DESCRIPTIONS = {
    ObjectType.GOODS: ["Adquisición de {x}", "Suministro de {x}", "Adquisición de {x} para la {a}"],
    ObjectType.SERVICES: ["Contratación del servicio de {x}", "Servicio de {x} para la {a}"],
    ObjectType.WORKS: ["Ejecución de la obra: {x} en el distrito de {d}"],
    ObjectType.CONSULTING_WORKS: [
        "Consultoría de obra para la elaboración del expediente técnico: {x}",
        "Supervisión de obra: {x} en el distrito de {d}",
    ],
}

PROCESS_FIELDS = ["id", "identifier", "procedure_type", "sequence", "call_number", "object_type",
                  "description", "delivery_place", "estimated_value", "sme_only",
                  "outside_plan_reason", "direct_cause", "status", "suspended_from", "void_return_stage",
                  "created_at", "published_at", "delivery_ubigeo", "entity", "fiscal_year"]  # fmt: skip
ITEM_FIELDS = ["process", "entity", "plan_item", "catalog_item", "description", "quantity", "unit",
               "estimated_value"]  # fmt: skip
STAGE_FIELDS = ["process", "stage", "position", "start", "end"]
CHANGE_FIELDS = ["process", "action", "from_status", "to_status", "reason", "return_stage",
                 "actor", "at"]  # fmt: skip


def _pick(rng: random.Random, weighted):
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].islower():
        return text[0].lower() + text[1:]
    return text


class WorkingDays:
    """The working days of a period numbered 0, 1, 2...: a term of n working days after day
    number i ends on day number i + n, so calendars are integer arithmetic."""

    def __init__(self, calendar: WorkingCalendar, first: date, last: date):
        self.first = first
        self.days: list[date] = []
        self.upto: list[int] = []  # working days on or before each calendar day of the period
        day = first
        while day <= last:
            if calendar.is_working_day(day):
                self.days.append(day)
            self.upto.append(len(self.days))
            day += timedelta(days=1)

    def on_or_before(self, day: date) -> int:
        return self.upto[(day - self.first).days] - 1

    def on_or_after(self, day: date) -> int:
        return bisect_left(self.days, day)


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

    def __init__(self, rng: random.Random, today: date, years: list[int]):
        self.rng = rng
        self.today = today
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
        self._load_reference()
        self._load_entities()
        self._load_plans()

    # --- reference data, read once ----------------------------------------------------------

    def _load_reference(self) -> None:
        self.thresholds = {
            y: list(ProcedureThreshold.objects.filter(fiscal_year_id=y).order_by("id"))
            for y in self.years
        }
        uit = dict(FiscalYear.objects.filter(year__in=self.years).values_list("year", "uit"))
        self.floor = {y: float(uit[y]) * 8 * 1.01 for y in self.years}  # above 8 UIT
        self.uit = {y: float(uit[y]) for y in self.years}
        self.uit_exact = {y: uit[y] for y in self.years}
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
        commodities = CatalogItem.objects.filter(level="commodity").order_by("code")
        families: dict[str, list[tuple[str, str]]] = {}
        for code, name in commodities.filter(sme_suppliable=True).values_list("code", "name_es"):
            families.setdefault(code[:4], []).append((code, name))
        self.codes = {
            ObjectType.GOODS: [c for f in SME_FAMILIES if int(f[:2]) < 70 for c in families.get(f, [])],
            ObjectType.SERVICES: [
                c for f in SME_FAMILIES if int(f[:2]) >= 70 for c in families.get(f, [])
            ],
            ObjectType.WORKS: list(commodities.filter(code__startswith="7213").values_list("code", "name_es")),
            ObjectType.CONSULTING_WORKS: list(
                commodities.filter(code__startswith="8110").values_list("code", "name_es")
            ),
        }  # fmt: skip
        # Specialised goods SMEs rarely supply (outside the 40% base).
        self.special_goods = list(
            commodities.filter(sme_suppliable=False, code__lt="7").values_list("code", "name_es")
        )
        districts = list(
            District.objects.order_by("code").values_list("code", "name", "province__name")
        )
        self.district = {code: (name, province) for code, name, province in districts}
        self.all_districts = [code for code, _n, _p in districts]
        self.by_department: dict[str, list[str]] = {}
        for code in self.all_districts:
            self.by_department.setdefault(code[:2], []).append(code)

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

    def _procedure(self, year: int, object_type: str, value: Decimal, planned: str = "") -> str:
        rng = self.rng
        options = procedures_for(self.thresholds[year], object_type, value, self.uit_exact[year])
        if ProcedureType.CD in options and rng.random() < DIRECT_SHARE:
            return ProcedureType.CD
        options = [p for p in options if p != ProcedureType.CD]
        if planned in options and rng.random() < 0.85:
            return planned
        if "COMPRE" in options and rng.random() < 0.5:
            return "COMPRE"
        if "SCI" in options and rng.random() < 0.3:
            return "SCI"
        if "SIE" in options and rng.random() < (0.2 if object_type == ObjectType.GOODS else 0.05):
            return "SIE"
        main = [p for p in options if p in ("LP", "CP", "AS")] or options
        return main[0] if main else ProcedureType.CD

    def _take_plan_items(self, pool: list[tuple]) -> list[tuple]:
        rng = self.rng
        first = pool.pop(rng.randrange(len(pool)))
        chosen = [first]
        while pool and rng.random() < 0.3 and len(chosen) < 4:
            same = [i for i, row in enumerate(pool) if row[1] == first[1] and row[8] == first[8]]
            if not same:
                break
            chosen.append(pool.pop(rng.choice(same)))
        return chosen

    def _outside_items(self, entity: _Entity, year: int) -> tuple[str, list[tuple]]:
        rng = self.rng
        object_type = _pick(rng, OBJECT_MIX)
        count = 1 if object_type in (ObjectType.WORKS, ObjectType.CONSULTING_WORKS) else (
            _pick(rng, [(1, 0.7), (2, 0.2), (3, 0.1)])
        )  # fmt: skip
        low, high = {
            ObjectType.GOODS: (46_000, 900_000),
            ObjectType.SERVICES: (46_000, 700_000),
            ObjectType.WORKS: (300_000, 9_000_000),
            ObjectType.CONSULTING_WORKS: (60_000, 600_000),
        }[object_type]
        scale = SCALE.get(entity.level, 1.0)
        items = []
        for _ in range(count):
            if object_type == ObjectType.GOODS and self.special_goods and rng.random() < 0.1:
                code, name = rng.choice(self.special_goods)
            else:
                code, name = rng.choice(self.codes[object_type])
            if rng.random() < 0.3 and object_type != ObjectType.WORKS:
                value = rng.uniform(self.floor[year], 40 * self.uit[year])  # small purchases
            else:
                value = max(self.floor[year], rng.random() ** 2.2 * (high - low) * scale + low)
            quantity = rng.choice(QUANTITIES) if object_type == ObjectType.GOODS else 1
            items.append(
                (
                    None,
                    code,
                    name[:500],
                    Decimal(quantity),
                    rng.choice(UNITS[object_type]),
                    Decimal(f"{value:.2f}"),
                )
            )
        return object_type, items

    def _shape(self, procedure_type: str) -> dict[str, tuple[int, int]]:
        """Stage offsets from the call's start, in working days, every minimum met."""
        rng = self.rng
        rules = self.minimums.get(procedure_type, {})
        offsets: dict[str, tuple[int, int]] = {}
        previous_start = previous_end = 0
        registration = None
        for stage in self.stage_order[procedure_type]:
            anchor, gap, duration = LAYOUT.get(stage, DEFAULT_LAYOUT)
            base = 0 if anchor == "call" else previous_end
            start = max(base + rng.randint(*gap), previous_start)
            if duration is None:  # registration: its end is set once the bids are laid out
                offsets[stage] = (start, start)
                registration = stage
                previous_start = start
                continue
            end = start + rng.randint(*duration)
            for at_end, origin, origin_end, days in rules.get(stage, ()):
                if origin not in offsets or (origin == registration and origin_end):
                    continue
                floor = offsets[origin][origin_end] + days
                if at_end:
                    end = max(end, floor)
                else:
                    start = max(start, floor)
                    end = max(end, start)
            offsets[stage] = (start, end)
            previous_start, previous_end = start, end
        if registration:
            start = offsets[registration][0]
            close = offsets[Stage.BIDS][1] - 1 if Stage.BIDS in offsets else start + 5
            end = max(start, close)
            for at_end, origin, origin_end, days in rules.get(registration, ()):
                if origin in offsets and at_end:
                    end = max(end, offsets[origin][origin_end] + days)
            offsets[registration] = (start, end)
        return offsets

    def _history(self, status: str, o: dict[str, tuple[int, int]], order: list[str]):
        """The actions leading to `status` as (offset, action, reason, return stage), and the
        range of call days (absolute working-day numbers, None: unbounded) that agrees with
        today. Offsets count working days from the call's start."""
        rng, T, U = self.rng, self.T, self.U
        award, award_end = o[Stage.AWARD]
        bids_end = o[Stage.BIDS][1]
        standstill = o[Stage.STANDSTILL][1] if Stage.STANDSTILL in o else None
        contract_start, contract_end = o[Stage.CONTRACT]
        a = award + rng.randint(0, award_end - award)
        k = (standstill if standstill is not None else a) + 1 + rng.choice((0, 0, 0, 1, 2))
        publish = (0, "publish", "", "")

        def reason(kind):
            return rng.choice(REASONS[kind])

        if status == S.DRAFT:
            return [], (U, U + 15)
        if status == S.CALLED:
            events = [publish]
            if award >= 3 and rng.random() < 0.06:  # an appeal came and went
                s = rng.randint(1, award - 2)
                r = rng.randint(s + 1, award - 1)
                events += [(s, "suspend", reason("suspend_call"), ""),
                           (r, "resume", reason("resume"), "")]  # fmt: skip
                return events, (T - award + 1, T - r)
            if rng.random() < 0.85:
                return events, (T - award + 1, T)
            return events, (T - award - 30, T - award)  # late: award day passed
        if status == S.SUSPENDED:
            if rng.random() < 0.7:
                s = rng.randint(a + 1, standstill if standstill is not None else a + 5)
                events = [
                    publish,
                    (a, "award", "", ""),
                    (s, "suspend", reason("suspend_award"), ""),
                ]
            else:
                s = rng.randint(1, max(1, award - 1))
                events = [publish, (s, "suspend", reason("suspend_call"), "")]
            return events, (T - s - 25, T - s)
        if status == S.AWARDED:
            events = [publish, (a, "award", "", "")]
            if standstill is None:
                return events, (T - a - 5, T - a)
            if rng.random() < 0.8:
                return events, (U - standstill, T - a)  # standstill still running
            return events, (U - standstill - 25, U - standstill - 1)
        if status in (S.CONSENTED, S.CONTRACTED):
            events = [publish, (a, "award", "", "")]
            if standstill is not None and rng.random() < 0.08:  # appeal against the award
                s = rng.randint(a + 1, standstill)
                r = s + rng.randint(5, 20)
                events += [(s, "suspend", reason("suspend_award"), ""),
                           (r, "resume", reason("resume"), "")]  # fmt: skip
                k = max(k, r + 1)
            events.append((k, "consent", "", ""))
            if status == S.CONSENTED:
                if rng.random() < 0.8:
                    return events, (U - contract_end, T - k)  # contract being signed
                return events, (U - contract_end - 30, U - contract_end - 1)
            q = max(k, contract_start)
            q += rng.randint(0, max(0, contract_end - q))
            events.append((q, "contract", "", ""))
            return events, (None, T - q)
        if status == S.DESERTED:
            d = rng.randint(bids_end + 1, max(bids_end + 1, award))
            return [publish, (d, "desert", reason("desert"), "")], (None, T - d)
        if status == S.CANCELLED:
            x = rng.randint(1, max(1, award - 1))
            events = [publish]
            if x >= 3 and rng.random() < 0.15:  # cancelled while an appeal ran
                events.append((rng.randint(1, x - 1), "suspend", reason("suspend_call"), ""))
            events.append((x, "cancel", reason("cancel"), ""))
            return events, (None, T - x)
        # S.VOID
        roll = rng.random()
        if roll < 0.4:
            x = rng.randint(1, max(1, award - 1))
            events = [publish]
            reached = x
        else:
            events = [publish, (a, "award", "", "")]
            reached = a
            if roll < 0.8 or standstill is None:
                x = a + rng.randint(1, 5)
            else:
                events.append((k, "consent", "", ""))
                x = k + rng.randint(0, 3)
        candidates = [
            s for s in order if o[s][0] <= reached and s not in (Stage.STANDSTILL, Stage.CONTRACT)
        ]
        back = rng.choice(candidates) if candidates else order[0]
        events.append((x, "annul", reason("annul"), back))
        return events, (None, T - x)

    def _describe(self, process: _Process, entity: _Entity, first_name: str, items: int) -> None:
        rng = self.rng
        object_type = process.object_type
        ubigeo = entity.ubigeo
        if object_type in (ObjectType.WORKS, ObjectType.CONSULTING_WORKS):
            if entity.level == "national" and rng.random() < 0.6:
                ubigeo = rng.choice(self.all_districts)
            elif rng.random() < 0.6:
                ubigeo = rng.choice(self.by_department[entity.ubigeo[:2]])
        district, province = self.district[ubigeo]
        name = _lower_first(first_name)
        template = rng.choice(DESCRIPTIONS[object_type])
        if name.startswith("servicio"):  # "servicios de limpieza" reads without a prefix
            template = "Contratación de {x}"
        text = template.format(x=name, a=entity.acronym, d=district)
        if items > 1:
            text += f" y otros ({items} ítems)"
        if process.procedure_type == ProcedureType.CD:
            cause, words = _pick(rng, [((c, words), w) for c, w, words in DIRECT_CAUSES])
            process.direct_cause = cause
            text += f" (contratación directa por {words})"
        process.description = text[:500]
        process.ubigeo = ubigeo
        if object_type == ObjectType.GOODS:
            place = f"Almacén central de la {entity.acronym}, {district}, {province}"
        elif object_type == ObjectType.SERVICES:
            place = f"Sede institucional de la {entity.acronym}, {district}, {province}"
        else:
            place = f"Distrito de {district}, provincia de {province}"
        process.place = place[:255]

    def _process(self, entity: _Entity, status: str, first_call: _Process | None = None):
        """One process of `entity` in `status`, or None when its dates cannot fit."""
        rng = self.rng
        if first_call is not None:
            year = first_call.year
        elif status in RECENT:
            year = self.current_year
        else:
            year = _pick_weighted(rng, self.year_weights)
        pool = self.pools.get((entity.pk, year)) if first_call is None else None
        use_plan = bool(pool) and rng.random() < PLAN_SHARE
        for _attempt in range(2):
            if first_call is not None:
                process = _copy_for_second_call(first_call)
                plan_rows = []
            elif use_plan:
                plan_rows = self._take_plan_items(pool)
                value = sum((row[6] for row in plan_rows), Decimal(0))
                object_type = plan_rows[0][1]
                process = _Process(
                    entity=entity,
                    year=year,
                    procedure_type=self._procedure(year, object_type, value, plan_rows[0][7]),
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
                self._describe(process, entity, plan_rows[0][3], len(plan_rows))
            else:
                plan_rows = []
                object_type, items = self._outside_items(entity, year)
                value = sum((row[5] for row in items), Decimal(0))
                process = _Process(
                    entity=entity,
                    year=year,
                    procedure_type=self._procedure(year, object_type, value),
                    object_type=object_type,
                    value=value,
                    sme_only=False,
                    outside_reason=rng.choice(OUTSIDE_PLAN_REASONS),
                    description="",
                    place="",
                    ubigeo="",
                    items=items,
                    stages=[],
                )
                self._describe(process, entity, items[0][2], len(items))
            order = self.stage_order[process.procedure_type]
            offsets = self._shape(process.procedure_type)
            events, (low, high) = self._history(status, offsets, order)
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
        call = rng.randint(low, high)
        process.stages = [
            (stage, call + offsets[stage][0], call + offsets[stage][1]) for stage in order
        ]
        process.created = (
            min(call - rng.randint(1, 8), self.T),
            rng.randint(8 * 60, 17 * 60 + 30),
        )  # fmt: skip
        self._replay(process, status, call, events)
        return process

    def _replay(self, process: _Process, status: str, call: int, events: list[tuple]) -> None:
        """Walk the state machine along `events`, timing each action on its working day."""
        rng = self.rng
        current, suspended_from = S.DRAFT, ""
        day, minute = process.created
        for offset, action, reason, back in events:
            rule = TRANSITIONS[action]
            refused = getattr(rule, "refused_if_suspended_from", ())
            if current not in rule.sources or (
                current == S.SUSPENDED and suspended_from in refused
            ):
                raise AssertionError(f"demo history: {action} from {current} {suspended_from}")
            target = rule.target or suspended_from
            when = call + offset
            if when == day:
                minute = min(minute + rng.randint(5, 120), 23 * 60 + 58)
            else:
                day, minute = when, rng.randint(8 * 60, 18 * 60)
            process.changes.append((action, current, target, reason, back, day, minute))
            suspended_from = current if action == "suspend" else ""
            current = target
            if action == "desert":
                process.deserted_on = day
        if current != status:
            raise AssertionError(f"demo history ends in {current}, not {status}")
        process.status = status
        process.suspended_from = suspended_from
        if status == S.VOID:
            process.void_return_stage = events[-1][3]

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

    def processes(self, count: int) -> Iterator[_Process]:
        """Processes entity by entity, each entity's numbered in the order they were created."""
        if not self.entities or not count:
            return
        for entity, n in zip(self.entities, self._counts(count), strict=True):
            made: list[_Process] = []
            while len(made) < n:
                process = self._process(entity, _pick(self.rng, STATUS_MIX))
                made.append(process)
                if (
                    process.status == S.DESERTED
                    and len(made) < n
                    and self.rng.random() < SECOND_CALL_SHARE
                ):
                    for _ in range(3):
                        again = self._process(entity, _pick(self.rng, STATUS_MIX), process)
                        if again is not None:
                            made.append(again)
                            break
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
            yield from made

    def rows(self, process: _Process, pk: int):
        """(process row, item rows, stage rows, status change rows) in the *_FIELDS order."""
        days, lima = self.workdays.days, self.lima

        def moment(day: int, minute: int) -> datetime:
            d = days[day]
            return datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=lima)

        entity = process.entity
        changes = [
            (pk, action, before, after, reason, back, None, moment(day, minute))
            for action, before, after, reason, back, day, minute in process.changes
        ]
        published = changes[0][7] if changes else None
        identifier = (
            f"{process.procedure_type}-SM-{process.sequence}-{process.year}-"
            f"{entity.acronym}-{process.call_number}"
        )
        row = (
            pk, identifier, process.procedure_type, process.sequence, process.call_number,
            process.object_type, process.description, process.place, process.value,
            process.sme_only, process.outside_reason, process.direct_cause, process.status,
            process.suspended_from,
            process.void_return_stage, moment(*process.created), published, process.ubigeo,
            entity.pk, process.year,
        )  # fmt: skip
        items = [(pk, entity.pk, *item) for item in process.items]
        stages = [
            (pk, stage, position, days[start], days[end])
            for position, (stage, start, end) in enumerate(process.stages, start=1)
        ]
        return row, items, stages, changes

    def build(self, count: int) -> tuple[int, int, int, int]:
        """Create `count` processes; returns (processes, items, stages, status changes)."""
        writer = _CopyWriter() if connection.vendor == "postgresql" else _InsertWriter()
        totals = [0, 0, 0, 0]
        batch: list[_Process] = []

        def flush():
            ids = writer.allocate(len(batch))
            tables: list[list[tuple]] = [[], [], [], []]
            for process, pk in zip(batch, ids, strict=True):
                row, items, stages, changes = self.rows(process, pk)
                tables[0].append(row)
                tables[1].extend(items)
                tables[2].extend(stages)
                tables[3].extend(changes)
            for index, (model, fields) in enumerate(
                [
                    (ProcurementProcess, PROCESS_FIELDS),
                    (ProcessItem, ITEM_FIELDS),
                    (ProcessStage, STAGE_FIELDS),
                    (StatusChange, CHANGE_FIELDS),
                ]
            ):
                writer.write(model, fields, tables[index])
                totals[index] += len(tables[index])
            batch.clear()

        for process in self.processes(count):
            batch.append(process)
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
        return totals[0], totals[1], totals[2], totals[3]


def _pick_weighted(rng: random.Random, weighted: list[tuple[int, int]]) -> int:
    total = sum(w for _v, w in weighted)
    if not total:
        return weighted[-1][0]
    roll = rng.random() * total
    for value, weight in weighted:
        roll -= weight
        if roll < 0:
            return value
    return weighted[-1][0]


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


# --- writers ---------------------------------------------------------------------------------


def _columns(model, fields: list[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in fields]


class _CopyWriter:
    """PostgreSQL: ids from the table's sequence, rows through COPY (psycopg 3)."""

    def __init__(self):
        table = ProcurementProcess._meta.db_table
        with connection.cursor() as cursor:
            self.raw = cursor.connection  # the psycopg 3 connection, in Django's transaction
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            self.sequence = cursor.fetchone()[0]

    def allocate(self, count: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self.sequence, count]
            )
            return [row[0] for row in cursor.fetchall()]

    def write(self, model, fields: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        columns = ", ".join(quote(c) for c in _columns(model, fields))
        sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


class _InsertWriter:
    """Other databases (the embedded SQLite): ids after the current maximum, batched INSERTs
    with each value prepared by its model field (no model instances, no auto_now)."""

    def __init__(self):
        last = ProcurementProcess.objects.order_by("-pk").values_list("pk", flat=True).first()
        self.next = (last or 0) + 1

    def allocate(self, count: int) -> list[int]:
        ids = list(range(self.next, self.next + count))
        self.next += count
        return ids

    def write(self, model, fields: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        model_fields = [model._meta.get_field(name) for name in fields]
        columns = ", ".join(quote(c) for c in _columns(model, fields))
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608 - names from model metadata
        prepared = [
            [f.get_db_prep_save(v, connection) for f, v in zip(model_fields, row, strict=True)]
            for row in rows
        ]
        with connection.cursor() as cursor:
            for start in range(0, len(prepared), 1000):
                cursor.executemany(sql, prepared[start : start + 1000])
