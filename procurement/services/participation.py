"""Taking part in a process: supplier registration as participant, questions and
observations, the entity's answers (published all at once) and the integrated bases."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.permissions import require_entity_staff, require_supplier_user
from core import audit, clock, formatting
from core.codelists import Stage
from core.errors import DomainError
from core.formatting import day as _day
from core.models import round_uit
from notifications import events
from notifications.models import EventKind
from suppliers.services import require_may_act_in_processes, sme_standing_on

from ..calendar_rules import deadline_text
from ..models import Participant, ProcessDocument, ProcessStatus, ProcurementProcess, Question
from .processes import publish_document


def _window(process: ProcurementProcess, stage: str):
    return process.stages.filter(stage=stage).first()


def _not_called(process: ProcurementProcess) -> DomainError:
    return DomainError(
        _("The process is %(status)s: it does not accept this now.")
        % {"status": str(process.get_status_display()).lower()},
        code="not_called",
    )


def sme_refusal(supplier, day: date | None = None, *, named: bool = False) -> str | None:
    """Why a supplier cannot take part in an SME-only process on `day` (today by default),
    or None if it can: it must be a micro or small enterprise by a classification based on
    the sales of one of the two previous years, under the SME rule in force that day
    (suppliers.services.sme_standing_on says which classification counts and how). The
    reason gives the class and the figures that decided it (sales of that year in soles and
    in UIT, workers where the rule counts them, and the rule's limit for a small
    enterprise). `named`: the supplier is another company than the reader's (a consortium
    member), so it is named by RUC and name instead of "your company"."""
    standing = sme_standing_on(supplier, day or clock.today())
    if standing.is_sme:
        return None
    reserved = _("This process is reserved for micro and small enterprises (Law 28015 art. 21).")
    first, last = standing.sales_years
    if named:
        names = {"ruc": supplier.ruc, "name": supplier.legal_name}
        company = _("the company %(ruc)s (%(name)s)") % names
        company_first = _("The company %(ruc)s (%(name)s)") % names
    else:
        company, company_first = _("your company"), _("Your company")
    if standing.rule is None:
        reason = _("There is no SME rule in force for %(year)s.") % {"year": standing.day.year}
    elif standing.classification is None:
        reason = _(
            "%(company)s has no size classification based on its sales of %(first)s or "
            "%(last)s: declare the sales and workers of one of those years first."
        ) % {"company": company_first, "first": first, "last": last}
    elif standing.reclassified:
        reason = _(
            "By its sales of %(year)s, %(company)s is %(size)s under %(rule)s, the rule in "
            "force (it was classified under %(old_rule)s), so it cannot take part."
        ) % {
            "year": standing.classification.sales_year_id,
            "company": company,
            "size": standing.get_size_class_display().lower(),
            "rule": standing.rule.name,
            "old_rule": standing.classification.rule.name,
        }
    else:
        reason = _(
            "By its sales of %(year)s, %(company)s is classified as %(size)s under %(rule)s, "
            "so it cannot take part."
        ) % {
            "year": standing.classification.sales_year_id,
            "company": company,
            "size": standing.get_size_class_display().lower(),
            "rule": standing.rule.name,
        }
    if standing.rule is not None and standing.classification is not None:
        reason = f"{reason} {_sme_figures(standing)}"
    return f"{reserved} {reason}"


def _sme_figures(standing) -> str:
    """The figures that decided a classification under the rule in force: the declared
    sales of its year, in soles and in UIT of that year, the workers where the rule counts
    them, and the rule's limits for a small enterprise (the largest SME)."""
    classification, rule = standing.classification, standing.rule
    sales_year = classification.sales_year
    parts = [
        _(
            "Declared sales of %(year)s: %(sales)s, that is %(uit)s UIT (the UIT of %(year)s "
            "was %(uit_value)s)."
        )
        % {
            "year": sales_year.year,
            "sales": formatting.money(classification.annual_sales),
            "uit": formatting.amount(round_uit(sales_year.to_uit(classification.annual_sales))),
            "uit_value": formatting.money(sales_year.uit),
        }
    ]
    limits = {"rule": rule.name, "max_uit": formatting.amount(rule.small_max_sales_uit)}
    if rule.small_max_workers is None:
        parts.append(
            _("Under %(rule)s a small enterprise sells at most %(max_uit)s UIT a year.") % limits
        )
    else:
        if classification.workers is None:
            parts.append(_("Workers: not declared."))
        else:
            parts.append(
                _("Workers: %(workers)s.") % {"workers": formatting.number(classification.workers)}
            )
        limits["max_workers"] = formatting.number(rule.small_max_workers)
        parts.append(
            _(
                "Under %(rule)s a small enterprise sells at most %(max_uit)s UIT a year and has "
                "at most %(max_workers)s workers."
            )
            % limits
        )
    return " ".join(parts)


