"""CSV exports, streamed row by row so large exports use little memory."""

import csv
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse

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


def csv_response(
    filename: str, header: list[str], rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    writer = csv_writer(_Echo())

    def lines():
        yield "\ufeff"  # BOM: Excel opens the UTF-8 file with accents intact
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
