"""Appeals: a bidder files (and may withdraw) its appeal from the process's appeal page
(/procesos/<identifier>/apelacion/); the entity's head or the tribunal decides them from
/gestion/apelaciones/. Thin: the rules are procurement.services.appeals'."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts import permissions
from core.errors import DomainError
from suppliers.models import Supplier

from ..forms import AppealDecisionForm, AppealForm
from ..models import Appeal, ProcurementProcess
from ..services import appeals
from ..services.evaluation import published_evaluation


def _entries(process):
    table = published_evaluation(process)
    if table is None:
        return []
    return list(table.entries.select_related("opened_bid").order_by("item_id", "rank"))


@login_required
def process_appeal(request, identifier):
    """The appeal page of a process for the users of its bidders: file an appeal during the
    standstill, or withdraw one's own."""
    process = get_object_or_404(
        ProcurementProcess.objects.published().select_related("entity", "fiscal_year"),
        identifier=identifier,
    )
    bidders = appeals.bidder_ids(process)
    suppliers = list(
        Supplier.objects.filter(pk__in=permissions.supplier_ids(request.user) & bidders)
    )
    if not suppliers:
        raise PermissionDenied(_("Only users of a bidder of the opening act appeal."))
    awards = appeals.appealable_awards(process)
    entries = _entries(process)
    kwargs = {"suppliers": suppliers, "awards": awards, "entries": entries}
    form = AppealForm(**kwargs)
    status = 200
    if request.method == "POST":
        status = 400
        if request.POST.get("action") == "withdraw":
            appeal = Appeal.objects.filter(
                process=process, pk=_int(request.POST.get("appeal")), supplier__in=suppliers
            ).first()
            try:
                if appeal is None:
                    raise DomainError(_("Choose one of your appeals."), code="appeal_unknown")
                appeals.decide_appeal(actor=request.user, appeal=appeal, decision="withdraw")
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("The appeal has been withdrawn."))
                return redirect("procurement:process_appeal", process.identifier)
        else:
            form = AppealForm(request.POST, request.FILES, **kwargs)
            if form.is_valid():
                data = form.cleaned_data
                by_pk = {str(a.pk): a for a in awards}
                entry = next((e for e in entries if str(e.pk) == data["entry"]), None)
                try:
                    appeal = appeals.file_appeal(
                        actor=request.user,
                        process=process,
                        supplier=next(s for s in suppliers if str(s.pk) == data["supplier"]),
                        award=by_pk[data["award"]],
                        subject=data["subject"],
                        entry=entry,
                        reasons=data["reasons"],
                        fee_amount=data["fee_amount"],
                        uploads=data["file"] or [],
                    )
                except DomainError as error:
                    error.add_to(form)
                else:
                    messages.success(
                        request, _("The appeal has been filed: the process is suspended.")
                    )
                    return redirect(f"/procesos/{process.identifier}/#appeal-{appeal.pk}")
    supplier = suppliers[0]
    context = {
        "process": process,
        "form": form,
        "refusal": appeals.filing_refusal(process, supplier),
        "mine": list(
            Appeal.objects.filter(process=process, supplier__in=suppliers).select_related(
                "supplier"
            )
        ),
    }
    return render(request, "procurement/process_appeal.html", context, status=status)


def _int(value) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@login_required
def appeal_list(request):
    """/gestion/apelaciones/: the appeals the user resolves (entity's head or tribunal)."""
    if not permissions.head_entity_ids(request.user) and not permissions.is_tribunal(request.user):
        raise PermissionDenied(_("This page is for those who resolve appeals."))
    rows = appeals.resolvable_appeals(request.user).order_by("-filed_at")[:200]
    return render(request, "procurement/manage/appeal_list.html", {"appeals": rows})


@login_required
def appeal_decide(request, appeal_id):
    """/gestion/apelaciones/<id>/: admit, declare inadmissible, or resolve an appeal."""
    appeal = get_object_or_404(
        Appeal.objects.select_related("process__entity", "supplier", "award__item"), pk=appeal_id
    )
    if not appeals.may_resolve(request.user, appeal):
        raise PermissionDenied(
            _(
                "Appeals are resolved by the entity's head or, above the threshold, by the national tribunal; never by a member of the process's committee."
            )
        )
    form = AppealDecisionForm()
    status = 200
    if request.method == "POST":
        status = 400
        form = AppealDecisionForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appeals.decide_appeal(
                    actor=request.user,
                    appeal=appeal,
                    decision=data["decision"],
                    resolution=data["resolution"],
                    uploads=[data["file"]] if data["file"] else [],
                )
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(request, _("The decision has been recorded."))
                return redirect("procurement:appeal_decide", appeal.pk)
    appeal.refresh_from_db()
    context = {
        "appeal": appeal,
        "form": form,
        "overdue": appeal.is_overdue,
        "open": appeal.is_open,
    }
    return render(request, "procurement/manage/appeal.html", context, status=status)