def supplier_refusals(
    process: ProcurementProcess, supplier, day: date, *, named: bool = False
) -> list[DomainError]:
    """Every reason the supplier itself cannot take part in the process on `day`, whatever
    the stage (empty when none): it must be allowed to act in processes (registry in force,
    not debarred, RUC ownership not under review) and, in an SME-only process, be a micro or
    small enterprise. Registration and bids (and the process page's "can I take part?") read
    their supplier reasons here. `named`: worded for another company's reader (sme_refusal)."""
    reasons = []
    try:
        require_may_act_in_processes(supplier, day=day)
    except DomainError as refusal:
        reasons.append(refusal)
    if process.sme_only:
        refusal = sme_refusal(supplier, day, named=named)
        if refusal:
            reasons.append(DomainError(refusal, code="sme_only"))
    return reasons


def registration_window(process: ProcurementProcess):
    """(opens, closes): the stages whose start opens and whose end closes registration: the
    calendar's registration stage, or from the call to the bid deadline when the procedure
    has no such stage."""
    window = _window(process, Stage.REGISTRATION)
    return window or _window(process, Stage.CALL), window or _window(process, Stage.BIDS)


def registration_refusals(process: ProcurementProcess, supplier) -> list[DomainError]:
    """Every reason the supplier cannot register in the process now, the blocking one first
    (empty when it may): the process must be called, now within the registration window
    (registration_window), and supplier_refusals must find nothing. Judged by core.clock at
    this moment."""
    now = clock.now()
    if process.status != ProcessStatus.CALLED:
        return [_not_called(process)]
    reasons = []
    opens, closes = registration_window(process)
    if opens and not opens.has_begun(now):
        reasons.append(
            DomainError(
                _("Registration opens on %(date)s.") % {"date": _day(opens.start)},
                code="registration_not_open",
            )
        )
    elif closes and closes.has_closed(now):
        reasons.append(
            DomainError(
                _("Registration closed on %(date)s.") % {"date": deadline_text(closes)},
                code="registration_closed",
            )
        )
    return reasons + supplier_refusals(process, supplier, timezone.localdate(now))


def registration_refusal(process: ProcurementProcess, supplier) -> DomainError | None:
    """Why the supplier cannot register in the process now, or None: the first of
    registration_refusals (the service refuses with it; the process page says it, and the
    rest)."""
    reasons = registration_refusals(process, supplier)
    return reasons[0] if reasons else None


