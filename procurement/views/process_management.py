"""Entity staff's pages for running a selection process. Thin: parse a form, call a service
in procurement.services.processes, show the domain error next to the field it concerns."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import idempotency
from core.codelists import Stage
from core.errors import DomainError

from ..calendar_rules import stages_of
from ..forms import (
    CommitteeForm,
    CriteriaForm,
    CriterionFormSet,
    ProcessCalendarForm,
    ProcessCreateForm,
    ProcessDocumentForm,
    ProcessOutsidePlanForm,
    ProcessTransitionForm,
)
from ..models import PlanVersion, ProcurementProcess
from ..queries import free_plan_items, plans_in_force
from ..services import committee, criteria, participation
from ..services import processes as process_services
from .staff import managed_or_403, staff_entities_or_403


def _managed_process(request, pk) -> ProcurementProcess:
    return managed_or_403(request.user, ProcurementProcess.objects.select_related("entity"), pk=pk)


@login_required
def process_workspace_list(request):
    entities = staff_entities_or_403(request.user)
    plans = plans_in_force().filter(plan__entity__in=entities)
    processes = ProcurementProcess.objects.filter(entity__in=entities).order_by("-created_at")[:200]
    return render(
        request, "procurement/manage/process_list.html", {"processes": processes, "plans": plans}
    )


def _create_page(request, form, version, create):
    """Shared by both ways of starting a process: validate, call the service, show errors."""
    if request.method == "POST" and form.is_valid():
        try:
            with idempotency.once(form.cleaned_data["form_token"]) as submission:
                process = create(request.user, form.cleaned_data, **form.process_fields())
                submission.done(reverse("procurement:process_workspace", args=[process.pk]))
        except idempotency.AlreadySubmitted as first:
            return redirect(first.result_url or "procurement:process_workspace_list")
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("Process %(identifier)s created as a draft.")
                % {"identifier": process.identifier},
            )
            return redirect("procurement:process_workspace", process.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "version": version}
    return render(request, "procurement/manage/process_create.html", context, status=status)


@login_required
def process_create(request, version_id):
    """A new process from items of a published plan version in force."""
    version = managed_or_403(
        request.user, PlanVersion.objects.select_related("plan__entity"), pk=version_id
    )
    form = ProcessCreateForm(request.POST or None, plan_items=free_plan_items(version))

    def create(user, data, **fields):
        return process_services.create_process(
            user,
            version.plan.entity,
            year=version.plan.fiscal_year_id,
            plan_item_ids=[item.pk for item in data["plan_items"]],
            **fields,
        )

    return _create_page(request, form, version, create)


@login_required
def process_create_outside_plan(request):
    """A process outside the annual plan, with its reason on record."""
    entities = staff_entities_or_403(request.user)
    form = ProcessOutsidePlanForm(request.POST or None, entities=entities)

    def create(user, data, **fields):
        entity = next(e for e in entities if e.pk == data["entity"])
        return process_services.create_process(
            user,
            entity,
            year=data["year"],
            outside_plan_reason=data["outside_plan_reason"],
            items=[form.item()],
            **fields,
        )

    return _create_page(request, form, None, create)


@login_required
def process_workspace(
    request,
    process_id,
    *,
    calendar_form=None,
    transition_error=None,
    document_form=None,
    committee_form=None,
    status=200,
):
    process = _managed_process(request, process_id)
    stages = stages_of(process.procedure_type)
    rows = list(process.stages.all())
    current = {s.stage: (s.start, s.end) for s in rows}
    times = {s.stage: s.closing_time for s in rows}
    context = {
        "process": process,
        "calendar_form": calendar_form
        or ProcessCalendarForm(stages=stages, initial_dates=current, initial_times=times),
        "actions": process_services.offered_actions(process),
        "return_stages": [(s, Stage(s).label) for s in process_services.return_stages(process)],
        "answers_refusal": participation.answers_refusal(process),
        "integrated_bases_refusal": participation.integrated_bases_refusal(process),
        "transition_form": ProcessTransitionForm(),
        "transition_error": transition_error,
        "history": process.history.select_related("actor"),
        "documents": process.documents.order_by("published_at", "id"),
        "document_form": document_form or ProcessDocumentForm(process=process),
        "committee": process.committee_members.select_related("user"),
        "committee_refusal": committee.committee_refusal(process),
        "committee_form": committee_form or _committee_form(process),
        "criteria": process.criteria.all(),
        "criteria_refusal": criteria.criteria_refusal(process)
        if process.status == "draft"
        else None,
        "call_again_refusal": process_services.call_again_refusal(process)
        if process.status != "draft"
        else None,
        "call_again_items": process_services.items_to_call_again(process)
        if process.status != "draft"
        else [],
    }
    return render(request, "procurement/manage/process_workspace.html", context, status=status)


def _committee_form(process, data=None) -> CommitteeForm:
    current = list(process.committee_members.all())
    initial = {
        "members": [m.user_id for m in current],
        "president": next((m.user_id for m in current if m.role == "president"), None),
    }
    return CommitteeForm(data, staff=committee.entity_staff(process.entity), initial=initial)


@login_required
@require_POST
def process_committee(request, process_id):
    process = _managed_process(request, process_id)
    form = _committee_form(process, request.POST)
    if form.is_valid():
        try:
            committee.designate_committee(
                actor=request.user,
                process=process,
                members=list(form.cleaned_data["members"]),
                president=form.cleaned_data["president"],
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Committee designated."))
            return redirect("procurement:process_workspace", process.pk)
    return process_workspace(request, process_id, committee_form=form, status=400)


@login_required
def process_criteria(request, process_id):
    """The evaluation criteria and the choice of lots: set before the call, amended with a
    reason after it while the bid deadline has not passed (the service's rule, asked of
    procurement.services.criteria for what the page offers)."""
    process = _managed_process(request, process_id)
    amendment = process.status != "draft"
    refusal = criteria.amendment_refusal(process) if amendment else None
    current = list(process.criteria.all())
    form = CriteriaForm(
        request.POST if request.method == "POST" else None,
        amendment=amendment,
        initial={"award": CriteriaForm.BY_ITEMS if process.award_by_items else CriteriaForm.WHOLE},
    )
    rows = CriterionFormSet(
        request.POST if request.method == "POST" else None,
        prefix="criteria",
        initial=[{"kind": c.kind, "name": c.name, "weight": c.weight} for c in current],
    )
    status = 200
    if request.method == "POST":
        status = 400
        if refusal is None and form.is_valid() & rows.is_valid():
            table = [
                criteria.Criterion(*row)
                for row in (f.criterion() for f in rows.forms)
                if row is not None
            ]
            try:
                if amendment:
                    criteria.amend_criteria(
                        actor=request.user,
                        process=process,
                        award_by_items=form.award_by_items(),
                        criteria=table,
                        reason=form.cleaned_data["reason"],
                    )
                else:
                    criteria.set_criteria(
                        actor=request.user,
                        process=process,
                        award_by_items=form.award_by_items(),
                        criteria=table,
                    )
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(
                    request, _("Criteria amended.") if amendment else _("Criteria saved.")
                )
                return redirect("procurement:process_workspace", process.pk)
    context = {
        "process": process,
        "form": form,
        "rows": rows,
        "current": current,
        "amendment": amendment,
        "refusal": refusal,
        "rule": criteria.rule_text(process.procedure_type),
    }
    return render(request, "procurement/manage/process_criteria.html", context, status=status)


@login_required
@require_POST
def process_document_publish(request, process_id):
    process = _managed_process(request, process_id)
    form = ProcessDocumentForm(request.POST, request.FILES, process=process)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with idempotency.once(data["form_token"]):
                process_services.publish_document(
                    request.user,
                    process,
                    kind=data["kind"],
                    title=data["title"],
                    upload=data["file"],
                    replaces=data["replaces"],
                    reason=data["reason"],
                )
        except idempotency.AlreadySubmitted:
            return redirect("procurement:process_workspace", process.pk)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Document published."))
            return redirect("procurement:process_workspace", process.pk)
    return process_workspace(request, process_id, document_form=form, status=400)


@login_required
@require_POST
def process_calendar(request, process_id):
    process = _managed_process(request, process_id)
    form = ProcessCalendarForm(
        request.POST,
        stages=stages_of(process.procedure_type),
        initial_dates={},
        fiscal_year=process.fiscal_year_id,
    )
    if form.is_valid():
        try:
            process_services.set_calendar(
                request.user,
                process,
                form.dates(),
                reason=form.cleaned_data["reason"],
                closing_times=form.closing_times(),
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Calendar saved."))
            return redirect("procurement:process_workspace", process.pk)
    return process_workspace(request, process_id, calendar_form=form, status=400)


# The service behind each button of the status section, called with the form's data.
ACTION_SERVICES = {
    "publish": lambda actor, process, data: process_services.publish_call(
        actor=actor, process=process
    ),
    "suspend": lambda actor, process, data: process_services.suspend_for_appeal(
        actor=actor, process=process, reason=data["reason"]
    ),
    "resume": lambda actor, process, data: process_services.resume(
        actor=actor, process=process, reason=data["reason"]
    ),
    "cancel": lambda actor, process, data: process_services.cancel(
        actor=actor, process=process, reason=data["reason"]
    ),
    "annul": lambda actor, process, data: process_services.annul(
        actor=actor, process=process, reason=data["reason"], return_stage=data["return_stage"]
    ),
    "restart": lambda actor, process, data: process_services.restart(actor=actor, process=process),
}


@login_required
@require_POST
def process_transition(request, process_id):
    process = _managed_process(request, process_id)
    form = ProcessTransitionForm(request.POST)
    if not form.is_valid():
        if "action" in form.errors:
            message = _("Choose an action.")
        else:
            message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return process_workspace(request, process_id, transition_error=message, status=400)
    service = ACTION_SERVICES.get(form.cleaned_data["action"])
    if service is None:
        return process_workspace(
            request, process_id, transition_error=_("Choose an action."), status=400
        )
    try:
        process = service(request.user, process, form.cleaned_data)
    except DomainError as error:
        return process_workspace(request, process_id, transition_error=error.message, status=400)
    messages.success(
        request,
        _("Done: the process is now %(status)s.") % {"status": process.get_status_display()},
    )
    return redirect("procurement:process_workspace", process.pk)


@login_required
@require_POST
def process_call_again(request, process_id):
    """Call a deserted process (or its deserted items) again: a new draft, linked both ways.
    A repeated click finds it called already and opens the new call."""
    process = _managed_process(request, process_id)
    try:
        new = process_services.call_again(request.user, process)
    except DomainError as error:
        following = ProcurementProcess.objects.filter(previous_call=process).first()
        if error.code == "already_called_again" and following is not None:
            return redirect("procurement:process_workspace", following.pk)
        return process_workspace(request, process_id, transition_error=error.message, status=400)
    messages.success(
        request,
        _(
            "Process %(identifier)s created as a draft: give it its calendar, committee and criteria."
        )
        % {"identifier": new.identifier},
    )
    return redirect("procurement:process_workspace", new.pk)
