"""Demo calendars and histories on working-day numbers: stage offsets that meet every
core.StageMinimum, and a path through procurement.state_machine.TRANSITIONS to a status that
agrees with the calendar and today (each action on or after its calendar edge).

Dates are worked out on working-day numbers (one WorkingCalendar, consulted once per day of
the period), which keeps a million calendars cheap.
"""

import random
from bisect import bisect_left
from datetime import date, timedelta

from core.codelists import Stage
from core.workdays import WorkingCalendar

from ..models import ProcessStatus as S
from ..state_machine import TRANSITIONS
from .process_profile import DEFAULT_LAYOUT, LAYOUT, REASONS


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


def stage_offsets(
    rng: random.Random, order: list[str], rules: dict[str, list[tuple]]
) -> dict[str, tuple[int, int]]:
    """Stage offsets from the call's start, in working days, every minimum met."""
    offsets: dict[str, tuple[int, int]] = {}
    previous_start = previous_end = 0
    registration = None
    for stage in order:
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


def status_path(
    rng: random.Random, status: str, o: dict[str, tuple[int, int]], order: list[str], T: int, U: int
):
    """The actions leading to `status` as (offset, action, reason, return stage), and the
    range of call days (absolute working-day numbers, None: unbounded) that agrees with
    today. Offsets count working days from the call's start."""
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
            events += [
                (s, "suspend", reason("suspend_call"), ""),
                (r, "resume", reason("resume"), ""),
            ]
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
            events += [
                (s, "suspend", reason("suspend_award"), ""),
                (r, "resume", reason("resume"), ""),
            ]
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


def replay(rng: random.Random, process, status: str, call: int, events: list[tuple]) -> None:
    """Walk the state machine along `events`, timing each action on its working day."""
    current, suspended_from = S.DRAFT, ""
    day, minute = process.created
    for offset, action, reason, back in events:
        rule = TRANSITIONS[action]
        refused = getattr(rule, "refused_if_suspended_from", ())
        if current not in rule.sources or (current == S.SUSPENDED and suspended_from in refused):
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


def rushed_offsets(
    offsets: dict[str, tuple[int, int]], order: list[str], award_day: int
) -> dict[str, tuple[int, int]]:
    """The calendar of a rushed process, the award starting `award_day` working days after
    the call: the stages up to the bids squeezed in proportion to end two working days before
    it (well below the legal minimum of the bid window), those between the bids and the award
    (opening, evaluation) on the day in between, so the bids are opened the day before the
    award, and the stages after the award keep their distance from it (the standstill still
    meets its own minimum). The demo's deliberate red flags."""
    award_start, award_end = offsets[Stage.AWARD]
    bids_end = offsets[Stage.BIDS][1]
    if award_start <= award_day or award_day < 2 or bids_end <= award_day - 2:
        return offsets
    factor = (award_day - 2) / bids_end
    squeezed: dict[str, tuple[int, int]] = {}
    part = "before"
    shift = award_end - (award_day + award_end - award_start)
    for stage in order:
        start, end = offsets[stage]
        if stage == Stage.AWARD:
            squeezed[stage] = (award_day, award_day + award_end - award_start)
            part = "after"
        elif part == "before":
            squeezed[stage] = (int(start * factor), int(end * factor))
            if stage == Stage.BIDS:
                part = "between"
        elif part == "between":
            squeezed[stage] = (award_day - 1, award_day - 1)
        else:
            squeezed[stage] = (start - shift, end - shift)
    return squeezed
