from datetime import date

import pytest

from core.models import NonWorkingDay
from core.workdays import WorkingCalendar, calendar


@pytest.fixture
def cal():
    return WorkingCalendar()


def test_holy_week_thursday_and_friday_are_not_working_days(cal):
    # 2026: Maundy Thursday 2 April, Good Friday 3 April.
    assert not cal.is_working_day(date(2026, 4, 2))
    assert not cal.is_working_day(date(2026, 4, 3))
    assert cal.is_working_day(date(2026, 4, 1))
    # One working day after Wednesday 1 April is Monday 6 April.
    assert cal.add_working_days(date(2026, 4, 1), 1) == date(2026, 4, 6)
    # Holy Week moves: in 2025 it fell on 17-18 April.
    assert cal.add_working_days(date(2025, 4, 16), 1) == date(2025, 4, 21)


def test_independence_days_28_and_29_july(cal):
    # 2026: 28 (Tue) and 29 (Wed) July are holidays; 23 July (Air Force day) too.
    assert cal.add_working_days(date(2026, 7, 27), 1) == date(2026, 7, 30)
    assert cal.add_working_days(date(2026, 7, 22), 1) == date(2026, 7, 24)
    # 10 working days from Monday 20 July 2026 skip 23, 28, 29 July, 6 August and weekends.
    assert cal.add_working_days(date(2026, 7, 20), 10) == date(2026, 8, 7)


def test_working_days_between_is_the_inverse_of_adding(cal):
    start = date(2026, 3, 25)
    for days in (0, 1, 5, 10, 22, 40):
        end = cal.add_working_days(start, days)
        assert cal.working_days_between(start, end) == days
    assert cal.working_days_between(date(2026, 4, 1), date(2026, 4, 5)) == 0


def test_weekends_do_not_count(cal):
    assert cal.add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Fri -> Mon
    assert cal.next_working_day(date(2026, 11, 28)) == date(2026, 11, 30)


@pytest.mark.django_db
def test_decreed_non_working_days_from_the_database_count():
    NonWorkingDay.objects.create(date=date(2026, 12, 24), name="Día no laborable (decreto)")
    assert not calendar().is_working_day(date(2026, 12, 24))
    assert WorkingCalendar().is_working_day(date(2026, 12, 24))
    # 23 Dec (Wed) + 1 working day skips 24 (decreed) and 25 (Christmas) -> Mon 28.
    assert calendar().add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
