from .entities import Entity
from .plans import PlanItem, PlanVersion, ProcurementPlan

__all__ = ["Entity", "PlanItem", "PlanVersion", "ProcurementPlan"]
