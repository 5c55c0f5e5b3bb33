from .entities import Entity
from .plans import PlanItem, PlanVersion, ProcurementPlan
from .processes import ProcessItem, ProcessStage, ProcessStatus, ProcurementProcess, StatusChange

__all__ = [
    "Entity",
    "PlanItem",
    "PlanVersion",
    "ProcessItem",
    "ProcessStage",
    "ProcessStatus",
    "ProcurementPlan",
    "ProcurementProcess",
    "StatusChange",
]