@transaction.atomic
def register_participant(
    actor,
    process: ProcurementProcess,
    supplier,
    *,
    fee_receipt: str = "",
) -> Participant:
    """Register a supplier as participant: only its own users, when registration_refusal
    finds nothing against it (calendar, registry, SME reservation)."""
    require_supplier_user(actor, supplier)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    refusal = registration_refusal(process, supplier)
    if refusal is not None:
        raise refusal
    if Participant.objects.filter(process=process, supplier=supplier).exists():
        raise DomainError(
            _("Your company is already registered in this process."), code="already_registered"
        )
    try:
        with transaction.atomic():
            participant = Participant.objects.create(
                process=process,
                supplier=supplier,
                registered_at=clock.now(),
                registered_by=actor,
                fee_receipt=fee_receipt.strip(),
            )
    except IntegrityError:
        raise DomainError(
            _("Your company is already registered in this process."), code="already_registered"
        ) from None
    payload = {"identifier": process.identifier, "supplier": supplier.ruc}
    audit.record(actor, "process.participant_registered", participant, payload)
    events.record(
        EventKind.PROCESS_PARTICIPANT_REGISTERED,
        participant,
        entity=process.entity,
        payload=payload,
    )
    return participant


def question_refusal(
    process: ProcurementProcess, participant: Participant | None
) -> DomainError | None:
    """Why a supplier cannot ask or observe now, or None: only a registered participant of a
    called process, still allowed to act in processes (not debarred, registry in force),
    within the calendar's questions stage (until the instant it closes) and before the
    answers."""
    now = clock.now()
    if process.status != ProcessStatus.CALLED:
        return _not_called(process)
    if participant is None:
        return DomainError(_("Register as participant first."), code="not_participant")
    try:
        # Registered earlier does not mean still allowed: a debarment or a lapsed registry
        # since then stops the supplier from taking part.
        require_may_act_in_processes(participant.supplier, day=timezone.localdate(now))
    except DomainError as refusal:
        return refusal
    window = _window(process, Stage.QUESTIONS)
    if window is None:
        return DomainError(_("This procedure has no questions stage."), code="no_questions_stage")
    if not window.is_open(now) or process.answers_published_at:
        return DomainError(
            _("Questions are received from %(start)s to %(end)s.")
            % {"start": _day(window.start), "end": deadline_text(window)},
            code="questions_closed",
        )
    return None


@transaction.atomic
def submit_question(
    actor,
    process: ProcurementProcess,
    supplier,
    text: str,
    *,
    kind: str = Question.Kind.QUESTION,
) -> Question:
    """A registered participant asks or observes during the questions window
    (question_refusal)."""
    require_supplier_user(actor, supplier)
    participant = Participant.objects.filter(process=process, supplier=supplier).first()
    refusal = question_refusal(process, participant)
    if refusal is not None:
        raise refusal
    text = text.strip()
    if not text or len(text) > 5000:
        raise DomainError(
            _("Write the question (up to 5,000 characters)."), field="text", code="question_text"
        )
    if kind not in Question.Kind.values:
        raise DomainError(_("Choose question or observation."), field="kind", code="question_kind")
    question = Question.objects.create(
        process=process, participant=participant, kind=kind, text=text, submitted_at=clock.now()
    )
    audit.record(actor, "process.question_submitted", question, {"identifier": process.identifier})
    events.record(
        EventKind.PROCESS_QUESTION_SUBMITTED,
        question,
        entity=process.entity,
        payload={"identifier": process.identifier},
    )
    return question


@transaction.atomic
def answer_question(actor, question: Question, text: str) -> Question:
    """The committee drafts an answer; nobody else sees it until all are published. Each
    drafted or changed answer is audited with its text before and after (it becomes public
    with the answers); saving it unchanged writes nothing."""
    require_entity_staff(actor, question.process)
    process = ProcurementProcess.objects.select_for_update().get(pk=question.process_id)
    if process.answers_published_at:
        raise DomainError(
            _("The answers are already published and cannot change."), code="answers_published"
        )
    if not text.strip():
        raise DomainError(_("Write the answer."), field="answer", code="answer_required")
    before = Question.objects.values_list("answer", flat=True).get(pk=question.pk)
    question.answer = text.strip()
    if question.answer == before:
        return question
    question.answered_at = clock.now()
    question.save(update_fields=["answer", "answered_at"])
    audit.record(
        actor,
        "process.answer_drafted",
        question,
        {
            "identifier": process.identifier,
            "question": question.pk,
            "before": before or None,
            "after": question.answer,
        },
    )
    return question


