"""Deadlines of the procurement domain, as data, in one place."""

from datetime import date
from decimal import Decimal

from core.workdays import WorkingCalendar

# A plan (or modification) is published within 15 working days of its approval
# (Reglamento de la Ley de Contrataciones del Estado, art. 6).
PLAN_PUBLICATION_WORKING_DAYS = 15


def plan_publication_deadline(approval_date: date, calendar: WorkingCalendar) -> date:
    return calendar.add_working_days(approval_date, PLAN_PUBLICATION_WORKING_DAYS)


def plan_published_late(approval_date: date, published_on: date, calendar: WorkingCalendar) -> bool:
    return published_on > plan_publication_deadline(approval_date, calendar)


def procedures_for(thresholds, object_type: str, value: Decimal, uit: Decimal) -> list[str]:
    """Procedure types whose value band for `object_type` contains `value`, from a fiscal
    year's ProcedureThreshold rows (min inclusive, max exclusive; bounds in UIT computed from
    the year's `uit`)."""
    return [
        t.procedure_type
        for t in thresholds
        if t.object_type == object_type
        and value >= t.lower(uit)
        and (t.upper(uit) is None or value < t.upper(uit))
    ]


# Dates a person types are checked against a window around the fiscal year they belong to:
# a plan is approved from the year before its fiscal year on; a process's stages run from
# the year before to three years after (multi-year contracts). A date outside is a typo
# (9999-12-30, 0001-01-01), refused with a clear message.
YEARS_BEFORE_FISCAL_YEAR, YEARS_AFTER_FISCAL_YEAR = 1, 3


def date_window(fiscal_year: int) -> tuple[date, date]:
    return (
        date(fiscal_year - YEARS_BEFORE_FISCAL_YEAR, 1, 1),
        date(fiscal_year + YEARS_AFTER_FISCAL_YEAR, 12, 31),
    )


# The largest amounts the money columns hold: a plan's total (18 digits) and a process's
# estimated value (16 digits), both with 2 decimals.
MAX_PLAN_TOTAL = Decimal("9999999999999999.99")
MAX_PROCESS_VALUE = Decimal("99999999999999.99")


# Standstill (plazo de consentimiento de la buena pro) in working days after the award,
# by procedure type (Reglamento de la Ley de Contrataciones del Estado, art. 64): 8 for
# Licitación Pública and Concurso Público, 5 for the simplified types. Contratación Directa
# has none: its award is consented at once.
STANDSTILL_WORKING_DAYS = {
    "LP": 8,
    "CP": 8,
    "AS": 5,
    "SIE": 5,
    "COMPRE": 5,
    "SCI": 5,
}


def standstill_end(procedure_type: str, award_day: date, calendar: WorkingCalendar) -> date | None:
    """The last day of the standstill of an award made on `award_day` (the day itself not
    counted), or None for a type without standstill."""
    days = STANDSTILL_WORKING_DAYS.get(procedure_type)
    return None if days is None else calendar.add_working_days(award_day, days)


# The local SME preference (DOMAIN.md, "The 40% SME reservation rule"): departments
# whose entities grant no bonus, by their INEI code (Lima and Callao).
NO_LOCAL_BONUS_DEPARTMENTS = frozenset({"15", "07"})


def local_bonus_applies(entity_department: str, all_sme: bool, bidder_departments) -> bool:
    """The local preference: an entity outside Lima and Callao gives the bonus to an SME
    bidder (a consortium of SMEs only) domiciled in its department (every member)."""
    return (
        entity_department not in NO_LOCAL_BONUS_DEPARTMENTS
        and all_sme
        and set(bidder_departments) == {entity_department}
    )


# Appeals (recurso de apelación, Ley 30225 art. 41): the entity's head resolves them for
# processes whose estimated value is up to this many UIT of the process's fiscal year; above
# it, the national tribunal (Tribunal de Contrataciones del Estado).
APPEAL_TRIBUNAL_THRESHOLD_UIT = 50


def tribunal_resolves(estimated_value, uit) -> bool:
    """Whether the national tribunal, not the entity's head, resolves the appeals of a
    process of this estimated value (above APPEAL_TRIBUNAL_THRESHOLD_UIT UIT of its year)."""
    return estimated_value is not None and estimated_value > APPEAL_TRIBUNAL_THRESHOLD_UIT * uit


# The legal term to resolve an appeal, in working days from its filing, by who resolves it
# (Reglamento, arts. 123 and 126: 12 for the entity; the tribunal's term counted here from
# the filing as well). Past it, the appeal shows as overdue.
APPEAL_RESOLUTION_WORKING_DAYS = {"entidad": 12, "tribunal": 20}
