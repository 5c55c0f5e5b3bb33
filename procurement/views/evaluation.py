"""The evaluation table and the award: the public page (/procesos/<identifier>/evaluacion/)
and the committee's page to fill, publish and qualify. Thin: the rules are
procurement.services.evaluation's and .awards'."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.errors import DomainError

from .. import breadcrumbs
from ..forms import EvaluationActionForm, EvaluationEntryForm, QualificationForm
from ..models import Award, Evaluation, EvaluationEntry, ProcurementProcess
from ..services import awards, committee, evaluation
from .staff import managed_or_403


def _lot_awards(process) -> dict:
    return {
        a.item_id: a
        for a in Award.objects.live().filter(process=process).select_related("supplier", "item")
    }


def process_evaluation(request, identifier):
    """The published evaluation table (the latest version, or ?version=N), with its PDF and
    SHA-256, per lot, and each lot's award or desertion."""
    process = get_object_or_404(
        ProcurementProcess.objects.published().select_related(
            "entity__ubigeo__province__department"
        ),
        identifier=identifier,
    )
    published = process.evaluations.filter(status=Evaluation.Status.PUBLISHED).select_related(
        "document"
    )
    versions = list(published.order_by("version").values_list("version", flat=True))
    wanted = request.GET.get("version")
    table = None
    if wanted is not None:
        if not wanted.isdigit() or len(wanted) > 5:
            raise Http404
        table = published.filter(version=int(wanted)).first()
        if table is None:
            raise Http404
    elif versions:
        table = published.get(version=versions[-1])
    return render(
        request,
        "procurement/process_evaluation.html",
        {
            "process": process,
            "breadcrumbs": breadcrumbs.for_process(process, here=_("Evaluation of bids")),
            "table": table,
            "versions": versions,
            "lots": evaluation.lot_tables(table) if table else [],
            "awards": _lot_awards(process),
            "criteria": evaluation.technical_criteria(process),
        },
    )


def _committee_process_or_403(user, process_id):
    process = managed_or_403(
        user, ProcurementProcess.objects.select_related("entity__ubigeo"), pk=process_id
    )
    if not committee.is_committee_member(user, process):
        raise PermissionDenied(
            _("Only members of the process's selection committee evaluate its bids.")
        )
    return process


def _entry_forms(draft, criteria, data=None) -> list[tuple[EvaluationEntry, EvaluationEntryForm]]:
    if draft is None or draft.published:
        return []
    forms = []
    for entry in draft.entries.select_related("opened_bid", "item").prefetch_related("scores"):
        initial = {
            "admissible": {True: "yes", False: "no"}.get(entry.admissible, ""),
            "reason": entry.inadmissible_reason,
        }
        initial.update({f"score_{s.criterion_id}": s.score for s in entry.scores.all()})
        forms.append(
            (
                entry,
                EvaluationEntryForm(
                    data, prefix=f"e{entry.pk}", criteria=criteria, initial=initial
                ),
            )
        )
    return forms


def _save_entries(user, forms) -> bool:
    """Record every row whose admissibility is chosen; False when a row was refused."""
    ok = True
    for entry, form in forms:
        if not form.is_valid():
            ok = False
            continue
        choice = form.cleaned_data["admissible"]
        if not choice:
            continue
        try:
            evaluation.record_entry(
                actor=user,
                entry=entry,
                admissible=choice == "yes",
                reason=form.cleaned_data["reason"],
                scores=form.scores(),
            )
        except DomainError as error:
            error.add_to(form)
            ok = False
    return ok


def _qualification_rows(process, published) -> list[dict]:
    """Per lot: its award if decided, otherwise the next bid to qualify with its form."""
    if published is None:
        return []
    decided = _lot_awards(process)
    rows = []
    for index, item in enumerate(evaluation.lots(process), start=1):
        award = decided.get(item.pk if item else None)
        entry = None if award else awards.next_to_qualify(published, item)
        rows.append(
            {
                "item": item,
                "award": award,
                "entry": entry,
                "refusal": None if award else awards.qualification_refusal(process, item),
                "form": QualificationForm(initial={"entry": entry.pk}, auto_id=f"id_q{index}_%s")
                if entry
                else None,
            }
        )
    return rows


