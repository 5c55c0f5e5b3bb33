"""How amounts and dates read in the active language: one format for pages, messages and
e-mails (CSV and the API keep machine-readable values). Spanish: 'S/ 1 073 600,50' and
26/11/2026; English: 'S/ 1,073,600.50' and 11/26/2026."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format, number_format

EMPTY = "—"


def amount(value) -> str:
    """A sum in soles without the symbol (table cells under an 'S/' header): two decimals,
    grouped thousands, the active language's separators."""
    if value in (None, ""):
        return EMPTY
    return number_format(Decimal(value), decimal_pos=2, force_grouping=True)


def money(value) -> str:
    """A sum in soles with its symbol: 'S/ 250 000,00' in Spanish."""
    if value in (None, ""):
        return EMPTY
    return f"S/\xa0{amount(value)}"


def day(value: date | datetime | None) -> str:
    """A date (or the local date of a moment) in the active language's short format."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        value = timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return date_format(value, "SHORT_DATE_FORMAT")
