"""Supplier and committee actions around participation: register, ask, answer, publish."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import permissions
from core import idempotency
from core.errors import DomainError
from suppliers.models import Supplier

from ..forms import AnswerForm, ParticipantRegistrationForm, QuestionForm
from ..models import ProcurementProcess, Question
from ..services import participation


def _public_process(identifier) -> ProcurementProcess:
    return get_object_or_404(ProcurementProcess.objects.published(), identifier=identifier)


def _acting_supplier(request) -> Supplier:
    """The supplier the user acts for (the one named in the form, or its only one)."""
    ids = permissions.supplier_ids(request.user)
    if not ids:
        raise PermissionDenied(_("Only supplier users can take part in a process."))
    wanted = request.POST.get("supplier", "")
    if not wanted and len(ids) == 1:
        supplier_id = next(iter(ids))
    else:
        try:
            supplier_id = int(wanted)
        except ValueError:
            raise BadRequest(_("Choose the supplier you act for.")) from None
    if supplier_id not in ids:
        raise PermissionDenied(_("Only users of this supplier may act on its behalf."))
    return Supplier.objects.select_related("size_rule").get(pk=supplier_id)


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@login_required
@require_POST
def register(request, identifier):
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    form = ParticipantRegistrationForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("procurement:process_detail", process.identifier)
    try:
        with idempotency.once(form.cleaned_data["form_token"]):
            participation.register_participant(
                request.user, process, supplier, fee_receipt=form.cleaned_data["fee_receipt"]
            )
    except idempotency.AlreadySubmitted:
        pass  # the first submission's message is already on its way
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(supplier)s is registered as participant.") % {"supplier": supplier.legal_name},
        )
    return redirect("procurement:process_detail", process.identifier)


@login_required
@require_POST
def ask(request, identifier):
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    form = QuestionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("procurement:process_detail", process.identifier)
    try:
        with idempotency.once(form.cleaned_data["form_token"]):
            participation.submit_question(
                request.user,
                process,
                supplier,
                form.cleaned_data["text"],
                kind=form.cleaned_data["kind"],
            )
    except idempotency.AlreadySubmitted:
        pass
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Your question was received. All answers are published together.")
        )
    return redirect("procurement:process_detail", process.identifier)


@login_required
@require_POST
def answer(request, question_id):
    question = get_object_or_404(Question.objects.select_related("process"), pk=question_id)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("procurement:process_workspace", question.process_id)
    try:
        participation.answer_question(request.user, question, form.cleaned_data["answer"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Answer saved (it is published with all the others)."))
    return redirect("procurement:process_workspace", question.process_id)


def _publish_stage_document(request, process_id, publish, missing: str, done: str):
    process = get_object_or_404(ProcurementProcess, pk=process_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise DomainError(missing)
        publish(request.user, process, upload=upload)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("procurement:process_workspace", process.pk)


@login_required
@require_POST
def publish_answers(request, process_id):
    return _publish_stage_document(
        request,
        process_id,
        participation.publish_answers,
        _("Attach the document with the answers."),
        _("Answers published."),
    )


@login_required
@require_POST
def publish_integrated_bases(request, process_id):
    return _publish_stage_document(
        request,
        process_id,
        participation.publish_integrated_bases,
        _("Attach the integrated tender documents."),
        _("Integrated tender documents published."),
    )
