"""URL path converters that only match values the database can hold, so a malformed or
out-of-range value in a URL is a 404 from the resolver instead of an error in the query."""

from django.urls import register_converter

# Ids are bigint primary keys: at most 18 digits keeps every value below 2**63 on any backend.
MAX_ID_DIGITS = 18
FIRST_YEAR, LAST_YEAR = 1990, 2199


class RucConverter:
    regex = "[0-9]{11}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class YearConverter:
    """A fiscal year: four digits, and within the years the portal can know about."""

    regex = "[0-9]{4}"

    def to_python(self, value: str) -> int:
        year = int(value)
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(value)  # the resolver treats it as "no match": a 404
        return year

    def to_url(self, value) -> str:
        return str(value)


class IdentifierConverter:
    """A process identifier such as LP-SM-3-2026-MDP1-1 (the model column holds 80)."""

    regex = "[A-Za-z0-9][A-Za-z0-9._-]{0,79}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class IdConverter:
    """A database id: a positive integer that fits in a bigint."""

    regex = f"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


def register() -> None:
    register_converter(RucConverter, "ruc")
    register_converter(YearConverter, "year")
    register_converter(IdentifierConverter, "identifier")
    register_converter(IdConverter, "id")
