"""Taking part in a process: supplier registration as participant, questions and
observations, the entity's answers (published all at once) and the integrated bases."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import require_entity_staff, require_supplier_user
from core import audit
from core.codelists import Stage
from core.errors import DomainError
from notifications import events
from notifications.models import EventKind

from ..models import Participant, ProcessDocument, ProcessStatus, ProcurementProcess, Question
from .processes import publish_document


def _window(process: ProcurementProcess, stage: str):
    return process.stages.filter(stage=stage).first()


def _require_called(process: ProcurementProcess) -> None:
    if process.status != ProcessStatus.CALLED:
        raise DomainError(
            _("The process is %(status)s: it does not accept this now.")
            % {"status": str(process.get_status_display()).lower()}
        )


def sme_refusal(supplier) -> str | None:
    """Why a supplier cannot take part in an SME-only process, or None if it can."""
    if supplier.is_sme:
        return None
    if not supplier.size_class:
        return _(
            "This process is reserved for micro and small enterprises (Law 28015 art. 21), and your "
            "company has no size classification on record: declare your sales and workers first."
        )
    return _(
        "This process is reserved for micro and small enterprises (Law 28015 art. 21). Your company "
        "is classified as %(size)s under %(rule)s, so it cannot take part."
    ) % {"size": str(supplier.get_size_class_display()).lower(), "rule": supplier.size_rule.name}


@transaction.atomic
def register_participant(actor, process: ProcurementProcess, supplier, *, fee_receipt: str = "",
                         today: date | None = None) -> Participant:  # fmt: skip
    """Register a supplier as participant: only its own users, with a registry in force,
    from the call until the bid deadline; an SME-only process takes only micro and small
    enterprises."""
    require_supplier_user(actor, supplier)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    today = today or timezone.localdate()
    _require_called(process)
    call, bids = _window(process, Stage.CALL), _window(process, Stage.BIDS)
    if call and today < call.start:
        raise DomainError(
            _("Registration opens with the call on %(date)s.") % {"date": call.start.isoformat()}
        )
    if bids and today > bids.end:
        raise DomainError(
            _("Registration closed with the bid deadline on %(date)s.")
            % {"date": bids.end.isoformat()}
        )
    if not supplier.registry_valid_on(today):
        raise DomainError(_("Your supplier registry is not in force: renew it to take part."))
    if process.sme_only:
        refusal = sme_refusal(supplier)
        if refusal:
            raise DomainError(refusal)
    if Participant.objects.filter(process=process, supplier=supplier).exists():
        raise DomainError(_("Your company is already registered in this process."))
    try:
        with transaction.atomic():
            participant = Participant.objects.create(
                process=process, supplier=supplier, registered_at=timezone.now(), registered_by=actor,
                fee_receipt=fee_receipt.strip(),
            )  # fmt: skip
    except IntegrityError:
        raise DomainError(_("Your company is already registered in this process.")) from None
    payload = {"identifier": process.identifier, "supplier": supplier.ruc}
    audit.record(actor, "process.participant_registered", participant, payload)
    events.record(
        EventKind.PROCESS_PARTICIPANT_REGISTERED,
        participant,
        entity=process.entity,
        payload=payload,
    )
    return participant


@transaction.atomic
def submit_question(actor, process: ProcurementProcess, supplier, text: str, *, kind: str = Question.Kind.QUESTION,
                    today: date | None = None) -> Question:  # fmt: skip
    """A registered participant asks or observes during the questions window."""
    require_supplier_user(actor, supplier)
    today = today or timezone.localdate()
    _require_called(process)
    participant = Participant.objects.filter(process=process, supplier=supplier).first()
    if participant is None:
        raise DomainError(_("Register as participant first."))
    window = _window(process, Stage.QUESTIONS)
    if window is None:
        raise DomainError(_("This procedure has no questions stage."))
    if not window.start <= today <= window.end or process.answers_published_at:
        raise DomainError(
            _("Questions are received from %(start)s to %(end)s.")
            % {"start": window.start.isoformat(), "end": window.end.isoformat()}
        )
    text = text.strip()
    if not text or len(text) > 5000:
        raise DomainError(_("Write the question (up to 5,000 characters)."), field="text")
    if kind not in Question.Kind.values:
        raise DomainError(_("Choose question or observation."), field="kind")
    question = Question.objects.create(
        process=process, participant=participant, kind=kind, text=text, submitted_at=timezone.now()
    )
    audit.record(actor, "process.question_submitted", question, {"identifier": process.identifier})
    events.record(EventKind.PROCESS_QUESTION_SUBMITTED, question, entity=process.entity,
                  payload={"identifier": process.identifier})  # fmt: skip
    return question


@transaction.atomic
def answer_question(actor, question: Question, text: str) -> Question:
    """The committee drafts an answer; nobody else sees it until all are published."""
    require_entity_staff(actor, question.process)
    process = ProcurementProcess.objects.select_for_update().get(pk=question.process_id)
    if process.answers_published_at:
        raise DomainError(_("The answers are already published and cannot change."))
    if not text.strip():
        raise DomainError(_("Write the answer."), field="answer")
    question.answer = text.strip()
    question.answered_at = timezone.now()
    question.save(update_fields=["answer", "answered_at"])
    return question


@transaction.atomic
def publish_answers(actor, process: ProcurementProcess, *, upload, title: str = "",
                    today: date | None = None) -> ProcessDocument:  # fmt: skip
    """Publish every answer at once, as one document plus the structured list, once the
    questions window has closed and every question has its answer."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    today = today or timezone.localdate()
    _require_called(process)
    if process.answers_published_at:
        raise DomainError(_("The answers are already published."))
    window = _window(process, Stage.QUESTIONS)
    if window is None:
        raise DomainError(_("This procedure has no questions stage."))
    if today <= window.end:
        raise DomainError(
            _("The questions window is open until %(date)s.") % {"date": window.end.isoformat()}
        )
    pending = process.questions.filter(answer="").count()
    if pending:
        raise DomainError(_("%(count)s questions have no answer yet.") % {"count": pending})
    document = publish_document(actor, process, kind=ProcessDocument.Kind.ANSWERS,
                                title=title or _("Answers to questions and observations"), upload=upload,
                                announce=False,
        checked_by_stage_service=True)  # fmt: skip
    process.answers_published_at = timezone.now()
    process.save(update_fields=["answers_published_at"])
    payload = {
        "identifier": process.identifier,
        "questions": process.questions.count(),
        "document": document.pk,
    }
    audit.record(actor, "process.answers_published", process, payload)
    events.record(
        EventKind.PROCESS_ANSWERS_PUBLISHED, process, entity=process.entity, payload=payload
    )
    return document


@transaction.atomic
def publish_integrated_bases(
    actor, process: ProcurementProcess, *, upload, title: str = ""
) -> ProcessDocument:
    """Publish the final tender documents, after the answers (where the procedure has
    questions)."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    _require_called(process)
    if process.integrated_bases_published_at:
        raise DomainError(
            _("The integrated bases are already published; amend them with a new document.")
        )
    if _window(process, Stage.QUESTIONS) and not process.answers_published_at:
        raise DomainError(_("Publish the answers to questions and observations first."))
    document = publish_document(actor, process, kind=ProcessDocument.Kind.INTEGRATED_BASES,
                                title=title or _("Integrated tender documents"), upload=upload,
                                announce=False,
        checked_by_stage_service=True)  # fmt: skip
    process.integrated_bases_published_at = timezone.now()
    process.save(update_fields=["integrated_bases_published_at"])
    payload = {"identifier": process.identifier, "document": document.pk}
    audit.record(actor, "process.integrated_bases_published", process, payload)
    events.record(
        EventKind.PROCESS_INTEGRATED_BASES_PUBLISHED,
        process,
        entity=process.entity,
        payload=payload,
    )
    return document
