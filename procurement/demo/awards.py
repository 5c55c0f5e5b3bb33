"""Demo evaluations, awards, appeals, consents and contracts (issue 10), read off each
process's seeded history (procurement.demo.process_timeline) and its opening
(procurement.demo.bids), so that the records agree with the status changes:

- a process that was awarded ("award") or deserted ("desert") after its completed opening
  has the published evaluation table (version 1, started after the opening, published
  before the decision, by the committee's president): each valid opened bid in each lot
  (the whole process, or each item it priced when the process is awarded by items),
  admissible or not with the reason, a score per technical criterion, the economic score,
  bonus, total and rank computed by procurement.services.evaluation.score_lot (the one
  scoring rule), the qualification of the best ranked (about one in twenty fails it, with
  the reason, and the next one qualifies); Contratación Directa has no table (the award
  records the invited supplier's offer);
- the award of each lot at the "award" change: the qualified bid, its price, the winner's
  size classes as the supplier's classification gives them (kept, never recomputed), the
  standstill of procedure type (procurement.rules); consented on the day of the "consent"
  change; lots nobody made admissible or priced are deserted with the reason; a deserted
  process has every lot deserted (without a table when no bid was opened);
- an appeal where the history suspends an awarded process: filed by another bidder at the
  suspension, resolved (unfounded or inadmissible) at the resumption by the entity's head
  or, above the threshold, the national tribunal (never a committee member); still open
  when the process is suspended now. A founded appeal changes the history itself: the
  resumption becomes "reevaluate" and a second table (version 2, with the reason) and a new
  award follow before the consent (StatusChange rows rewritten here, before the audit);
- a contract per granted lot of a contracted process, signed on the "contract" day, for the
  award's amount, the guarantee a retention only for an SME winner of goods or services
  (procurement.services.contracts.RETENTION_OBJECT_TYPES), some amendments (some above 25%),
  and, by the seed's moment, completed or terminated ones with an after-sales evaluation.

The evaluation PDF is generated for the processes that get document files
(procurement.demo.documents.has_files); a published table needs its document (a database
constraint), so the others point at one shared PDF that says the table is on the process's
page (one file, stored once). Rows are written with COPY (PostgreSQL) or batched INSERTs,
ids taken ahead.
"""

import functools
import hashlib
import json
import re
import time as time_module
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import translation

from accounts.models import Membership, Role
from core import pdf as core_pdf
from core.codelists import ObjectType
from core.models import FiscalYear
from core.workdays import calendar as working_calendar
from suppliers.models import Supplier

from ..models import (
    Appeal,
    Award,
    BidOpening,
    CommitteeMember,
    Contract,
    ContractAmendment,
    CriterionKind,
    Entity,
    Evaluation,
    EvaluationCriterion,
    EvaluationEntry,
    OpenedBid,
    OpenedBidLine,
    OpenedBidMember,
    ProcessDocument,
    ProcessItem,
    ProcurementProcess,
    Qualification,
    StatusChange,
    SupplierEvaluation,
    TechnicalScore,
)
from ..models.contracts import AMENDMENT_MARK_PERCENT
from ..models.processes import refresh_status_changed_at
from ..rules import (
    APPEAL_RESOLUTION_WORKING_DAYS,
    STANDSTILL_WORKING_DAYS,
    local_bonus_applies,
    standstill_end,
    tribunal_resolves,
)
from ..services.criteria import LOWEST_PRICE_TYPES, NO_EVALUATION_TYPES
from ..services.evaluation import Candidate, bonus_rate, score_lot
from . import workers
from .bids import _Ids
from .bulk_writers import CopyText, copy_text, writer_for_connection
from .documents import DOCUMENT_FIELDS, DocumentBuilder, has_files

CHUNK = 2_000
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SME = ("micro", "small")
RETENTION_OBJECTS = (ObjectType.GOODS, ObjectType.SERVICES)
FOUNDED_SHARE = 0.35  # of the resolved appeals, where a second award fits before the consent

INADMISSIBLE = [
    "No acreditó la experiencia mínima exigida en las bases.",
    "La oferta no incluye la declaración jurada de cumplimiento de especificaciones técnicas.",
    "El plazo de entrega ofertado excede el máximo de las bases.",
    "La garantía comercial ofertada es menor a la requerida.",
    "Omitió la promesa formal de consorcio legalizada.",
]
QUALIFICATION_FAILED = [
    "No acreditó la capacidad legal: la vigencia de poder del representante está vencida.",
    "No acreditó la experiencia del postor en la especialidad.",
    "No presentó el equipamiento estratégico requerido.",
]
DESERTED_NONE_ADMISSIBLE = "Ninguna oferta fue admitida en la evaluación."
DESERTED_NOT_PRICED = "Ninguna oferta cotizó este ítem."
DESERTED_NO_BIDS = "No se presentaron ofertas."
APPEAL_REASONS = [
    "La evaluación no aplicó correctamente el factor de experiencia del postor.",
    "Se admitió la oferta ganadora pese a no cumplir las especificaciones técnicas.",
    "El puntaje técnico asignado a nuestra oferta no corresponde a lo acreditado.",
]
UNFOUNDED = "Infundado: la evaluación se ajustó a las bases integradas."
INADMISSIBLE_APPEAL = (
    "Improcedente: el recurso se interpuso sin cumplir los requisitos de admisibilidad."
)
FOUNDED = "Fundado: se retrotrae el procedimiento a la evaluación de ofertas."
REEVALUATION_REASON = "Nueva evaluación por recurso de apelación declarado fundado."
AMENDMENT_REASONS = {
    ContractAmendment.Kind.ADDITIONAL: [
        "Prestaciones adicionales por mayores metrados.",
        "Ampliación del alcance por necesidad sobreviniente.",
    ],
    ContractAmendment.Kind.REDUCTION: [
        "Reducción de prestaciones por menor demanda.",
        "Reducción por cambio en la programación de entregas.",
    ],
}
TERMINATIONS = {
    Contract.Party.ENTITY: "Resolución por incumplimiento injustificado de obligaciones.",
    Contract.Party.SUPPLIER: "Resolución por falta de pago de la entidad.",
}
EVALUATION_COMMENTS = ["", "Cumplió con lo pactado.", "Entregas con observaciones subsanadas."]

