from .appeals import Appeal
from .awards import Award, Qualification
from .bids import (
    Bid,
    BidMemberTag,
    BidVersion,
    ConsortiumConsent,
    ProcessSealKey,
    ReceiptLedgerEntry,
    SealedDocument,
)
from .committee import CommitteeMember
from .contracts import Contract, ContractAmendment, SupplierEvaluation
from .criteria import CriteriaAmendment, CriterionKind, EvaluationCriterion
from .entities import Entity
from .evaluation import Evaluation, EvaluationEntry, TechnicalScore
from .imports import ImportedRelease
from .notes import AuditorNote
from .opening import BidOpening, OpenedBid, OpenedBidDocument, OpenedBidLine, OpenedBidMember
from .plans import PlanItem, PlanVersion, ProcurementPlan
from .processes import (
    CalendarAmendment,
    Participant,
    ProcessDocument,
    ProcessItem,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
    Question,
    StatusChange,
    process_identifier,
)
from .risk import ProcessRisk, ProcessRiskFlag, RiskFlagCode
from .sme_summary import SmeLeadTimeYear, SmeShareMonth

__all__ = [
    "ProcessRisk",
    "ProcessRiskFlag",
    "RiskFlagCode",
    "SmeLeadTimeYear",
    "SmeShareMonth",
    "AuditorNote",
    "ImportedRelease",
    "Appeal",
    "Contract",
    "ContractAmendment",
    "SupplierEvaluation",
    "Award",
    "Evaluation",
    "EvaluationEntry",
    "Qualification",
    "TechnicalScore",
    "Bid",
    "BidMemberTag",
    "BidVersion",
    "ConsortiumConsent",
    "ProcessSealKey",
    "ReceiptLedgerEntry",
    "SealedDocument",
    "CalendarAmendment",
    "CommitteeMember",
    "CriteriaAmendment",
    "CriterionKind",
    "Entity",
    "EvaluationCriterion",
    "BidOpening",
    "OpenedBid",
    "OpenedBidDocument",
    "OpenedBidLine",
    "OpenedBidMember",
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
    "process_identifier",
]
