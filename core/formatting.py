"""How amounts and dates read in the active language: one format for pages, messages and
e-mails (CSV and the API keep machine-readable values). Spanish: 'S/ 1 073 600,50', 11 647
entries, 26/11/2026 and 26/11/2026 08:30; English: 'S/ 1,073,600.50', 11,647 entries,
11/26/2026 and 11/26/2026 8:30 a.m."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import numberformat, timezone
from django.utils.formats import date_format, get_format, number_format
from django.utils.translation import get_language, gettext

EMPTY = "—"


def _rounded(value, decimals: int) -> Decimal:
    """Rounded half up (Django's number_format cuts extra digits instead of rounding)."""
    return Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def amount(value) -> str:
    """A sum in soles without the symbol (table cells under an 'S/' header): two decimals,
    grouped thousands, the active language's separators."""
    return amounts()(value)


def amounts():
    """`amount` for many values in the active language (a table's column): its separators read
    once, not three times a value; the same text as `amount`."""
    language = get_language()
    separators = (
        get_format("DECIMAL_SEPARATOR", language),
        2,
        get_format("NUMBER_GROUPING", language),
        get_format("THOUSAND_SEPARATOR", language),
    )

    def amount_(value) -> str:
        if value in (None, ""):
            return EMPTY
        return numberformat.format(
            _rounded(value, 2), *separators, force_grouping=True, use_l10n=True
        )

    return amount_


def money(value) -> str:
    """A sum in soles with its symbol: 'S/ 250 000,00' in Spanish."""
    if value in (None, ""):
        return EMPTY
    return f"S/\xa0{amount(value)}"


def number(value) -> str:
    """A count or a whole number with grouped thousands: 11647 -> '11 647' in Spanish,
    '11,647' in English."""
    if value in (None, ""):
        return EMPTY
    return number_format(int(value), force_grouping=True)


def quantity(value) -> str:
    """A quantity of goods or services: up to two decimals, shown only when it has them,
    grouped thousands: 12500 -> '12 500', 2.5 -> '2,5' in Spanish; '12,500' and '2.5' in
    English."""
    if value in (None, ""):
        return EMPTY
    rounded = _rounded(value, 2)
    decimals = max(0, -rounded.normalize().as_tuple().exponent)
    return number_format(rounded, decimal_pos=decimals, force_grouping=True)


def percent(value, decimals: int = 1) -> str:
    """A ratio as a percentage: 0.4213 -> '42,1 %' in Spanish, '42.1 %' in English."""
    if value in (None, ""):
        return EMPTY
    return f"{number_format(_rounded(Decimal(value) * 100, decimals), decimal_pos=decimals)}\xa0%"


def day(value: date | datetime | None) -> str:
    """A date (or the local date of a moment) in the active language's short format."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        value = timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return date_format(value, "SHORT_DATE_FORMAT")


def quarter(start: date) -> str:
    """The quarter a date falls in: '2026-T1' in Spanish (trimestre), '2026-Q1' in English."""
    return gettext("%(year)s-Q%(quarter)s") % {
        "year": start.year,
        "quarter": (start.month - 1) // 3 + 1,
    }


def moment(value: datetime | None) -> str:
    """An instant as date and time, in the portal's time zone (America/Lima)."""
    if value is None:
        return EMPTY
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, "SHORT_DATETIME_FORMAT")
