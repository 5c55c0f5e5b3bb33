"""Working-day arithmetic over Peru's national holidays and decreed non-working days.

Procurement deadlines are counted in working days ("días hábiles"): Monday to Friday, minus
national holidays (the `holidays` package's calendar for Peru, which moves with Holy Week)
and the non-working days an admin records (NonWorkingDay). A term of N working days starts
on the day after the triggering act.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def national_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("PE", years=year))


class WorkingCalendar:
    """A calendar built once (one query for decreed days) and reused for many computations."""

    def __init__(self, extra_non_working_days: Iterable[date] = ()):
        self.extra = frozenset(extra_non_working_days)

    @classmethod
    def from_database(cls) -> "WorkingCalendar":
        from .models import NonWorkingDay

        return cls(NonWorkingDay.objects.values_list("date", flat=True))

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5 and day not in national_holidays(day.year) and day not in self.extra
        )

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (start itself is not counted)."""
        if days < 0:
            raise ValueError("days must be zero or positive")
        current = start
        remaining = days
        while remaining:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date, *, limit: int | None = None) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start).

        Counted a year at a time (weekdays by arithmetic, minus the holidays and decreed days
        that fall on weekdays), so any range costs at most one holiday table per year; with
        `limit` the count stops there (a rule that needs N days needs no more than N)."""
        count = 0
        chunk_start = start  # exclusive
        while chunk_start < end:
            chunk_end = min(end, date(chunk_start.year, 12, 31))  # inclusive
            if chunk_end == chunk_start:  # start on Dec 31: the chunk is the next year
                chunk_end = min(end, date(chunk_start.year + 1, 12, 31))
            count += _weekdays_after(chunk_start, chunk_end) - sum(
                1
                for day in national_holidays(chunk_end.year) | self.extra
                if chunk_start < day <= chunk_end and day.weekday() < 5
            )
            if limit is not None and count >= limit:
                return limit
            chunk_start = chunk_end
        return count

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def _weekdays_after(start: date, end: date) -> int:
    """Monday-to-Friday days d with start < d <= end."""
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def calendar() -> WorkingCalendar:
    """The calendar in force: national holidays plus the decreed days in the database."""
    return WorkingCalendar.from_database()
