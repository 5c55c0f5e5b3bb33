"""Entity staff's pages for preparing and publishing the annual plan. Thin: each action
parses a form and calls a service in procurement.services.plans."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core import idempotency
from core.codelists import Unit
from core.errors import DomainError

from ..forms import ConfirmForm, PlanCreateForm, PlanItemForm, PlanPublishForm, PlanUploadForm
from ..models import PlanItem, PlanVersion, ProcurementPlan
from ..plan_import import read_plan_file, template_csv, template_xlsx
from ..queries import plan_items
from ..services import plans as plan_services
from ..sme import version_share
from .staff import managed_or_403, staff_entities_or_403


def _managed(request, model, pk, related=()):
    queryset = model.objects.select_related(*related) if related else model.objects.all()
    return managed_or_403(request.user, queryset, pk=pk)


@login_required
def plan_workspace_list(request):
    entities = staff_entities_or_403(request.user)
    form = PlanCreateForm(request.POST or None, entities=entities)
    if request.method == "POST" and form.is_valid():
        entity = next(e for e in entities if e.pk == form.cleaned_data["entity"])
        try:
            draft = plan_services.create_plan(request.user, entity, form.cleaned_data["year"])
        except DomainError as error:
            error.add_to(form)
        else:
            return redirect("procurement:plan_workspace", draft.pk)
    plans = (
        ProcurementPlan.objects.filter(entity__in=entities)
        .select_related("entity", "fiscal_year")
        .prefetch_related("versions")
        .order_by("-fiscal_year", "entity__name")
    )
    status = 400 if request.method == "POST" else 200
    return render(
        request, "procurement/manage/plan_list.html", {"form": form, "plans": plans}, status=status
    )


@login_required
def plan_workspace(
    request,
    version_id,
    *,
    item_form=None,
    upload_form=None,
    publish_form=None,
    upload_result=None,
    status=200,
):
    version = _managed(request, PlanVersion, version_id, ["plan__entity", "plan__fiscal_year"])
    context = {
        "version": version,
        "plan": version.plan,
        "items": plan_items(version),
        "share": version_share(version),
        "item_form": item_form or PlanItemForm(),
        "upload_form": upload_form or PlanUploadForm(),
        "publish_form": publish_form or PlanPublishForm(),
        "upload_result": upload_result,
        "units": Unit.choices,
        "other_versions": version.plan.versions.exclude(pk=version.pk).order_by("number"),
    }
    return render(request, "procurement/manage/plan_workspace.html", context, status=status)


@login_required
@require_POST
def plan_item_add(request, version_id):
    version = _managed(request, PlanVersion, version_id)
    form = PlanItemForm(request.POST)
    if form.is_valid():
        try:
            with idempotency.once(form.cleaned_data["form_token"]):
                plan_services.add_item(request.user, version, form.item_data())
        except idempotency.AlreadySubmitted:
            return redirect("procurement:plan_workspace", version.pk)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Item added."))
            return redirect("procurement:plan_workspace", version.pk)
    return plan_workspace(request, version_id, item_form=form, status=400)


@login_required
def plan_item_edit(request, item_id):
    item = _managed(request, PlanItem, item_id, ["version__plan__entity"])
    form = PlanItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        try:
            plan_services.update_item(request.user, item, form.item_data())
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Item %(number)s saved.") % {"number": item.reference})
            return redirect("procurement:plan_workspace", item.version_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "procurement/manage/plan_item_form.html",
        {"form": form, "item": item},
        status=status,
    )


@login_required
@require_POST
def plan_item_delete(request, item_id):
    item = _managed(request, PlanItem, item_id)
    try:
        plan_services.delete_item(request.user, item)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Item %(number)s deleted.") % {"number": item.reference})
    return redirect("procurement:plan_workspace", item.version_id)


@login_required
@require_POST
def plan_upload(request, version_id):
    version = _managed(request, PlanVersion, version_id)
    form = PlanUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return plan_workspace(request, version_id, upload_form=form, status=400)
    result = read_plan_file(form.cleaned_data["file"])
    if not result.ok:
        return plan_workspace(
            request, version_id, upload_form=form, upload_result=result, status=400
        )
    try:
        count = plan_services.import_items(
            request.user,
            version,
            result.rows,
            replace=form.cleaned_data["mode"] == PlanUploadForm.REPLACE,
            file_sha256=result.sha256,
        )
    except DomainError as error:
        error.add_to(form)
        return plan_workspace(request, version_id, upload_form=form, status=400)
    messages.success(
        request,
        ngettext(
            "%(count)s item loaded from the file.", "%(count)s items loaded from the file.", count
        )
        % {"count": count},
    )
    return redirect("procurement:plan_workspace", version.pk)


@login_required
@require_POST
def plan_publish(request, version_id):
    version = _managed(request, PlanVersion, version_id)
    form = PlanPublishForm(request.POST)
    if form.is_valid():
        try:
            plan_services.publish_version(request.user, version, **form.cleaned_data)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request, _("Version %(number)s published.") % {"number": version.number}
            )
            return redirect("procurement:plan_workspace", version.pk)
    return plan_workspace(request, version_id, publish_form=form, status=400)


@login_required
@require_POST
def plan_start_modification(request, plan_id):
    plan = _managed(request, ProcurementPlan, plan_id)
    try:
        draft = plan_services.start_modification(request.user, plan)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("procurement:plan_workspace_list")
    return redirect("procurement:plan_workspace", draft.pk)


@login_required
def plan_discard_draft(request, version_id):
    """Discarding a draft deletes its items: a page asks for confirmation first."""
    version = _managed(request, PlanVersion, version_id)
    form = ConfirmForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        context = {"version": version, "form": form, "items": version.items.count()}
        return render(request, "procurement/manage/plan_discard.html", context, status=status)
    try:
        plan_services.discard_draft(request.user, version)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("procurement:plan_workspace", version.pk)
    messages.success(request, _("Draft discarded."))
    return redirect("procurement:plan_workspace_list")


def plan_template(request, extension):
    if extension not in {"csv", "xlsx"}:
        raise Http404
    if extension == "xlsx":
        response = HttpResponse(
            template_xlsx(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse("\ufeff" + template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plantilla-pac.{extension}"'
    return response