DOCUMENT_ROW = ["id", *DOCUMENT_FIELDS]
EVALUATION_FIELDS = [
    "id", "process", "opening", "version", "reason", "status", "bonus_rate", "created_at",
    "created_by", "published_at", "published_by", "document",
]  # fmt: skip
ENTRY_FIELDS = [
    "id", "evaluation", "opened_bid", "item", "price", "admissible", "inadmissible_reason",
    "technical_score", "economic_score", "bonus", "total", "rank", "sme", "local_sme",
    "size_classes",
]  # fmt: skip
SCORE_FIELDS = ["entry", "criterion", "score"]
QUALIFICATION_FIELDS = ["entry", "passed", "reason", "decided_at", "decided_by"]
AWARD_FIELDS = [
    "id", "process", "item", "evaluation", "status", "reason", "entry", "opened_bid",
    "supplier", "amount", "winner_sme", "winner_size_classes", "decided_at", "decided_by",
    "standstill_days", "standstill_ends", "consented_on", "revoked_at",
]  # fmt: skip
APPEAL_FIELDS = [
    "process", "award", "subject", "entry", "supplier", "reasons", "fee_amount", "status",
    "resolver", "filed_at", "filed_by", "due_on", "resolution", "admitted_at", "resolved_at",
    "resolved_by",
]  # fmt: skip
CONTRACT_FIELDS = [
    "id", "award", "process", "item", "entity", "supplier", "number", "signed_on", "amount",
    "term_days", "winner_sme", "size_class", "size_classes", "guarantee", "status",
    "terminated_by", "ended_on", "end_reason", "final_amount", "created_at", "created_by",
]  # fmt: skip
AMENDMENT_FIELDS = [
    "contract", "kind", "amount", "percentage", "cumulative_percentage", "above_limit",
    "reason", "signed_on", "created_at", "created_by",
]  # fmt: skip
SUPPLIER_EVALUATION_FIELDS = [
    "contract", "on_time", "quality", "penalties", "comment", "evaluated_at", "evaluated_by",
]  # fmt: skip
CHANGE_FIELDS = [
    "process", "action", "from_status", "to_status", "reason", "return_stage", "at", "actor",
]  # fmt: skip


@dataclass
class AwardReport:
    evaluations: int = 0
    entries: int = 0
    awards: int = 0
    deserted_lots: int = 0
    consented: int = 0
    appeals: int = 0
    founded: int = 0
    contracts: int = 0
    amendments: int = 0
    supplier_evaluations: int = 0
    evaluation_pdfs: int = 0
    seconds: float = 0.0


def _rows(rows):
    """Rows built as lists (completed later) as tuples; COPY text as it is."""
    return rows if isinstance(rows, CopyText) else [tuple(row) for row in rows]


_LAST_ID = 2**63 - 1  # the upper bound of the last chunk's range (bigint ids)
# Sentinels the queries are compiled with once, replaced by each chunk's range.
_FIRST_MARK, _LAST_MARK = -7_000_000_001, -7_000_000_002


def _reads(first: int, last: int) -> dict:
    """What the awards read of the earlier parts' rows, for the processes with ids from
    `first` to `last`, each ordered as the awards need (order_by() where they need no order:
    the models' default orderings join the process or the user, and sort); only the columns
    used."""
    processes = {"process_id__gte": first, "process_id__lte": last}
    bids, opened = (
        Q(),
        Q(
            opened_bid__opening__process_id__gte=first,
            opened_bid__opening__process_id__lte=last,
            opened_bid__status=OpenedBid.Status.VALID,
        ),
    )
    if connection.vendor == "postgresql":
        # The ids of the range's openings, then of their valid bids, as arrays computed once
        # (index scans): joined instead, the planner scans the whole tables of bids, lines
        # and members for each chunk while they are below a few hundred thousand rows.
        quote = connection.ops.quote_name
        openings = (
            f"ARRAY(SELECT id FROM {quote(BidOpening._meta.db_table)} "  # noqa: S608 - a model's table
            "WHERE process_id >= %s AND process_id <= %s)"
        )
        valid = (
            f"ARRAY(SELECT id FROM {quote(OpenedBid._meta.db_table)} "  # noqa: S608 - a model's table
            f"WHERE status = %s AND opening_id = ANY({openings}))"
        )
        bids = RawSQL(  # noqa: S611 - model tables and placeholders
            f"{quote(OpenedBid._meta.db_table)}.opening_id = ANY({openings})",
            [first, last],
            output_field=BooleanField(),
        )
        opened = Q(
            RawSQL(  # noqa: S611 - model tables and placeholders
                f"opened_bid_id = ANY({valid})",
                [OpenedBid.Status.VALID, first, last],
                output_field=BooleanField(),
            )
        )
    return {
        "processes": ProcurementProcess.objects.filter(pk__gte=first, pk__lte=last)
        .order_by("pk")
        .values_list(
            "pk",
            "identifier",
            "status",
            "procedure_type",
            "award_by_items",
            "object_type",
            "entity_id",
            "estimated_value",
            "fiscal_year_id",
            "description",
        ),  # fmt: skip
        "changes": StatusChange.objects.filter(**processes)
        .order_by("at", "pk")
        .values_list("process_id", "pk", "at", "action", "reason"),
        "openings": BidOpening.objects.filter(**processes, status=BidOpening.Status.COMPLETED)
        .order_by()
        .values_list("process_id", "pk", "confirmed_at"),
        "bids": OpenedBid.objects.filter(
            bids,
            opening__process_id__gte=first,
            opening__process_id__lte=last,
            status=OpenedBid.Status.VALID,
        )
        .order_by("position", "pk")
        .values_list(
            "opening__process_id", "pk", "position", "received_at", "lead_supplier_id", "total"
        ),
        "lines": OpenedBidLine.objects.filter(opened)
        .order_by()
        .values_list("opened_bid_id", "item_id", "line_total"),
        "members": OpenedBidMember.objects.filter(opened)
        .order_by("-is_lead", "pk")
        .values_list("opened_bid_id", "supplier_id"),
        "items": ProcessItem.objects.filter(**processes)
        .order_by("pk")
        .values_list("process_id", "pk", "description"),
        "criteria": EvaluationCriterion.objects.filter(**processes)
        .order_by("position")
        .values_list("process_id", "pk", "kind", "weight"),
        "committees": CommitteeMember.objects.filter(**processes)
        .order_by()
        .values_list("process_id", "role", "user_id"),
    }


