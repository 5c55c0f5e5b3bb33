"""Reading a plan's items from an uploaded CSV or XLSX file.

Nothing is written here: the reader returns the clean rows or the list of problems (row,
column, what is wrong), and the caller loads the rows only when there is no problem at all.
Row numbers are those a person sees in a spreadsheet: the header is row 1.
"""

import csv
import hashlib
import io
import itertools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from core import formatting
from core.codelists import ObjectType, ProcedureType, unit_from_text
from core.errors import DomainError
from core.models import CatalogItem
from core.text import plain

from .exports import csv_writer
from .uploads import check_archive, check_size, plan_limits, plan_max_items

# (column header in the file, item field)
COLUMNS = [
    ("tipo_objeto", "object_type"),
    ("codigo_catalogo", "catalog_item"),
    ("descripcion", "description"),
    ("cantidad", "quantity"),
    ("unidad", "unit"),
    ("valor_estimado", "estimated_value"),
    ("tipo_procedimiento", "procedure_type"),
    ("mes", "planned_month"),
    ("reservado_mype", "sme_reserved"),
]
EXAMPLE_ROWS = [
    [
        "bienes",
        "44121701",
        "Bolígrafos de tinta azul",
        "1200",
        "unidad",
        "1800.00",
        "COMPRE",
        "3",
        "si",
    ],
    [
        "servicios",
        "72101500",
        "Mantenimiento de locales",
        "1",
        "servicio",
        "250000.00",
        "AS",
        "5",
        "no",
    ],
]
# The number of items is limited by plan_max_items() (PLAN_UPLOAD_MAX_ITEMS). Spreadsheets are
# read up to MAX_COLUMNS columns: the template's nine and spare room for stray empty cells.
MAX_COLUMNS = 26
MAX_REPORTED_ERRORS = 200
# A value from the file echoed in a message is cut here: the report must stay small.
MAX_ECHOED_CHARS = 80

_OBJECTS = {
    "bienes": ObjectType.GOODS,
    "bien": ObjectType.GOODS,
    "goods": ObjectType.GOODS,
    "servicios": ObjectType.SERVICES,
    "servicio": ObjectType.SERVICES,
    "services": ObjectType.SERVICES,
    "obras": ObjectType.WORKS,
    "obra": ObjectType.WORKS,
    "works": ObjectType.WORKS,
    "consultoria de obras": ObjectType.CONSULTING_WORKS,
    "consultoria de obra": ObjectType.CONSULTING_WORKS,
    "consulting works": ObjectType.CONSULTING_WORKS,
}
_YES = {"si", "s", "yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0", ""}
_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]


def _plain(value: Any) -> str:
    """A cell as comparable text: 'Consultoría_de obras' -> 'consultoria de obras'."""
    return plain(("" if value is None else str(value)).replace("_", " "))


def echo(value: Any) -> str:
    """A value from the file as it may appear in a message: at most MAX_ECHOED_CHARS."""
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_ECHOED_CHARS else text[: MAX_ECHOED_CHARS - 1] + "…"


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str
    code: str = "invalid"


@dataclass
class ImportResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0
    # The SHA-256 of the file as uploaded (hex): the audit entry of the load names it.
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, row: int, column: str, message: str, code: str = "invalid") -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, echo(column), message, code))
        else:
            self.more_errors += 1


def read_plan_file(upload) -> ImportResult:
    """Parse an uploaded file (Django UploadedFile) into clean item rows or a problem list.
    Size, and for XLSX the ZIP container and the sheet's dimension, are checked before
    anything is parsed (procurement.uploads)."""
    result = ImportResult()
    name = (upload.name or "").lower()
    try:
        check_size(upload, plan_limits())
    except DomainError as error:
        result.add(0, "", error.message, error.code)
        return result
    upload.seek(0)
    data = upload.read()
    result.sha256 = hashlib.sha256(data).hexdigest()
    if name.endswith(".xlsx"):
        table = _read_xlsx(data, result)
    elif name.endswith(".csv") or name.endswith(".txt"):
        table = _read_csv(data, result)
    else:
        result.add(0, "", _("Upload a .csv or .xlsx file (the template shows the columns)."))
        return result
    if table is None:
        return result
    _validate(table, result)
    return result


