from .entities import Entity
from .plans import PlanItem, PlanVersion, ProcurementPlan
from .processes import (
    ProcessDocument,
    ProcessItem,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
    StatusChange,
)

__all__ = [
    "Entity",
    "PlanItem",
    "PlanVersion",
    "ProcessDocument",
    "ProcessItem",
    "ProcessStage",
    "ProcessStatus",
    "ProcurementPlan",
    "ProcurementProcess",
    "StatusChange",
]
