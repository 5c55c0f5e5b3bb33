"""Documents of a process: published once, checked by content, stored by their SHA-256,
corrected only by a replacing document with its reason."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff
from core import audit, clock
from core.errors import DomainError
from notifications import events
from notifications.models import EventKind

from ... import document_store
from ...documents import check_document
from ...models import (
    ProcessDocument,
    ProcessStatus,
    ProcurementProcess,
)
from ...state_machine import (
    FINAL_STATUSES,
)

STAGE_DOCUMENT_KINDS = frozenset(
    {ProcessDocument.Kind.ANSWERS, ProcessDocument.Kind.INTEGRATED_BASES}
)


@transaction.atomic
def publish_document(
    actor,
    process: ProcurementProcess,
    *,
    kind: str,
    title: str,
    upload,
    replaces=None,
    reason: str = "",
    announce: bool = True,
    checked_by_stage_service: bool = False,
) -> ProcessDocument:
    """Publish a document of the process, checked by content (PDF, DOCX, XLSX, ZIP) and
    hashed with SHA-256. It never changes afterwards: a correction is a new document that
    replaces the old one, with its reason, and is announced as an amendment."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    if process.status in FINAL_STATUSES:
        raise DomainError(_("A finished process takes no new documents."), code="process_finished")
    if kind not in ProcessDocument.Kind.values:
        raise DomainError(_("Choose the kind of document."), field="kind", code="document_kind")
    if replaces is not None:
        kind = replaces.kind  # an amendment is the same kind of document as what it replaces
    if kind in STAGE_DOCUMENT_KINDS and not checked_by_stage_service and replaces is None:
        # Answers and integrated bases have their own rules (procurement.services.participation).
        raise DomainError(
            _("Publish the answers and the integrated bases with their own actions."),
            field="kind",
            code="stage_document_has_own_action",
        )
    if not title.strip():
        raise DomainError(_("The document needs a title."), field="title", code="title_required")
    if replaces is not None:
        if replaces.process_id != process.pk:
            raise DomainError(
                _("A document can only replace another of the same process."),
                field="replaces",
                code="replaces_other_process",
            )
        if ProcessDocument.objects.filter(replaces=replaces).exists():
            raise DomainError(
                _("That document has already been replaced."),
                field="replaces",
                code="already_replaced",
            )
        if not reason.strip():
            raise DomainError(
                _("An amendment must state its reason."), field="reason", code="reason_required"
            )
    checked = check_document(upload)
    document = ProcessDocument(
        process=process,
        entity_id=process.entity_id,
        kind=kind,
        title=title.strip(),
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        replaces=replaces,
        amendment_reason=reason.strip() if replaces else "",
        published_at=clock.now(),
        published_by=actor,
    )
    # Written under its hash only now that every check passed; should this transaction
    # roll back, the file is an unreferenced orphan that document_store.prune_orphans removes.
    document.file.name = document_store.store(
        upload, sha256=checked.sha256, extension=checked.extension
    )
    document.save()
    payload = {
        "identifier": process.identifier,
        "title": document.title,
        "kind": kind,
        "sha256": checked.sha256,
        "replaces": replaces.pk if replaces else None,
    }
    audit.record(actor, "process.document_published", document, payload)
    if announce and (replaces is not None or process.status != ProcessStatus.DRAFT):
        events.record(
            EventKind.PROCESS_DOCUMENT_PUBLISHED,
            document,
            entity=process.entity,
            payload={**payload, "reason": reason},
        )
    return document