def _read_csv(data: bytes, result: ImportResult) -> list[list[Any]] | None:
    if data.startswith(b"PK\x03\x04"):
        result.add(
            0,
            "",
            _("This file is a spreadsheet (XLSX), not a CSV: upload it with the .xlsx extension."),
        )
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        result.add(
            line,
            "",
            _(
                "The file is not in UTF-8 (first bad character in line %(line)s). In Excel use "
                "'Save as' > 'CSV UTF-8', or upload the XLSX file."
            )
            % {"line": line},
        )
        return None
    if "\x00" in text:
        result.add(0, "", _("The file is not a text CSV file."))
        return None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    max_rows = plan_max_items() + 1  # and the header
    try:
        # Never more rows than a plan can have: 5 MB of bare newlines would be 5 million.
        table = list(
            itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), max_rows + 1)
        )
    except csv.Error as error:
        result.add(0, "", _("The CSV file could not be read: %(problem)s.") % {"problem": error})
        return None
    if len(table) > max_rows:
        result.add(
            0,
            "",
            _("The file has more than %(max)s items.") % {"max": formatting.number(max_rows - 1)},
            "too_many_items",
        )
        return None
    return table


def _read_xlsx(data: bytes, result: ImportResult) -> list[list[Any]] | None:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    if not data.startswith(b"PK\x03\x04"):
        result.add(0, "", _("The file is not a valid XLSX spreadsheet."), "xlsx_invalid")
        return None
    try:
        check_archive(io.BytesIO(data), plan_limits())
    except DomainError as error:
        result.add(0, "", error.message, error.code)
        return None
    max_rows = plan_max_items() + 1  # and the header
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        # The declared dimension decides how wide openpyxl pads rows: refuse it when it is
        # larger than a plan can be, and never read past the limits whatever it says.
        if (sheet.max_column or 0) > MAX_COLUMNS or (sheet.max_row or 0) > max_rows:
            result.add(
                0,
                "",
                _(
                    "The sheet declares %(rows)s rows and columns up to %(column)s; a plan file "
                    "has at most %(items)s items and columns A to %(last)s. Delete the extra "
                    "rows and columns and upload it again."
                )
                % {
                    "rows": formatting.number(sheet.max_row or 0),
                    "column": get_column_letter(min(sheet.max_column or 1, 18278)),
                    "items": formatting.number(max_rows - 1),
                    "last": get_column_letter(len(COLUMNS)),
                },
                "sheet_too_large",
            )
            workbook.close()
            return None
        table = []
        for row in sheet.iter_rows(max_row=max_rows + 1, max_col=MAX_COLUMNS, values_only=True):
            table.append(list(row))
        workbook.close()
        if len(table) > max_rows:  # rows go on past the limit (empty ones are not read further)
            result.add(
                0,
                "",
                _("The file has more than %(max)s items.")
                % {"max": formatting.number(max_rows - 1)},
                "too_many_items",
            )
            return None
    except Exception:  # noqa: BLE001 - any failure to read is the same problem for the user
        result.add(0, "", _("The file is not a valid XLSX spreadsheet."), "xlsx_invalid")
        return None
    return table