def _reserve(tables: dict[str, bytes]) -> dict:
    """Ids for a chunk, reserved here (the seed's process, chunk by chunk in order) from each
    table's sequence, as many as the chunk could need at most: a chunk's ids then follow
    from the seed alone, whichever worker builds it and whenever. Counted from the rows
    read: a process has at most two tables (a founded appeal's second one), each with one
    entry per bid (per priced line when awarded by items), and one award per lot plus the
    second award; a contract per granted lot."""
    processes, bids, lines, items = (
        tables[name].count(b"\n") for name in ("processes", "bids", "lines", "items")
    )
    needs = {
        ProcessDocument: 2 * processes,
        Evaluation: 2 * processes,
        EvaluationEntry: 2 * bids + lines,
        Award: items + 2 * processes,
        Contract: items + 2 * processes,
    }
    columns = ", ".join(
        ["setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s)"]
        * len(needs)
    )
    params = []
    for model, count in needs.items():
        params += [model._meta.db_table, model._meta.db_table, count]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}", params)  # noqa: S608 - placeholders only
        lasts = cursor.fetchone()
    # nextval + count: the count ids from nextval on are the chunk's, the last one is unused.
    return {
        model: (last - count, count)
        for (model, count), last in zip(needs.items(), lasts, strict=True)
    }


class _Reserved:
    """A chunk's reserved ids of one table (_reserve), handed out in order."""

    def __init__(self, first: int, count: int):
        self.next, self.end = first, first + count

    def take(self, count: int) -> list[int]:
        if self.next + count > self.end:
            raise RuntimeError("a chunk needs more ids than _reserve counted")
        ids = list(range(self.next, self.next + count))
        self.next += count
        return ids


class _CopyRead:
    """One of _reads as COPY text (PostgreSQL), compiled once with sentinel bounds that each
    chunk's range replaces: the rows as the server sends them, for the builder to parse."""

    def __init__(self, queryset):
        sql, self.params = queryset.query.sql_with_params()
        self.sql = f"COPY ({sql}) TO STDOUT"

    def text(self, first: int, last: int) -> bytes:
        bounds = {_FIRST_MARK: first, _LAST_MARK: last}
        params = [bounds.get(param, param) for param in self.params]
        with connection.cursor() as cursor, cursor.cursor.copy(self.sql, params) as copy:
            return b"".join(copy)


_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPED = re.compile(r"\\(.)")


def _text(value: str) -> str:
    """A text field of COPY's text format, unescaped."""
    if "\\" not in value:
        return value
    return _ESCAPED.sub(lambda match: _ESCAPES.get(match[1], match[1]), value)


def _null(convert):
    return lambda value: None if value == "\\N" else convert(value)


def _boolean(value: str) -> bool:
    return value == "t"


# Each read's columns from COPY text to what the ORM gives (an aware datetime: the text
# carries its offset); None: text that is never escaped (codes, identifiers), kept as it is.
_moment, _int, _decimal = datetime.fromisoformat, int, Decimal
_CONVERTERS = {
    "processes": (_int, None, None, None, _boolean, None, _int, _decimal, _int, _text),
    "changes": (_int, _int, _moment, None, _text),
    "openings": (_int, _int, _null(_moment)),
    "bids": (_int, _int, _int, _moment, _null(_int), _null(_decimal)),
    "lines": (_int, _int, _decimal),
    "members": (_int, _int),
    "items": (_int, _int, _text),
    "criteria": (_int, _int, None, _decimal),
    "committees": (_int, None, _int),
}


def _parsed(data, converters) -> list[tuple]:
    """Rows of COPY text (bytes) as tuples of Python values, converted column by column
    (map: a loop in C); rows (SQLite) as they are."""
    if not isinstance(data, bytes):
        return data
    lines = data.decode().split("\n")
    lines.pop()  # after the last newline
    if not lines:
        return []
    columns = zip(*[line.split("\t") for line in lines], strict=True)
    return list(
        zip(
            *[
                column if convert is None else list(map(convert, column))
                for convert, column in zip(converters, columns, strict=True)
            ],
            strict=True,
        )
    )


@functools.cache
def shared_table_pdf() -> bytes:
    """The one PDF the evaluation tables of the processes without document files share."""
    return core_pdf.document(
        "Cuadro de evaluación",
        [
            "Cuadro de evaluación de demostración generado por seed_demo.",
            "El detalle (ofertas, puntajes y orden de prelación) está en la página de "
            "evaluación del proceso.",
        ],
        title="Cuadro de evaluación",
    )


def _cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class _Out:
    def __init__(self):
        self.documents, self.evaluations, self.entries, self.scores = [], [], [], []
        self.qualifications, self.awards, self.appeals, self.contracts = [], [], [], []
        self.amendments, self.supplier_evaluations = [], []
        self.changes, self.dropped_changes = [], []

    def as_copy_text(self) -> None:
        """The new tables' rows as COPY text (in a worker: the seed's connection sends it);
        the status changes stay rows (their processes are refreshed after the write)."""
        for name in (
            "documents", "evaluations", "entries", "scores", "qualifications", "awards",
            "appeals", "contracts", "amendments", "supplier_evaluations",
        ):  # fmt: skip
            setattr(self, name, copy_text([tuple(row) for row in getattr(self, name)]))