def answers_refusal(process: ProcurementProcess) -> DomainError | None:
    """Why the committee cannot publish the answers now, or None: the process is called, the
    questions window has closed, and the answers stage of the calendar has not ended (past
    it, the calendar must be amended first)."""
    now = clock.now()
    today = timezone.localdate(now)
    if process.status != ProcessStatus.CALLED:
        return _not_called(process)
    if process.answers_published_at:
        return DomainError(_("The answers are already published."), code="answers_published")
    window = _window(process, Stage.QUESTIONS)
    if window is None:
        return DomainError(_("This procedure has no questions stage."), code="no_questions_stage")
    if not window.has_closed(now):
        return DomainError(
            _("The questions window is open until %(date)s.") % {"date": deadline_text(window)},
            code="questions_open",
        )
    stage = _window(process, Stage.ANSWERS)
    if stage and today > stage.end:
        return DomainError(
            _(
                "The calendar's answers stage ended on %(date)s: amend the calendar (with its "
                "reason) before publishing them."
            )
            % {"date": _day(stage.end)},
            code="stage_over",
        )
    return None


@transaction.atomic
def publish_answers(
    actor, process: ProcurementProcess, *, upload, title: str = ""
) -> ProcessDocument:
    """Publish every answer at once, as one document plus the structured list, when
    answers_refusal finds nothing against it and every question has its answer."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    refusal = answers_refusal(process)
    if refusal is not None:
        raise refusal
    pending = process.questions.filter(answer="").count()
    if pending:
        raise DomainError(
            ngettext(
                "%(count)s question has no answer yet.",
                "%(count)s questions have no answer yet.",
                pending,
            )
            % {"count": pending},
            code="unanswered_questions",
        )
    document = publish_document(
        actor,
        process,
        kind=ProcessDocument.Kind.ANSWERS,
        title=title or _("Answers to questions and observations"),
        upload=upload,
        announce=False,
        checked_by_stage_service=True,
    )
    process.answers_published_at = clock.now()
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


def integrated_bases_refusal(process: ProcurementProcess) -> DomainError | None:
    """Why the committee cannot publish the integrated bases now, or None: the process is
    called, the answers are out (where the procedure has questions) and the calendar's
    integration stage has not ended; never once bids are being received."""
    today = clock.today()
    if process.status != ProcessStatus.CALLED:
        return _not_called(process)
    if process.integrated_bases_published_at:
        return DomainError(
            _("The integrated bases are already published; amend them with a new document."),
            code="integrated_bases_published",
        )
    if _window(process, Stage.QUESTIONS) and not process.answers_published_at:
        return DomainError(
            _("Publish the answers to questions and observations first."),
            code="answers_first",
        )
    stage = _window(process, Stage.INTEGRATION)
    bids = _window(process, Stage.BIDS)
    if (stage and today > stage.end) or (bids and today >= bids.start):
        return DomainError(
            _(
                "The calendar's integration stage ended on %(date)s: amend the calendar (with "
                "its reason) before publishing the integrated bases."
            )
            % {"date": _day(stage.end if stage else bids.start)},
            code="stage_over",
        )
    return None


@transaction.atomic
def publish_integrated_bases(
    actor, process: ProcurementProcess, *, upload, title: str = ""
) -> ProcessDocument:
    """Publish the final tender documents when integrated_bases_refusal finds nothing
    against it: after the answers, within the calendar's integration stage."""
    require_entity_staff(actor, process)
    process = ProcurementProcess.objects.select_for_update().get(pk=process.pk)
    refusal = integrated_bases_refusal(process)
    if refusal is not None:
        raise refusal
    document = publish_document(
        actor,
        process,
        kind=ProcessDocument.Kind.INTEGRATED_BASES,
        title=title or _("Integrated tender documents"),
        upload=upload,
        announce=False,
        checked_by_stage_service=True,
    )
    process.integrated_bases_published_at = clock.now()
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
