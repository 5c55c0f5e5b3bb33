"""Everything that changes a selection process, one module per seam: creation, calendar,
status (one service per action) and documents. Callers import from here."""

from .calendar import current_stage_index, return_stages, set_calendar
from .creation import (
    call_again,
    call_again_refusal,
    check_procedure_type,
    create_process,
    items_to_call_again,
)
from .documents import STAGE_DOCUMENT_KINDS, publish_document
from .status import (
    OfferedAction,
    annul,
    cancel,
    offered_actions,
    publish_call,
    record_status_change,
    restart,
    resume,
    suspend_for_appeal,
    transition_refusal,
)

__all__ = [
    "STAGE_DOCUMENT_KINDS",
    "OfferedAction",
    "annul",
    "call_again",
    "call_again_refusal",
    "cancel",
    "check_procedure_type",
    "create_process",
    "current_stage_index",
    "items_to_call_again",
    "offered_actions",
    "publish_call",
    "publish_document",
    "record_status_change",
    "restart",
    "resume",
    "return_stages",
    "set_calendar",
    "suspend_for_appeal",
    "transition_refusal",
]