class AwardBuilder:
    def __init__(self, rng, today: date, *, until: datetime, files_for_first: int):
        self.rng = rng
        self.today = today
        self.until = until
        self.files_for_first = files_for_first
        self.lima = ZoneInfo(settings.TIME_ZONE)
        self.report = AwardReport()
        self.documents = DocumentBuilder(today, files_for_first=files_for_first)
        self.ids = {
            model: _Ids(model)
            for model in (ProcessDocument, Evaluation, EvaluationEntry, Award, Contract)
        }
        self.json = connection.vendor == "postgresql"  # COPY takes the JSON as text
        self.calendar = working_calendar()
        self._ends: dict[tuple[str, date], date] = {}

    # --- what is loaded once ---------------------------------------------------------------

    def _load(self) -> None:
        self.suppliers = {
            pk: (ruc, size, domicile[:2])
            for pk, ruc, size, domicile in Supplier.objects.values_list(
                "pk", "ruc", "size_class", "domicile_id"
            )
        }
        self.supplier_users: dict[int, int] = {}
        for supplier, user in (
            Membership.objects.filter(role=Role.SUPPLIER_USER, supplier__isnull=False)
            .order_by("pk")
            .values_list("supplier_id", "user_id")
        ):
            self.supplier_users.setdefault(supplier, user)
        self.entities = {
            pk: (acronym, ubigeo[:2], name, ruc)
            for pk, acronym, ubigeo, name, ruc in Entity.objects.values_list(
                "pk", "acronym", "ubigeo_id", "name", "ruc"
            )
        }
        self.heads = dict(
            Membership.objects.filter(role=Role.ENTITY_HEAD).values_list("entity_id", "user_id")
        )
        self.tribunal = (
            Membership.objects.filter(role=Role.TRIBUNAL)
            .order_by("pk")
            .values_list("user_id", flat=True)
            .first()
        )
        self.uit = dict(FiscalYear.objects.values_list("pk", "uit"))
        self.rate = bonus_rate()
        shared = shared_table_pdf()
        self.shared_sha = hashlib.sha256(shared).hexdigest()
        self.shared_pdf = (shared, self.shared_sha, None)

    def _json(self, value: dict):
        return json.dumps(value) if self.json else value

    def _standstill_end(self, procedure: str, day: date) -> date | None:
        """rules.standstill_end, memoised: many awards share a type and a day."""
        key = (procedure, day)
        if key not in self._ends:
            self._ends[key] = standstill_end(procedure, day, self.calendar)
        return self._ends[key]

    def _local(self, moment: datetime) -> date:
        return moment.astimezone(self.lima).date()

    # --- chunk by chunk ----------------------------------------------------------------------

    def build(self) -> AwardReport:
        began = time_module.monotonic()
        self._load()
        self.writer = writer_for_connection()
        self.stream_base = self.rng.getrandbits(64)  # each chunk's stream (workers.chunk_stream)
        self.copy = connection.vendor == "postgresql"
        if self.copy:
            marked = _reads(_FIRST_MARK, _LAST_MARK).items()
            self.reads = {name: _CopyRead(queryset) for name, queryset in marked}
        with translation.override(settings.LANGUAGE_CODE or "es"):
            workers.run_chunks(
                self._chunks(),
                self._read,
                self._build_chunk,
                self._write,
                parallel=workers.parallel_available(),
            )
        self.report.seconds = time_module.monotonic() - began
        return self.report

    def _chunks(self):
        """(position of its first process, first id, first id of the next chunk or None):
        the processes in id order, CHUNK at a time; one query for the boundaries."""
        table = connection.ops.quote_name(ProcurementProcess._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM {table}) "  # noqa: S608 - a model's table
                f"AS numbered WHERE (n - 1) % {int(CHUNK)} = 0 ORDER BY id"
            )
            starts = [row[0] for row in cursor.fetchall()]
        for number, first in enumerate(starts):
            following = starts[number + 1] if number + 1 < len(starts) else None
            yield number * CHUNK, first, following

    def _read(self, chunk):
        """What the chunk's awards read, by the chunk's range of process ids (one index scan
        per table): on PostgreSQL each table's rows as COPY text, which this process (the
        seed's serial part) passes on as it comes and the builder parses (_inputs); elsewhere
        the rows themselves."""
        position, first, following = chunk
        last = following - 1 if following is not None else _LAST_ID
        if not self.copy:
            return position, {name: list(rows) for name, rows in _reads(first, last).items()}, None
        tables = {name: read.text(first, last) for name, read in self.reads.items()}
        return position, tables, _reserve(tables)

    def _inputs(self, read):
        """The chunk's awarded or deserted processes, each with what its awards read."""
        position, tables, reserved = read
        if reserved is not None:
            self.ids = {model: _Reserved(*ids) for model, ids in reserved.items()}
        rows = {name: _parsed(tables[name], _CONVERTERS[name]) for name in tables}
        changes: dict[int, list] = {}
        for pk, change_id, at, action, reason in rows["changes"]:
            changes.setdefault(pk, []).append((at, action, reason, change_id))
        decided = {
            pk for pk, rows_ in changes.items() if any(c[1] in ("award", "desert") for c in rows_)
        }
        chunk = []
        for offset, process in enumerate(rows["processes"]):
            if process[0] in decided:
                entity = self.entities[process[6]]
                chunk.append((position + offset, (*process, entity[2], entity[3])))
        if not chunk:
            return None
        openings = {pk: (opening, confirmed) for pk, opening, confirmed in rows["openings"]}
        bids: dict[int, list] = {}
        for opened in rows["bids"]:
            if opened[0] in decided:
                bids.setdefault(opened[0], []).append([*opened[1:], {}, []])
        by_id = {bid[0]: bid for listed in bids.values() for bid in listed}
        for bid, item, line_total in rows["lines"]:
            if bid in by_id:
                by_id[bid][5][item] = line_total
        for bid, supplier in rows["members"]:
            if bid in by_id:
                by_id[bid][6].append(supplier)
        items: dict[int, list] = {}
        for pk, item, description in rows["items"]:
            if pk in decided:
                items.setdefault(pk, []).append((item, description))
        criteria: dict[int, list] = {}
        for pk, criterion, kind, weight in rows["criteria"]:
            if pk in decided:
                criteria.setdefault(pk, []).append((criterion, kind, weight))
        committees: dict[int, dict] = {}
        for pk, role, user in rows["committees"]:
            if pk in decided:
                committees.setdefault(pk, {})[role] = user
        changes = {pk: listed for pk, listed in changes.items() if pk in decided}
        return chunk, changes, openings, bids, items, criteria, committees

    def _build_chunk(self, index: int, read) -> tuple["_Out", AwardReport] | None:
        """The chunk's rows and counts (in a worker process or this one)."""
        inputs = self._inputs(read)
        if inputs is None:
            return None
        chunk, changes, openings, bids, items, criteria, committees = inputs
        self.rng = workers.chunk_stream(self.stream_base, index)
        report, self.report = self.report, AwardReport()
        try:
            out = _Out()
            for position, row in chunk:
                pk = row[0]
                self._process(
                    out,
                    position,
                    row,
                    changes[pk],
                    openings.get(pk),
                    bids.get(pk, []),
                    items.get(pk, []),
                    criteria.get(pk, []),
                    committees.get(pk, {}),
                )
            if workers.in_worker():
                out.as_copy_text()
            return out, self.report
        finally:
            self.report = report

    # --- one process ------------------------------------------------------------------------

    def _process(self, out, position, row, changes, opening, bids, items, criteria, committee):
        (pk, identifier, status, procedure, by_items, object_type, entity_id, value, year,
         description, entity_name, entity_ruc) = row  # fmt: skip
        president = committee.get("president")
        if president is None:
            return
        rng = self.rng
        awarded = next((c for c in changes if c[1] == "award"), None)
        deserted = next((c for c in changes if c[1] == "desert"), None)
        decision = awarded or deserted
        lots = [(item, d) for item, d in items] if by_items else [(None, "")]
        if opening is None or not bids:
            if deserted is not None:  # deserted with no bid opened: every lot, no table,
                reason = deserted[2] or DESERTED_NO_BIDS  # for the reason the history gives
                for item, _d in lots:
                    self._deserted(out, pk, item, None, reason, deserted[0], president)
            return
        opening_id, confirmed = opening
        if confirmed >= decision[0]:
            return
        files = has_files(position, identifier, self.files_for_first)
        if procedure in NO_EVALUATION_TYPES:
            if awarded is None:
                for item, _d in lots:
                    self._deserted(out, pk, item, None, DESERTED_NONE_ADMISSIBLE, deserted[0],
                                   president)  # fmt: skip
                return
            bid = bids[0]
            granted = []
            for item, _d in lots:
                price = bid[4] if item is None else bid[5].get(item)
                if price is None:
                    self._deserted(out, pk, item, None, DESERTED_NOT_PRICED, awarded[0], president)
                    continue
                granted.append(
                    self._grant(out, row, item, None, None, bid, price, awarded[0], president)
                )
            self._after_award(out, row, granted, changes, president, None)
            return
        span = decision[0] - confirmed
        started = confirmed + span * 0.2
        published = confirmed + span * 0.8
        # The bid that stands (an awarded process has one), the others judged as they come.
        standing = rng.randrange(len(bids)) if awarded is not None else None
        verdicts = {}
        for index, bid in enumerate(bids):
            if index == standing or (awarded is not None and rng.random() >= 0.12):
                verdicts[bid[0]] = ""
            else:
                verdicts[bid[0]] = rng.choice(INADMISSIBLE)
        technical = [
            (c, w) for c, kind, w in criteria if kind == CriterionKind.TECHNICAL
        ] if procedure not in LOWEST_PRICE_TYPES else []  # fmt: skip
        economic = sum((w for _c, kind, w in criteria if kind == CriterionKind.ECONOMIC), Decimal())
        economic = economic or HUNDRED
        marks = {
            bid[0]: [(c, _cents(w * Decimal(rng.randint(55, 100)) / HUNDRED)) for c, w in technical]
            for bid in bids
        }
        evaluation_id, tables = self._table(
            out, row, opening_id, 1, "", bids, lots, verdicts, marks, economic, started,
            published, president, committee.get("member", president), files,
        )  # fmt: skip
        granted = []
        for item, table in tables:
            best = [e for e in table if e[2] is not None]
            if awarded is None or not best:
                reason = DESERTED_NONE_ADMISSIBLE if table else DESERTED_NOT_PRICED
                self._deserted(out, pk, item, evaluation_id, reason, decision[0], president)
                continue
            best.sort(key=lambda e: e[2])
            winner = best[0]
            qualified_at = published + (decision[0] - published) / 3
            if len(best) > 1 and rng.random() < 0.05:  # the first fails, the next qualifies
                out.qualifications.append(
                    (winner[0], False, rng.choice(QUALIFICATION_FAILED), qualified_at, president)
                )
                winner = best[1]
            out.qualifications.append((winner[0], True, "", qualified_at, president))
            granted.append(
                self._grant(
                    out,
                    row,
                    item,
                    evaluation_id,
                    winner[0],
                    winner[1],
                    winner[3],
                    awarded[0],
                    president,
                )  # fmt: skip
            )
        if awarded is not None:
            evaluated = (bids, committee, economic, files, marks, opening_id)
            self._after_award(out, row, granted, changes, president, evaluated)

    def _table(self, out, row, opening_id, version, reason, bids, lots, verdicts, marks,
               economic, started, published, president, member, files):  # fmt: skip
        """Write one published evaluation table; returns its id and, per lot, its entries
        as (entry id, bid, rank or None, price)."""
        (pk, identifier, _status, procedure, _by_items, _object, entity_id, _value, _year,
         description, entity_name, entity_ruc) = row  # fmt: skip
        [evaluation_id] = self.ids[Evaluation].take(1)
        department = self.entities[entity_id][1]
        lowest_wins = procedure in LOWEST_PRICE_TYPES
        tables, lines = [], []
        for item, item_description in lots:
            priced = [
                (bid, bid[4] if item is None else bid[5].get(item))
                for bid in bids
                if (bid[4] if item is None else bid[5].get(item))
            ]
            entry_ids = self.ids[EvaluationEntry].take(len(priced))
            candidates, facts = [], {}
            for entry_id, (bid, price) in zip(entry_ids, priced, strict=True):
                members = bid[6] or [bid[3]]
                classes = {self.suppliers[s][0]: self.suppliers[s][1] for s in members}
                sme = all(self.suppliers[s][1] in SME for s in members)
                local = local_bonus_applies(
                    department, sme, {self.suppliers[s][2] for s in members}
                )
                facts[entry_id] = (bid, price, classes, sme, local)
                candidates.append(
                    Candidate(
                        key=entry_id,
                        admissible=not verdicts[bid[0]],
                        price=price,
                        technical=sum((m for _c, m in marks[bid[0]]), Decimal()),
                        sme=sme,
                        local_sme=local,
                        received_at=bid[2],
                        position=bid[1],
                    )
                )
            scores = score_lot(
                candidates,
                economic_weight=economic,
                bonus_rate=self.rate,
                lowest_price_wins=lowest_wins,
            )
            table = []
            lines.append("")
            lines.append(f"Ítem: {item_description}" if item else "Todo el proceso")
            if not priced:
                lines.append("   Ninguna oferta cotizó este lote.")
            for entry_id in entry_ids:
                bid, price, classes, sme, local = facts[entry_id]
                score = scores[entry_id]
                admissible = score.rank is not None
                out.entries.append(
                    (
                        entry_id,
                        evaluation_id,
                        bid[0],
                        item,
                        price,
                        admissible,
                        verdicts[bid[0]],
                        score.technical if admissible else None,
                        score.economic if admissible else None,
                        score.bonus if admissible else None,
                        score.total if admissible else None,
                        score.rank,
                        sme,
                        local,
                        self._json(classes),
                    )  # fmt: skip
                )
                if admissible:
                    for criterion, mark in marks[bid[0]]:
                        out.scores.append((entry_id, criterion, mark))
                table.append((entry_id, bid, score.rank, price))
                lines.append(f"{bid[1]}. RUC {self.suppliers[bid[3]][0]}: S/ {price}")
                lines.append(
                    f"   Total {score.total}, orden {score.rank}"
                    if admissible
                    else f"   No admitida: {verdicts[bid[0]]}"
                )
            self.report.entries += len(entry_ids)
            tables.append((item, table))
        title = f"Cuadro de evaluación v{version} {identifier}"[:200]
        if files:
            heading = [
                f"Cuadro de evaluación, versión {version}.",
                f"Proceso: {identifier} — {description}",
                f"Entidad: {entity_name} (RUC {entity_ruc})",
            ]
            if reason:
                heading.append(f"Motivo de esta versión: {reason}")
            content = core_pdf.document(title, heading + lines)
            sha256 = hashlib.sha256(content).hexdigest()
            self.report.evaluation_pdfs += 1
        else:
            content, sha256, _none = self.shared_pdf
        name = self.documents.store(content, sha256)
        [document_id] = self.ids[ProcessDocument].take(1)
        out.documents.append(
            (
                document_id,
                pk,
                entity_id,
                ProcessDocument.Kind.ACT,
                title,
                name,
                f"cuadro-evaluacion-{identifier}-v{version}.pdf",
                "application/pdf",
                len(content),
                sha256,
                "",
                published,
                president,
            )  # fmt: skip
        )
        out.evaluations.append(
            (
                evaluation_id,
                pk,
                opening_id,
                version,
                reason,
                Evaluation.Status.PUBLISHED,
                self.rate,
                started,
                member,
                published,
                president,
                document_id,
            )  # fmt: skip
        )
        self.report.evaluations += 1
        return evaluation_id, tables

    def _deserted(self, out, pk, item, evaluation_id, reason, at, president) -> None:
        [award_id] = self.ids[Award].take(1)
        out.awards.append(
            [
                award_id,
                pk,
                item,
                evaluation_id,
                Award.Status.DESERTED,
                reason,
                None,
                None,
                None,
                None,
                False,
                self._json({}),
                at,
                president,
                None,
                None,
                None,
                None,
            ]  # fmt: skip
        )
        self.report.deserted_lots += 1

    def _grant(self, out, row, item, evaluation_id, entry_id, bid, price, at, president):
        procedure = row[3]
        members = bid[6] or [bid[3]]
        classes = {self.suppliers[s][0]: self.suppliers[s][1] for s in members}
        sme = all(self.suppliers[s][1] in SME for s in members)
        [award_id] = self.ids[Award].take(1)
        day = self._local(at)
        award = [
            award_id, row[0], item, evaluation_id, Award.Status.AWARDED, "", entry_id, bid[0],
            bid[3], price, sme, self._json(classes), at, president,
            STANDSTILL_WORKING_DAYS.get(procedure), self._standstill_end(procedure, day), None,
            None,
        ]  # fmt: skip
        out.awards.append(award)
        self.report.awards += 1
        return award, bid, classes

    # --- after the award: appeal, consent, contract ------------------------------------------

    def _after_award(self, out, row, granted, changes, president, evaluated) -> None:
        if not granted:
            return
        awarded_at = next(c[0] for c in changes if c[1] == "award")
        after = [c for c in changes if c[0] > awarded_at]
        suspension = next((c for c in after if c[1] == "suspend"), None)
        resumed = None
        if suspension is not None:
            resumed = next((c for c in after if c[1] == "resume" and c[0] > suspension[0]), None)
            if evaluated is not None:
                granted = self._appeal(out, row, granted, changes, suspension, resumed,
                                       president, evaluated)  # fmt: skip
        after = [c for c in changes if c[0] > awarded_at]
        consent = next((c for c in after if c[1] == "consent"), None)
        if consent is not None:
            for award, _bid, _classes in granted:
                award[4] = Award.Status.CONSENTED
                award[16] = self._local(consent[0])
                self.report.consented += 1
        signed = next((c for c in after if c[1] == "contract"), None)
        if signed is not None:
            for number, (award, bid, classes) in enumerate(granted, start=1):
                self._contract(out, row, award, bid, classes, number, signed[0], president)

    def _appeal(self, out, row, granted, changes, suspension, resumed, president, evaluated):
        """The appeal behind a suspension of the awarded process; a founded one rewrites the
        history (resume -> reevaluate, award, standstill) when the new award fits."""
        (pk, identifier, _status, procedure, by_items, _object, entity_id, value, year,
         _d, _n, _r) = row  # fmt: skip
        bids, committee = evaluated[0], evaluated[1]
        award, winner, _classes = granted[0]
        rivals = [b for b in bids if b[3] != winner[3] and b[3] in self.supplier_users]
        if not rivals:
            return granted
        rng = self.rng
        appellant = rng.choice(rivals)
        tribunal = tribunal_resolves(value, self.uit.get(year, Decimal(5350)))
        resolver = Appeal.Resolver.TRIBUNAL if tribunal else Appeal.Resolver.ENTITY_HEAD
        resolver_user = self.tribunal if tribunal else self.heads.get(entity_id)
        if resolver_user is None or resolver_user in committee.values():
            return granted
        filed = suspension[0] - timedelta(minutes=rng.randint(5, 50))
        if filed <= award[12]:
            filed = award[12] + (suspension[0] - award[12]) / 2
        filed_day = self._local(filed)
        due = self.calendar.add_working_days(filed_day, APPEAL_RESOLUTION_WORKING_DAYS[resolver])
        fee = max(_cents(value * Decimal("0.03")), Decimal("1.00"))
        status, resolution, admitted, resolved, resolver_id = (
            Appeal.Status.FILED, "", None, None, None
        )  # fmt: skip
        founded = False
        if resumed is None:  # still running now
            if rng.random() < 0.6 and filed + timedelta(days=1) < self.until:
                status, admitted = Appeal.Status.ADMITTED, filed + timedelta(days=1)
        else:
            resolved, resolver_id = resumed[0] - timedelta(minutes=10), resolver_user
            admitted = filed + (resolved - filed) / 3
            status, resolution = Appeal.Status.UNFOUNDED, UNFOUNDED
            if rng.random() < 0.2:
                status, resolution, admitted = Appeal.Status.INADMISSIBLE, INADMISSIBLE_APPEAL, None
            elif not by_items and rng.random() < FOUNDED_SHARE:
                founded = self._founded(out, row, granted, changes, resumed, president,
                                        evaluated)  # fmt: skip
                if founded:
                    status, resolution = Appeal.Status.FOUNDED, FOUNDED
        out.appeals.append(
            (
                pk,
                award[0],
                Appeal.Subject.AWARD,
                None,
                appellant[3],
                rng.choice(APPEAL_REASONS),
                fee,
                status,
                resolver,
                filed,
                self.supplier_users[appellant[3]],
                due,
                resolution,
                admitted,
                resolved,
                resolver_id,
            )  # fmt: skip
        )
        self.report.appeals += 1
        if founded:
            self.report.founded += 1
            return founded
        return granted

    def _founded(self, out, row, granted, changes, resumed, president, evaluated):
        """Back to evaluation at the resumption: the award revoked, table version 2 (the
        winner now judged not admissible), a new award and its standstill; the history's
        consent (and contract) move after that standstill. None (the appeal stays unfounded)
        when that would pass the seed's moment."""
        pk, procedure = row[0], row[3]
        bids, committee, economic, files, marks, opening_id = evaluated
        award, winner, _classes = granted[0]
        if not any(b[0] != winner[0] for b in bids):
            return None
        back = resumed[0]
        new_at = back + timedelta(days=2)
        ends = self._standstill_end(procedure, self._local(new_at))
        following = [c for c in changes if c[0] > back]
        if any(c[1] not in ("consent", "contract") for c in following):
            return None
        moved, at = [], datetime.combine(ends, datetime.min.time(), tzinfo=self.lima)
        for change in following:
            at = max(change[0], at + timedelta(days=1, hours=10))
            moved.append((at, change[1], change[2], None))
        if new_at >= self.until - timedelta(hours=1) or at >= self.until:
            return None
        verdicts = {b[0]: "" for b in bids}
        verdicts[winner[0]] = "Descalificada al declararse fundado el recurso de apelación."
        member = committee.get("member", president)
        started = back + timedelta(hours=2)
        published = back + timedelta(days=1)
        evaluation_id, tables = self._table(
            out, row, opening_id, 2, REEVALUATION_REASON, bids, [(None, "")], verdicts, marks,
            economic, started, published, president, member, files,
        )  # fmt: skip
        best = sorted((e for e in tables[0][1] if e[2] is not None), key=lambda e: e[2])
        award[4], award[17] = Award.Status.REVOKED, back
        out.qualifications.append((best[0][0], True, "", published + timedelta(hours=1), president))
        new = self._grant(out, row, None, evaluation_id, best[0][0], best[0][1], best[0][3],
                          new_at, president)  # fmt: skip
        # The history: the resumption becomes the return to evaluation, then the new award;
        # the consent and the contract come after its standstill.
        S = "suspendido", "convocado", "adjudicado", "consentido", "contratado"
        out.dropped_changes.extend([resumed[3], *(c[3] for c in following)])
        out.changes.append((pk, "reevaluate", S[0], S[1], FOUNDED, "", back, None))
        out.changes.append((pk, "award", S[1], S[2], "", "", new_at, None))
        steps = {"consent": (S[2], S[3]), "contract": (S[3], S[4])}
        for at, action, reason, _id in moved:
            out.changes.append((pk, action, *steps[action], reason, "", at, None))
        changes[:] = [c for c in changes if c[0] < back] + moved
        return [new]

    def _contract(self, out, row, award, bid, classes, number, signed_at, president) -> None:
        (pk, identifier, _status, _procedure, _by_items, object_type, entity_id, _value, year,
         _d, _n, _r) = row  # fmt: skip
        rng = self.rng
        [contract_id] = self.ids[Contract].take(1)
        signed_on = self._local(signed_at)
        amount = award[9]
        sme = award[10]
        retention = sme and object_type in RETENTION_OBJECTS and rng.random() < 0.6
        guarantee = (
            Contract.Guarantee.RETENTION if retention else Contract.Guarantee.PERFORMANCE_BOND
        )
        term = rng.choice((30, 45, 60, 90, 120, 180, 365))
        due = signed_on + timedelta(days=term)
        status, party, ended, reason = Contract.Status.ACTIVE, "", None, ""
        today = self.until.date()
        roll = rng.random()
        if due < today and roll < 0.8:
            status, ended = Contract.Status.COMPLETED, due
        elif roll > 0.93 and signed_on + timedelta(days=10) < today:
            party = rng.choice((Contract.Party.ENTITY, Contract.Party.SUPPLIER))
            status, reason = Contract.Status.TERMINATED, TERMINATIONS[party]
            ended = signed_on + timedelta(
                days=rng.randint(5, max(5, min(term, (today - signed_on).days - 1)))
            )
        acronym = self.entities[entity_id][0]
        out.contracts.append(
            [
                contract_id,
                award[0],
                pk,
                award[2],
                entity_id,
                bid[3],
                f"{pk}-{number}-{year}-{acronym}"[:60],
                signed_on,
                amount,
                term,
                sme,
                self.suppliers[bid[3]][1],
                self._json(classes),
                guarantee,
                status,
                party,
                ended,
                reason,
                None,
                signed_at + min(timedelta(hours=2), (self.until - signed_at) / 2),
                president,
            ]  # fmt: skip
        )
        self.report.contracts += 1
        net = amount
        last = min(ended or today, today)
        if rng.random() < 0.2 and (last - signed_on).days > 6:
            cumulative = {
                ContractAmendment.Kind.ADDITIONAL: Decimal(),
                ContractAmendment.Kind.REDUCTION: Decimal(),
            }
            kinds = [ContractAmendment.Kind.ADDITIONAL] * rng.choice((1, 1, 2))
            if rng.random() < 0.3:
                kinds.append(ContractAmendment.Kind.REDUCTION)
            days = sorted(rng.randint(3, (last - signed_on).days - 1) for _kind in kinds)
            for kind, day in zip(kinds, days, strict=True):  # in date order: cumulative
                on = signed_on + timedelta(days=day)
                if kind == ContractAmendment.Kind.ADDITIONAL:
                    percent = Decimal(rng.choice((5, 8, 10, 15, 20, 30, 40)))
                else:
                    percent = Decimal(rng.choice((5, 10, 15)))
                part = _cents(amount * percent / HUNDRED)
                percentage = _cents(part * HUNDRED / amount)
                cumulative[kind] += percentage
                net += part if kind == ContractAmendment.Kind.ADDITIONAL else -part
                moment = datetime.combine(on, datetime.min.time(), tzinfo=self.lima) + timedelta(
                    hours=11
                )
                out.amendments.append(
                    (
                        contract_id,
                        kind,
                        part,
                        percentage,
                        cumulative[kind],
                        cumulative[kind] > AMENDMENT_MARK_PERCENT,
                        rng.choice(AMENDMENT_REASONS[kind]),
                        on,
                        moment,
                        president,
                    )  # fmt: skip
                )
                self.report.amendments += 1
        if status == Contract.Status.COMPLETED:
            out.contracts[-1][18] = max(net, CENT)
        if ended is not None and rng.random() < 0.8:
            at = datetime.combine(ended, datetime.min.time(), tzinfo=self.lima) + timedelta(
                days=rng.randint(1, 10), hours=rng.randint(9, 17)
            )
            if at < self.until:
                on_time = status == Contract.Status.COMPLETED and rng.random() < 0.8
                quality = (
                    rng.randint(3, 5) if status == Contract.Status.COMPLETED else rng.randint(1, 3)
                )
                penalties = (
                    Decimal() if on_time else _cents(amount * Decimal(rng.randint(1, 10)) / HUNDRED)
                )
                out.supplier_evaluations.append(
                    (
                        contract_id,
                        on_time,
                        quality,
                        penalties,
                        rng.choice(EVALUATION_COMMENTS),
                        at,
                        president,
                    )
                )
                self.report.supplier_evaluations += 1

    # --- writing --------------------------------------------------------------------------

    def _write(self, built: tuple[_Out, AwardReport] | None) -> None:
        if built is None:
            return
        out, counted = built
        for name in dataclass_fields(AwardReport):
            if name.name != "seconds":
                total = getattr(self.report, name.name) + getattr(counted, name.name)
                setattr(self.report, name.name, total)

        writer = self.writer
        # The processes whose history is rewritten here get their status_changed_at again.
        changed = {row[0] for row in out.changes}
        if out.dropped_changes:
            dropped = StatusChange.objects.filter(pk__in=out.dropped_changes)
            changed.update(dropped.values_list("process_id", flat=True))
            dropped.delete()
        for model, fields, rows in [
            (StatusChange, CHANGE_FIELDS, out.changes),
            (ProcessDocument, DOCUMENT_ROW, out.documents),
            (Evaluation, EVALUATION_FIELDS, out.evaluations),
            (EvaluationEntry, ENTRY_FIELDS, out.entries),
            (TechnicalScore, SCORE_FIELDS, out.scores),
            (Qualification, QUALIFICATION_FIELDS, out.qualifications),
            (Award, AWARD_FIELDS, _rows(out.awards)),
            (Appeal, APPEAL_FIELDS, out.appeals),
            (Contract, CONTRACT_FIELDS, _rows(out.contracts)),
            (ContractAmendment, AMENDMENT_FIELDS, out.amendments),
            (SupplierEvaluation, SUPPLIER_EVALUATION_FIELDS, out.supplier_evaluations),
        ]:
            writer.write(model, fields, rows)
        refresh_status_changed_at(changed)
