"""Contracts: the public search (/contratos/, with CSV) and page (/contratos/<id>/), and the
entity staff's pages to register a process's contracts and record each one's amendments,
end and after-sales evaluation. Thin: the rules are procurement.services.contracts'."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.filtering import filter_status, invalid_export

from .. import breadcrumbs, exports
from ..filters import ContractFilter
from ..forms import (
    ContractAmendmentForm,
    ContractAnnulmentForm,
    ContractCompletionForm,
    ContractForm,
    ContractTerminationForm,
    SupplierEvaluationForm,
)
from ..models import Award, Contract, ProcurementProcess, SupplierEvaluation
from ..services import contracts
from .staff import managed_or_403


def contract_list(request):
    contract_filter = ContractFilter(request.GET, queryset=Contract.objects.public())
    if request.GET.get("format") == "csv":
        if (bad := invalid_export(contract_filter)) is not None:
            return bad
        return exports.CONTRACTS.response(contract_filter.qs)
    page = Paginator(contract_filter.qs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "procurement/contract_list.html",
        {"filter": contract_filter, "page": page},
        status=filter_status(contract_filter),
    )


def contract_detail(request, contract_id):
    contract = get_object_or_404(
        Contract.objects.public().select_related("process__entity__ubigeo__province__department"),
        pk=contract_id,
    )
    return render(request, "procurement/contract_detail.html", _contract_context(contract))


def _contract_context(contract) -> dict:
    return {
        "contract": contract,
        "breadcrumbs": breadcrumbs.for_contract(contract),
        "amendments": list(contract.amendments.all()),
        "cumulative": contracts.cumulative_percentages(contract),
        "current_amount": contracts.current_amount(contract),
        "evaluation": SupplierEvaluation.objects.filter(contract=contract).first(),
        **contracts.award_history(contract),
    }


@login_required
def process_contracts(request, process_id):
    """/gestion/procesos/<id>/contratos/: the staff of the process's entity registers the
    contract of each consented award."""
    process = managed_or_403(
        request.user, ProcurementProcess.objects.select_related("entity"), pk=process_id
    )
    form = None
    status = 200
    if request.method == "POST":
        form = ContractForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            award = Award.objects.live().filter(process=process, pk=data["award"]).first()
            try:
                if award is None:
                    raise DomainError(_("Choose an award of this process."), code="award_unknown")
                contract = contracts.sign_contract(
                    actor=request.user,
                    award=award,
                    number=data["number"],
                    signed_on=data["signed_on"],
                    term_days=data["term_days"],
                    guarantee=data["guarantee"],
                    amount=data["amount"],
                )
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(request, _("The contract has been registered."))
                return redirect("procurement:contract_manage", contract.pk)
    pending = [
        (
            award,
            form
            if form is not None and str(award.pk) == str(form.data.get("award"))
            else ContractForm(
                initial={"award": award.pk, "amount": None}, auto_id=f"id_a{award.pk}_%s"
            ),
            contracts.retention_refusal(award, process),
        )
        for award in contracts.awards_to_contract(process)
    ]
    context = {
        "process": process,
        "pending": pending,
        "form": form,
        "contracts": list(Contract.objects.public().filter(process=process)),
    }
    return render(request, "procurement/manage/process_contracts.html", context, status=status)


_ACTION_FORMS = {
    "amend": ContractAmendmentForm,
    "complete": ContractCompletionForm,
    "terminate": ContractTerminationForm,
    "annul": ContractAnnulmentForm,
    "evaluate": SupplierEvaluationForm,
}


def _act(user, contract, action, data):
    if action == "amend":
        return contracts.amend_contract(actor=user, contract=contract, **data)
    if action == "complete":
        return contracts.complete_contract(actor=user, contract=contract, **data)
    if action == "terminate":
        return contracts.terminate_contract(actor=user, contract=contract, **data)
    if action == "annul":
        return contracts.annul_contract(actor=user, contract=contract, **data)
    return contracts.evaluate_supplier(
        actor=user,
        contract=contract,
        on_time=data["on_time"] == "yes",
        quality=data["quality"],
        penalties=data["penalties"],
        comment=data["comment"],
    )


@login_required
def contract_manage(request, contract_id):
    """/gestion/contratos/<id>/: amendments, completion, termination, nullity and the
    after-sales evaluation of one contract, by the staff of its entity."""
    contract = managed_or_403(request.user, Contract.objects.public(), pk=contract_id)
    here = reverse("procurement:contract_manage", args=[contract.pk])
    forms = {action: form_class(prefix=action) for action, form_class in _ACTION_FORMS.items()}
    status = 200
    if request.method == "POST":
        status = 400
        action = request.POST.get("action")
        if action in _ACTION_FORMS:
            form = forms[action] = _ACTION_FORMS[action](request.POST, prefix=action)
            if form.is_valid():
                try:
                    _act(request.user, contract, action, form.cleaned_data)
                except DomainError as error:
                    error.add_to(form)
                else:
                    messages.success(request, _("The contract has been updated."))
                    return redirect(here)
        else:
            messages.error(request, _("Choose an action of this page."))
    contract.refresh_from_db()
    context = {
        **_contract_context(contract),
        "forms": forms,
        "refusals": {
            action: contracts.contract_action_refusal(contract, action)
            for action in contracts.CONTRACT_TRANSITIONS
        },
        "amend_refusal": contracts.active_refusal(contract),
        "evaluation_refusal": contracts.evaluation_refusal(contract),
    }
    return render(request, "procurement/manage/contract.html", context, status=status)
