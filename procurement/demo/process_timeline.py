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


def randint(rng: random.Random, low: int, high: int) -> int:
    """A whole number from low to high, both included: rng.randint's distribution, from one
    rng.random() (several times cheaper than randint's rejection sampling, which a million
    calendars call tens of millions of times)."""
    return low + int(rng.random() * (high - low + 1))


def choose(rng: random.Random, options):
    """One of `options` (a sequence), as rng.choice, from one rng.random()."""
    return options[int(rng.random() * len(options))]


def stage_plan(order: list[str], rules: dict[str, list[tuple]]) -> tuple:
    """How stage_offsets lays out the stages of `order` (a procedure type's) under its
    minimums `rules`, worked out once per procedure type: per stage (stage, anchored on the
    call, gap low, gap span, duration low or None for the registration, duration span,
    minimums), and the registration's minimums."""
    steps = []
    registration = None
    for stage in order:
        anchor, gap, duration = LAYOUT.get(stage, DEFAULT_LAYOUT)
        if duration is None:
            registration = stage
        steps.append(
            (
                stage,
                anchor == "call",
                gap[0],
                gap[1] - gap[0] + 1,
                None if duration is None else duration[0],
                0 if duration is None else duration[1] - duration[0] + 1,
                tuple(
                    (at_end, origin, origin_end, days, origin == registration and origin_end)
                    for at_end, origin, origin_end, days in rules.get(stage, ())
                ),
            )
        )
    closing = tuple(rule for rule in rules.get(registration, ()) if rule[0]) if registration else ()
    return tuple(steps), registration, closing


def stage_offsets(rng: random.Random, plan: tuple) -> dict[str, tuple[int, int]]:
    """Stage offsets from the call's start, in working days, every minimum met (`plan` from
    stage_plan)."""
    steps, registration, closing = plan
    random_ = rng.random
    offsets: dict[str, tuple[int, int]] = {}
    previous_start = previous_end = 0
    for stage, from_call, gap, gap_span, duration, span, minimums in steps:
        start = (0 if from_call else previous_end) + gap
        if gap_span > 1:
            start += int(random_() * gap_span)
        if start < previous_start:
            start = previous_start
        if duration is None:  # registration: its end is set once the bids are laid out
            offsets[stage] = (start, start)
            previous_start = start
            continue
        end = start + duration
        if span > 1:
            end += int(random_() * span)
        for at_end, origin, origin_end, days, skip in minimums:
            if skip or origin not in offsets:
                continue
            floor = offsets[origin][origin_end] + days
            if at_end:
                if end < floor:
                    end = floor
            else:
                if start < floor:
                    start = floor
                if end < start:
                    end = start
        offsets[stage] = (start, end)
        previous_start, previous_end = start, end
    if registration:
        start = offsets[registration][0]
        close = offsets[Stage.BIDS][1] - 1 if Stage.BIDS in offsets else start + 5
        end = max(start, close)
        for _at_end, origin, origin_end, days in closing:
            if origin in offsets:
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
    a = award + randint(rng, 0, award_end - award)
    k = (standstill if standstill is not None else a) + 1 + choose(rng, (0, 0, 0, 1, 2))
    publish = (0, "publish", "", "")

    def reason(kind):
        return choose(rng, REASONS[kind])

    if status == S.DRAFT:
        return [], (U, U + 15)
    if status == S.CALLED:
        events = [publish]
        if award >= 3 and rng.random() < 0.06:  # an appeal came and went
            s = randint(rng, 1, award - 2)
            r = randint(rng, s + 1, award - 1)
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
            s = randint(rng, a + 1, standstill if standstill is not None else a + 5)
            events = [
                publish,
                (a, "award", "", ""),
                (s, "suspend", reason("suspend_award"), ""),
            ]
        else:
            s = randint(rng, 1, max(1, award - 1))
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
            s = randint(rng, a + 1, standstill)
            r = s + randint(rng, 5, 20)
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
        q += randint(rng, 0, max(0, contract_end - q))
        events.append((q, "contract", "", ""))
        return events, (None, T - q)
    if status == S.DESERTED:
        d = randint(rng, bids_end + 1, max(bids_end + 1, award))
        return [publish, (d, "desert", reason("desert"), "")], (None, T - d)
    if status == S.CANCELLED:
        x = randint(rng, 1, max(1, award - 1))
        events = [publish]
        if x >= 3 and rng.random() < 0.15:  # cancelled while an appeal ran
            events.append((randint(rng, 1, x - 1), "suspend", reason("suspend_call"), ""))
        events.append((x, "cancel", reason("cancel"), ""))
        return events, (None, T - x)
    # S.VOID
    roll = rng.random()
    if roll < 0.4:
        x = randint(rng, 1, max(1, award - 1))
        events = [publish]
        reached = x
    else:
        events = [publish, (a, "award", "", "")]
        reached = a
        if roll < 0.8 or standstill is None:
            x = a + randint(rng, 1, 5)
        else:
            events.append((k, "consent", "", ""))
            x = k + randint(rng, 0, 3)
    candidates = [
        s for s in order if o[s][0] <= reached and s not in (Stage.STANDSTILL, Stage.CONTRACT)
    ]
    back = choose(rng, candidates) if candidates else order[0]
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
            minute = min(minute + randint(rng, 5, 120), 23 * 60 + 58)
        else:
            day, minute = when, randint(rng, 8 * 60, 18 * 60)
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
