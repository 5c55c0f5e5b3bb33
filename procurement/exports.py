"""CSV exports: one declarative spec per export (its columns: header, accessor, kind), written
by the one safe writer and streamed row by row so large exports use little memory. The header
names are a public interface (people's scripts read them): the specs below are the only place
they are written, for the CSV views today and the API and OCDS mappings later."""

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.snapshots import read_snapshot

logger = logging.getLogger(__name__)

# A spreadsheet reads a cell that starts with one of these as a formula (=HYPERLINK(...)).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value):
        return value


def safe_cell(value):
    """A value as a CSV cell that no spreadsheet runs as a formula: text starting with a
    formula character gets a leading apostrophe (shown by spreadsheets as plain text).
    Numbers and dates are written as they are, so negative amounts stay numbers."""
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_writer(stream):
    """A csv.writer whose rows are passed through safe_cell: the only writer exports use."""
    writer = csv.writer(stream)

    class SafeWriter:
        def writerow(self, row):
            return writer.writerow([safe_cell(cell) for cell in row])

        def writerows(self, rows):
            for row in rows:
                self.writerow(row)

    return SafeWriter()


CHUNK = 64 * 1024  # characters per piece sent: one write per ~64 KB, not one per row


def csv_response(
    filename: str, header: list[str], rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    """A CSV file sent while it is written: the header leaves at once, then the rows in
    pieces of about CHUNK characters. Without a Content-Length the server sends it chunked, so
    a failure mid-stream (an error, a worker timeout) ends the connection without the final
    chunk and the client sees a broken transfer, never a complete-looking partial file: the
    error is logged and raised, never swallowed."""
    writer = csv_writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(header)  # BOM: Excel opens the UTF-8 file with accents
        sent, piece = 0, []
        size = 0
        try:
            for row in rows:
                line = writer.writerow(row)
                piece.append(line)
                size += len(line)
                sent += 1
                if size >= CHUNK:
                    yield "".join(piece)
                    piece, size = [], 0
        except Exception:
            logger.exception("CSV export %s aborted after %s rows", filename, sent)
            raise
        if piece:
            yield "".join(piece)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Accel-Buffering"] = "no"  # a proxy passes the pieces on as they come
    return response


# --- Export specs -----------------------------------------------------------------------------


class Kind(StrEnum):
    """How a column's value is written (the same for every export, so every file agrees)."""

    TEXT = "text"  # as is; empty when missing
    CODE = "code"  # a stored code (e.g. LP), language-independent
    LABEL = "label"  # the display label of a choice field, in the active language
    NUMBER = "number"  # machine-readable: 1234.50, never grouped or localised
    DATE = "date"  # ISO date; a moment becomes its date in Lima
    FLAG = "flag"  # si / no; empty when unknown
    MONEY = "money"  # soles to the cent, always two decimals: 1234.50, 0.00


@dataclass(frozen=True)
class Column:
    header: str
    accessor: str | Callable[[Any], Any]  # a dotted attribute path, or a function of the row
    kind: Kind = Kind.TEXT
    # What the column holds, for the data dictionary (/datos/diccionario/).
    description: str = ""

    def value(self, row, language: str | None = None) -> Any:
        if callable(self.accessor):
            value = self.accessor(row)
        else:
            *path, name = self.accessor.split(".")
            for step in path:
                row = getattr(row, step)
            value = getattr(row, name)
            if self.kind == Kind.LABEL:
                value = _label(type(row), name, language or get_language(), value)
        return _written(value, self.kind)


@lru_cache(maxsize=512)
def _label(model, name: str, language: str | None, value):
    """A choice's display label in a language, as get_FOO_display() gives it (which rebuilds
    the field's choices on every call: most of a large export's time)."""
    return str(dict(model._meta.get_field(name).flatchoices).get(value, value))


CENT = Decimal("0.01")


def _written(value, kind: Kind):
    if value is None:
        return ""  # unknown stays empty, a yes/no column too (never a "no" nobody said)
    if kind == Kind.FLAG:
        return "si" if value else "no"
    if kind == Kind.MONEY:
        # str() of a float first: SQLite sums give 1169657.3199999998; PostgreSQL 0E-10.
        return f"{Decimal(str(value)).quantize(CENT, ROUND_HALF_UP):f}"
    if kind == Kind.DATE and isinstance(value, datetime):
        return timezone.localdate(value)
    return value


@dataclass(frozen=True)
class ExportSpec:
    name: str
    columns: tuple[Column, ...]

    @property
    def header(self) -> list[str]:
        return [column.header for column in self.columns]

    def row(self, obj, language: str | None = None) -> list:
        language = language or get_language()
        return [column.value(obj, language) for column in self.columns]

    def rows(self, queryset: QuerySet) -> Iterator[list]:
        """The rows, read 2,000 at a time through a server-side cursor inside a transaction:
        outside one, PostgreSQL's cursor is declared WITH HOLD, which materialises the whole
        result before the first row leaves. Memory stays flat; nothing is read until the
        response asks for the first row (after the header has gone). The transaction is a
        read-only snapshot (core.snapshots): on SQLite a deferred one, so a long download
        never holds the write lock the settings' IMMEDIATE transactions would take."""
        with read_snapshot(queryset.db):
            language = get_language()
            for obj in queryset.iterator(chunk_size=2000):
                yield self.row(obj, language)

    def response(self, queryset: QuerySet, filename: str | None = None) -> StreamingHttpResponse:
        return csv_response(filename or f"{self.name}.csv", self.header, self.rows(queryset))

    def items_response(self, items: Iterable, filename: str | None = None) -> StreamingHttpResponse:
        """The file of rows already read (figures computed per group, not model rows)."""
        language = get_language()
        rows = (self.row(item, language) for item in items)
        return csv_response(filename or f"{self.name}.csv", self.header, rows)


PROCESSES = ExportSpec(
    "procesos",
    (
        Column(
            "nomenclatura",
            "identifier",
            description=_("The process identifier as published (e.g. LP-SM-3-2026-MINSA-1)."),
        ),
        Column("ruc_entidad", "entity.ruc", description=_("RUC of the contracting entity.")),
        Column("entidad", "entity.name", description=_("Name of the contracting entity.")),
        Column(
            "procedimiento",
            "procedure_type",
            Kind.LABEL,
            description=_("Selection procedure (public tender, simplified award...)."),
        ),
        Column(
            "objeto",
            "object_type",
            Kind.LABEL,
            description=_("What is bought: goods, services, works or consultancy for works."),
        ),
        Column("descripcion", "description", description=_("The object of the process.")),
        Column(
            "valor_estimado",
            "estimated_value",
            Kind.NUMBER,
            description=_("Estimated value of the whole process, in soles (PEN)."),
        ),
        Column(
            "estado",
            "status",
            Kind.LABEL,
            description=_("Status of the process on the day the file was written."),
        ),
        Column(
            "solo_mype",
            "sme_only",
            Kind.FLAG,
            description=_("Whether only micro and small enterprises (MYPE) may bid."),
        ),
        # The start of the call stage (queries.call_date, annotated by queries.public_processes).
        Column(
            "fecha_convocatoria",
            "call_date",
            Kind.DATE,
            description=_("First day of the call stage of the process calendar."),
        ),
    ),
)

# How each kind of column is written, for the data dictionary.
KIND_DESCRIPTIONS = {
    Kind.TEXT: _("Text as published; empty when missing."),
    Kind.CODE: _("A stored code, the same in every language."),
    Kind.LABEL: _("The name of a value of a codelist, in the language of the file (Spanish)."),
    Kind.NUMBER: _("A number with a dot as decimal separator and no thousands separator."),
    Kind.DATE: _("An ISO 8601 date (YYYY-MM-DD), in Lima time."),
    Kind.FLAG: _("si or no; empty when not known."),
    Kind.MONEY: _("An amount in soles with two decimals and a dot as decimal separator."),
}


PLANS = ExportSpec(
    "planes",
    (
        Column("ruc", "plan.entity.ruc"),
        Column("entidad", "plan.entity.name"),
        Column("anio", "plan.fiscal_year_id", Kind.NUMBER),
        Column("version", "number", Kind.NUMBER),
        Column("fecha_aprobacion", "approval_date", Kind.DATE),
        Column("fecha_publicacion", "published_at", Kind.DATE),
        Column("valor_total", "total_value", Kind.NUMBER),
        Column("valor_elegible_mype", "sme_eligible_value", Kind.NUMBER),
        Column("valor_reservado_mype", "sme_reserved_value", Kind.NUMBER),
        Column("cuota_mype", "sme_share", Kind.NUMBER),
        Column("cumple_40", "sme_compliant", Kind.FLAG),
        Column("publicado_tarde", "published_late", Kind.FLAG),
    ),
)

PLAN_ITEMS = ExportSpec(
    "pac",
    (
        Column("item", "reference", Kind.NUMBER),
        Column("objeto", "object_type", Kind.LABEL),
        Column("codigo_catalogo", "catalog_item_id", Kind.CODE),
        Column("nombre_catalogo", "catalog_item.name_es"),
        Column("descripcion", "description"),
        Column("cantidad", "quantity", Kind.NUMBER),
        Column("unidad", "unit", Kind.LABEL),
        Column("valor_estimado", "estimated_value", Kind.NUMBER),
        Column("tipo_procedimiento", "procedure_type", Kind.CODE),
        Column("mes", "planned_month", Kind.NUMBER),
        Column("reservado_mype", "sme_reserved", Kind.FLAG),
    ),
)

# One table of /estadisticas/ (procurement.statistics.Row): the rows of the page, each with
# the path of the search that finds its processes (the link of its figures).
STATISTICS = ExportSpec(
    "estadisticas",
    (
        Column("clave", "key", Kind.CODE),
        Column("nombre", "label"),
        Column("procesos", "count", Kind.NUMBER),
        Column("monto", "total", Kind.NUMBER),
        Column("busqueda", "search_url"),
    ),
)

# The awarded unit prices of a commodity (/precios/<code>/?format=csv): prices.PricePoint.
PRICES = ExportSpec(
    "precios",
    (
        Column("fecha_adjudicacion", "day", Kind.DATE),
        Column("nomenclatura", "process"),
        Column("contrato", "contract_id", Kind.NUMBER),
        Column("ganador", "supplier"),
        Column("unidad", "unit", Kind.CODE),
        Column("cantidad", "quantity", Kind.NUMBER),
        Column("precio_unitario", "unit_price", Kind.NUMBER),
    ),
)

CONTRACTS = ExportSpec(
    "contratos",
    (
        Column("id", "pk", Kind.NUMBER),
        Column("numero", "number"),
        Column("nomenclatura", "process.identifier"),
        Column("item", "item_id", Kind.NUMBER),
        Column("ruc_entidad", "entity.ruc"),
        Column("entidad", "entity.name"),
        Column("ruc_proveedor", "supplier.ruc"),
        Column("proveedor", "supplier.legal_name"),
        Column("tamano_al_otorgar", "size_class", Kind.CODE),
        Column("mype", "winner_sme", Kind.FLAG),
        Column("fecha_firma", "signed_on", Kind.DATE),
        Column("monto", "amount", Kind.NUMBER),
        Column("plazo_dias", "term_days", Kind.NUMBER),
        Column("garantia", "guarantee", Kind.CODE),
        Column("estado", "status", Kind.CODE),
        Column("fecha_fin", "ended_on", Kind.DATE),
        Column("monto_final", "final_amount", Kind.NUMBER),
    ),
)

# The contracts behind an entity's actual SME share (procurement.sme.share_contracts): summing
# valor_elegible by clase_mype gives the page's figures.
SME_CONTRACTS = ExportSpec(
    "mype_contratos",
    (
        Column("id", "pk", Kind.NUMBER),
        Column("numero", "number"),
        Column("nomenclatura", "process.identifier"),
        Column("item", "item_id", Kind.NUMBER),
        Column("objeto", "process.object_type", Kind.CODE),
        Column("solo_mype", "process.sme_only", Kind.FLAG),
        Column("fecha_firma", "signed_on", Kind.DATE),
        Column("anio_fiscal", "fiscal_year", Kind.NUMBER),
        Column("mes", "month", Kind.NUMBER),
        Column("monto_firmado", "amount", Kind.MONEY),
        Column("monto_vigente", "current_amount", Kind.MONEY),
        Column("valor_elegible", "eligible_part", Kind.MONEY),
        Column("ruc_proveedor", "supplier.ruc"),
        Column(
            "tamanos_al_otorgar",
            lambda c: " ".join(f"{r}:{s or '?'}" for r, s in c.size_classes.items()),
        ),
        Column("clase_mype", "size_group", Kind.CODE),
        Column("solo_micro", "micro_only", Kind.FLAG),
        Column("estado", "status", Kind.CODE),
    ),
)


def _share(value):
    """A share as the CSVs write it: six decimals (0.375000), or empty without contracts."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))


# The entity's SME compliance month by month (/entidades/<ruc>/mype/?format=csv&table=months):
# the page's chart table, one row per month (sme.MonthFigures).
SME_MONTHS = ExportSpec(
    "mype_meses",
    (
        Column("anio_fiscal", lambda m: m.year, Kind.NUMBER),
        Column("mes", lambda m: m.month, Kind.NUMBER),
        Column("cuota_planificada", lambda m: _share(m.planned), Kind.NUMBER),
        Column("contratos_mes", lambda m: m.signed.contracts if m.signed else 0, Kind.NUMBER),
        Column(
            "valor_elegible_mes",
            lambda m: m.signed.eligible_value if m.signed else 0,
            Kind.MONEY,
        ),
        Column("valor_mype_mes", lambda m: m.signed.sme_value if m.signed else 0, Kind.MONEY),
        Column(
            "cuota_real_mes", lambda m: _share(m.signed.share) if m.signed else None, Kind.NUMBER
        ),
        Column("contratos_acumulados", lambda m: m.to_date.contracts, Kind.NUMBER),
        Column("valor_elegible_acumulado", lambda m: m.to_date.eligible_value, Kind.MONEY),
        Column("valor_mype_acumulado", lambda m: m.to_date.sme_value, Kind.MONEY),
        Column("cuota_real_acumulada", lambda m: _share(m.to_date.share), Kind.NUMBER),
        Column("cuota_minima", lambda m: _share(m.to_date.minimum), Kind.NUMBER),
        Column("brecha_soles_acumulada", lambda m: m.to_date.gap, Kind.MONEY),
    ),
)


# The national ranking (/mype/): one row per entity, from sme.ranking and sme.ActualShare.
# The auditor workspace's status overview (/auditoria/?format=csv): one row per count.
AUDIT_OVERVIEW = ExportSpec(
    "auditoria_resumen",
    (
        Column(
            "dimension",
            lambda r: r.table,
            description=_("What the processes are counted by: the search parameter's name."),
        ),
        Column("codigo", lambda r: r.code, Kind.CODE, description=_("The group's code.")),
        Column("nombre", lambda r: r.label, description=_("The group's name.")),
        Column("procesos", lambda r: r.count, Kind.NUMBER, description=_("Processes counted.")),
    ),
)


# The auditors' list of flagged processes (/auditoria/riesgos/?format=csv): one row per process.
RISK_FLAGS = ExportSpec(
    "auditoria_riesgos",
    (
        Column("nomenclatura", "process.identifier", description=_("The process identifier.")),
        Column("ruc_entidad", "entity.ruc", description=_("RUC of the contracting entity.")),
        Column("entidad", "entity.name", description=_("Name of the contracting entity.")),
        Column(
            "fecha_convocatoria",
            "published_at",
            Kind.DATE,
            description=_("Date the call was published."),
        ),
        Column(
            "puntaje_riesgo",
            "score",
            Kind.NUMBER,
            description=_("Risk score, 0 to 100: the sum of the weights of its red flags."),
        ),
        Column(
            "banderas",
            lambda r: " ".join(r.codes),
            Kind.CODE,
            description=_("The codes of its red flags, separated by spaces."),
        ),
        Column(
            "calculado",
            "computed_at",
            Kind.DATE,
            description=_("Date the flags were computed."),
        ),
    ),
)


# The auditors' stuck processes (/auditoria/atascados/?format=csv): procurement.stuck's rule.
AUDIT_STUCK = ExportSpec(
    "auditoria_atascados",
    (
        Column(
            "tipo",
            lambda r: r.kind,
            Kind.CODE,
            description=_("etapa: a stuck process; apelacion: an appeal past its legal term."),
        ),
        Column("proceso", lambda r: r.process.identifier, Kind.CODE),
        Column("entidad_ruc", lambda r: r.process.entity.ruc, Kind.CODE),
        Column("entidad", lambda r: r.process.entity.name),
        Column("estado", lambda r: r.process.status, Kind.CODE),
        Column(
            "etapa_vencida",
            lambda r: r.stage,
            Kind.CODE,
            description=_(
                "The stage whose end passed without a status change (empty for an appeal)."
            ),
        ),
        Column(
            "atrasado_desde",
            lambda r: r.late_since,
            Kind.DATE,
            description=_("The last day the process or appeal was on time."),
        ),
        Column(
            "dias_habiles_atraso",
            lambda r: r.days_late,
            Kind.NUMBER,
            description=_("Working days late since then, holidays counted."),
        ),
        Column("apelacion", lambda r: r.appeal_id, Kind.NUMBER),
    ),
)


SME_RANKING = ExportSpec(
    "mype_ranking",
    (
        Column("ruc", lambda r: r.ruc),
        Column("entidad", lambda r: r.name),
        Column("anio_fiscal", lambda r: r.year, Kind.NUMBER),
        Column("contratos", lambda r: r.share.contracts, Kind.NUMBER),
        Column("valor_elegible", lambda r: r.share.eligible_value, Kind.MONEY),
        Column("valor_mype", lambda r: r.share.sme_value, Kind.MONEY),
        Column("valor_micro", lambda r: r.share.micro_value, Kind.MONEY),
        Column("valor_pequena", lambda r: r.share.small_value, Kind.MONEY),
        Column("cuota_real", lambda r: _share(r.share.share), Kind.NUMBER),
        Column("cuota_minima", lambda r: _share(r.share.minimum), Kind.NUMBER),
        Column("cumple_minimo", lambda r: r.share.compliant, Kind.FLAG),
        Column("brecha_soles", lambda r: r.share.gap, Kind.MONEY),
        Column("cuota_planificada", lambda r: _share(r.planned), Kind.NUMBER),
        Column("contratos_tamano_desconocido", lambda r: r.share.unknown_contracts, Kind.NUMBER),
        Column("valor_tamano_desconocido", lambda r: r.share.unknown_value, Kind.MONEY),
        Column("ganadas_mype_reservados", lambda r: r.share.sme_wins_reserved, Kind.NUMBER),
        Column("ganadas_mype_abiertos", lambda r: r.share.sme_wins_open, Kind.NUMBER),
        # The lead time of the processes called in the fiscal year (sme.LeadTime): the averages
        # and what they are made of, so that an average over many entities can be redone.
        Column("procesos_convocados", lambda r: r.lead.processes, Kind.NUMBER),
        Column("procesos_reservados_mype", lambda r: r.lead.reserved, Kind.NUMBER),
        Column("dias_plazo_solo_mype", lambda r: r.lead.sme_only_days, Kind.NUMBER),
        Column("dias_plazo_abiertos", lambda r: r.lead.open_days, Kind.NUMBER),
        Column("suma_dias_solo_mype", lambda r: r.lead.sme_only_total_days, Kind.NUMBER),
        Column("procesos_solo_mype_con_plazo", lambda r: r.lead.sme_only_timed, Kind.NUMBER),
        Column("suma_dias_abiertos", lambda r: r.lead.open_total_days, Kind.NUMBER),
        Column("procesos_abiertos_con_plazo", lambda r: r.lead.open_timed, Kind.NUMBER),
    ),
)