@login_required
def process_evaluation_manage(request, process_id):
    """/gestion/procesos/<id>/evaluacion/: the committee starts the table, judges each row,
    publishes it, then qualifies the best ranked bid of each lot."""
    process = _committee_process_or_403(request.user, process_id)
    here = reverse("procurement:process_evaluation_manage", args=[process.pk])
    criteria = evaluation.technical_criteria(process)
    action = request.POST.get("action") if request.method == "POST" else None
    action_form = EvaluationActionForm(request.POST) if action in ("start", "publish") else None
    qualification_form = QualificationForm(request.POST) if action == "qualify" else None
    draft = evaluation.current_evaluation(process)
    entry_forms = _entry_forms(draft, criteria, request.POST if action == "save" else None)
    status = 200
    error = None
    if request.method == "POST":
        status = 400
        try:
            if action_form is not None and action_form.is_valid():
                if action_form.cleaned_data["action"] == "start":
                    evaluation.start_evaluation(
                        actor=request.user,
                        process=process,
                        reason=action_form.cleaned_data["reason"],
                    )
                    messages.success(request, _("The evaluation table has been started."))
                else:
                    evaluation.publish_evaluation(actor=request.user, process=process)
                    messages.success(request, _("The evaluation table has been published."))
                return redirect(here)
            if action == "save" and entry_forms:
                if _save_entries(request.user, entry_forms):
                    messages.success(request, _("The evaluation table has been saved."))
                    return redirect(here)
            elif qualification_form is not None and qualification_form.is_valid():
                data = qualification_form.cleaned_data
                entry = EvaluationEntry.objects.filter(
                    pk=data["entry"], evaluation__process=process
                ).first()
                if entry is None:
                    raise DomainError(_("Choose a bid of this process."), code="entry_unknown")
                awards.qualify(
                    actor=request.user,
                    process=process,
                    entry=entry,
                    passed=data["passed"] == "yes",
                    reason=data["reason"],
                )
                messages.success(request, _("The qualification has been recorded."))
                return redirect(here)
            elif action == "award_direct":
                awards.award_direct(actor=request.user, process=process)
                messages.success(request, _("The invited supplier's offer has been awarded."))
                return redirect(here)
            elif action == "desert_no_bids":
                awards.desert_without_bids(actor=request.user, process=process)
                messages.success(request, _("The process has been declared deserted."))
                return redirect(here)
            elif action not in ("start", "publish", "save", "qualify", "award_direct"):
                error = DomainError(_("Choose an action of this page."), code="action_unknown")
        except DomainError as refused:
            error = refused
            for form in (action_form, qualification_form):
                if form is not None:
                    refused.add_to(form)
    draft = evaluation.current_evaluation(process)
    published = evaluation.published_evaluation(process)
    if action != "save":
        entry_forms = _entry_forms(draft, criteria)
    context = {
        "process": process,
        "draft": draft if draft and not draft.published else None,
        "published": published,
        "criteria": criteria,
        "entry_forms": entry_forms,
        "action_form": action_form,
        "qualification_form": qualification_form,
        "error": error,
        "start_refusal": evaluation.evaluation_refusal(process, reason="-"),
        "publish_refusal": evaluation.publish_refusal(draft) if draft else None,
        "qualification_rows": _qualification_rows(process, published),
        "no_bids": awards.desert_without_bids_refusal(process) is None,
        "direct": process.procedure_type == "CD",
        "direct_refusal": awards.direct_award_refusal(process),
        "lots": evaluation.lot_tables(published) if published else [],
    }
    return render(request, "procurement/manage/process_evaluation.html", context, status=status)
