from .entities import Entity
from .plans import PlanItem, PlanVersion, ProcurementPlan
from .processes import (
    Participant,
    ProcessDocument,
    ProcessItem,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
    Question,
    StatusChange,
)

__all__ = [
    "Entity",
    "Participant",
    "PlanItem",
    "PlanVersion",
    "ProcessDocument",
    "ProcessItem",
    "ProcessStage",
    "ProcessStatus",
    "ProcurementPlan",
    "ProcurementProcess",
    "Question",
    "StatusChange",
]