def _validate(table: list[list[Any]], result: ImportResult) -> None:
    # Drop fully empty rows at the end (spreadsheets keep formatted blank rows).
    while table and all(_plain(cell) == "" for cell in table[-1]):
        table.pop()
    if not table:
        result.add(0, "", _("The file is empty."))
        return
    header = [_plain(cell).replace(" ", "_") for cell in table[0]]
    expected = [name for name, _field in COLUMNS]
    missing = [name for name in expected if name not in header]
    unknown = [name for name in header if name and name not in expected]
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if missing:
        result.add(
            1,
            ", ".join(missing),
            _("Missing columns. The header must be: %(header)s.") % {"header": ", ".join(expected)},
            "header_missing_columns",
        )
    if unknown:
        shown = ", ".join(echo(name) for name in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        result.add(
            1,
            shown,
            _("Unknown columns. The header must be: %(header)s.") % {"header": ", ".join(expected)},
            "header_unknown_columns",
        )
    if duplicated:
        result.add(
            1,
            ", ".join(duplicated),
            _("Each column must appear once in the header; these appear more than once."),
            "header_duplicate_columns",
        )
    if missing or unknown or duplicated:
        return
    body = table[1:]
    if not body:
        result.add(2, "", _("The file has a header but no items."))
        return
    if len(body) > plan_max_items():
        result.add(
            0,
            "",
            _("The file has more than %(max)s items.")
            % {"max": formatting.number(plan_max_items())},
            "too_many_items",
        )
        return
    position = {name: header.index(name) for name in expected}
    codes = set()
    for cells in body:
        index = position["codigo_catalogo"]
        if index < len(cells):
            codes.add(_code(cells[index]))
    catalog = CatalogItem.objects.in_bulk([code for code in codes if code], field_name="code")

    for offset, cells in enumerate(body):
        row_number = offset + 2
        if all(_plain(cell) == "" for cell in cells):
            continue

        def cell(name, cells=cells):
            index = position[name]
            return cells[index] if index < len(cells) else None

        row: dict[str, Any] = {}
        errors_before = len(result.errors) + result.more_errors
        if any(_plain(extra) for extra in cells[len(header) :]):
            result.add(
                row_number,
                "",
                _(
                    "This row has more values than the header has columns; a value with a comma "
                    "must go in quotes."
                ),
            )

        value = _OBJECTS.get(_plain(cell("tipo_objeto")))
        if value is None:
            result.add(
                row_number,
                "tipo_objeto",
                _("Write bienes, servicios, obras or consultoria de obras."),
            )
        row["object_type"] = value

        code = _code(cell("codigo_catalogo"))
        item = catalog.get(code)
        if not code:
            result.add(row_number, "codigo_catalogo", _("The catalog code is required."))
        elif item is None:
            result.add(
                row_number,
                "codigo_catalogo",
                _("Code %(code)s is not in the catalog.") % {"code": echo(code)},
            )
        row["catalog_item"] = item

        description = str(cell("descripcion") or "").strip()
        if not description:
            result.add(row_number, "descripcion", _("The description is required."))
        elif len(description) > 500:
            result.add(
                row_number, "descripcion", _("The description has more than 500 characters.")
            )
        row["description"] = description

        row["quantity"] = _positive_decimal(cell("cantidad"), row_number, "cantidad", result, 12)
        unit = unit_from_text(cell("unidad"))
        if unit is None:
            result.add(
                row_number,
                "unidad",
                _(
                    "“%(value)s” is not a unit of measure of the codelist (e.g. unidad, caja, "
                    "kilogramo, litro, servicio, global; or its code: NIU, BX, KGM)."
                )
                % {"value": echo(cell("unidad"))},
            )
        row["unit"] = unit
        row["estimated_value"] = _positive_decimal(
            cell("valor_estimado"), row_number, "valor_estimado", result, 14
        )

        procedure = _plain(cell("tipo_procedimiento")).upper()
        if procedure not in ProcedureType.values:
            result.add(
                row_number,
                "tipo_procedimiento",
                _("Write one of: %(codes)s.") % {"codes": ", ".join(ProcedureType.values)},
            )
        row["procedure_type"] = procedure

        row["planned_month"] = _month(cell("mes"), row_number, result)

        reserved = _plain(cell("reservado_mype"))
        if reserved not in _YES | _NO:
            result.add(row_number, "reservado_mype", _("Write si or no."))
        row["sme_reserved"] = reserved in _YES

        if len(result.errors) + result.more_errors == errors_before:
            result.rows.append(row)
    if result.errors:
        result.rows = []


def _code(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(ch for ch in str(value or "") if ch.isdigit())


def _positive_decimal(
    value: Any, row: int, column: str, result: ImportResult, integer_digits: int
) -> Decimal | None:
    """A positive amount with at most two decimals that fits its column."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = repr(value)
    else:
        text = str(value or "").strip().replace(" ", "").replace("S/", "")
    if "," in text:
        result.add(row, column, _("Use a decimal point and no thousands separator, e.g. 12500.50."))
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        result.add(row, column, _("'%(value)s' is not a number.") % {"value": text[:30]})
        return None
    if not number.is_finite() or number <= 0:
        result.add(row, column, _("Must be greater than zero."))
        return None
    if number >= Decimal(10) ** integer_digits or number != number.quantize(Decimal("0.01")):
        result.add(
            row,
            column,
            _("Use at most two decimals and at most %(digits)s digits before the point.")
            % {"digits": integer_digits},
        )
        return None
    return number


def _month(value: Any, row: int, result: ImportResult) -> int | None:
    text = _plain(value)
    if text in _MONTHS:
        return _MONTHS.index(text) + 1
    try:
        month = int(float(text))
    except (ValueError, OverflowError):
        month = 0
    if not 1 <= month <= 12:
        result.add(row, "mes", _("Write the month as a number from 1 to 12."))
        return None
    return month


def template_csv() -> str:
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([name for name, _field in COLUMNS])
    writer.writerows(EXAMPLE_ROWS)
    return buffer.getvalue()


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "PAC"
    sheet.append([name for name, _field in COLUMNS])
    for row in EXAMPLE_ROWS:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
