"""Public pages of the selection processes."""

import logging

from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts import permissions
from core import clock, keyset, visits
from core.filtering import filter_status, invalid_export
from suppliers.models import Supplier

from .. import breadcrumbs, document_store, exports, prices, search, take_part
from ..calendar_rules import stage_progress
from ..filters import ProcessFilter
from ..forms import ConsortiumCheckForm, NoteForm
from ..models import Award, Contract, ProcessDocument, ProcessStatus, ProcurementProcess
from ..queries import (
    PROCESS_TABLE_FIELDS,
    calendar_amendments,
    closing_change,
    public_processes,
)
from ..services import appeals, notes, opening, participation
from ..services.evaluation import published_evaluation
from ..subscriptions import follows
from .bids import bid_summary

logger = logging.getLogger(__name__)


def process_list(request):
    process_filter = ProcessFilter(request.GET, queryset=public_processes())
    if request.GET.get("format") == "csv":
        if (bad := invalid_export(process_filter)) is not None:
            return bad
        return exports.PROCESSES.response(process_filter.qs)
    if process := _identified(process_filter):
        return redirect("procurement:process_detail", process.identifier)
    page, ranked_within = None, None
    if process_filter.is_valid():
        try:
            cursor = request.GET.get("cursor")
            # The rows as the table shows them (the count still reads every match).
            listed = process_filter.qs.only(*PROCESS_TABLE_FIELDS)
            if text := process_filter.relevance_text:
                page = keyset.window_page(
                    search.ranked(listed, text),
                    "relevance",
                    cursor,
                    window=search.RELEVANCE_WINDOW,
                    counted=process_filter.qs,
                )
                if page.count > search.RELEVANCE_WINDOW:
                    ranked_within = search.RELEVANCE_WINDOW
            else:
                page = keyset.page(listed, process_filter.order, cursor, one_pass=True)
        except keyset.BadCursor:
            process_filter.form.add_error(
                None, _("This page link is not valid for this search: start from the first page.")
            )
    context = {
        "filter": process_filter,
        "page": page,
        "ranked_within": ranked_within,
        "visits": visits.record_visit("procesos"),
    }
    return render(
        request, "procurement/process_list.html", context, status=filter_status(process_filter)
    )


def _identified(process_filter) -> ProcurementProcess | None:
    """The process whose identifier was typed alone in the search box: the search goes
    straight to it."""
    if not process_filter.is_valid() or set(process_filter.data) - {"q"}:
        return None
    process_filter.qs  # noqa: B018 - filtering looks the identifier up (filter_text), once
    return process_filter.identified


def process_detail(request, identifier):
    process = get_object_or_404(
        ProcurementProcess.objects.public().select_related(
            "entity__ubigeo__province__department", "delivery_ubigeo", "previous_call", "next_call"
        ),
        identifier=identifier,
    )
    items = list(process.items.select_related("catalog_item"))
    recent = prices.recent_prices(items, clock.today(), exclude_process=process)
    context = {
        "process": process,
        "breadcrumbs": breadcrumbs.for_process(process),
        "progress": stage_progress(process, clock.today()),
        "closing": closing_change(process),
        "amendments": calendar_amendments(process),
        "items": items,
        "item_rows": [(item, recent.get(item.pk)) for item in items],
        "committee": list(process.committee_members.select_related("user")),
        "criteria": list(process.criteria.all()),
        "criteria_amendments": list(process.criteria_amendments.all()),
        "history": process.history.select_related("actor"),
        "documents": ProcessDocument.objects.public()
        .filter(process=process)
        .select_related("replaces")
        .order_by("published_at", "id"),
        "answers": process.questions.order_by("submitted_at", "id")
        if process.answers_published_at
        else None,
    }
    if process.status != ProcessStatus.DRAFT:
        context["opening_state"] = opening.opening_state(process)
        context["evaluation"] = published_evaluation(process)
        context["awards"] = list(
            Award.objects.live()
            .filter(process=process)
            .select_related("supplier", "item", "opened_bid")
        )
        context["contracts"] = list(Contract.objects.public().filter(process=process))
        context["appeals"] = list(
            process.appeals.select_related("supplier", "award__item", "resolution_document")
            .prefetch_related("documents")
            .order_by("filed_at", "id")
        )
        bidder = _first_bidder(request.user, process)
        context["may_appeal"] = (
            bidder is not None and appeals.filing_refusal(process, bidder) is None
        )
    context["following"] = follows.is_following(request.user, process)
    context.update(_supplier_context(request, process))
    if notes.may_keep_notes(request.user):  # auditors and admins: their section
        context["auditor_notes"] = list(notes.process_notes(request.user, process))
        context["note_form"] = NoteForm()
    return render(request, "procurement/process_detail.html", context)


def _first_bidder(user, process):
    """One of the user's suppliers that bid in the process (the appeal page lists them all)."""
    ids = permissions.supplier_ids(user)
    ids = ids and ids & appeals.bidder_ids(process)
    return Supplier.objects.filter(pk__in=ids).first() if ids else None


def _supplier_context(request, process) -> dict:
    """What a logged-in supplier user may do here: register, ask during the window, see and
    submit its bid (its own view of it: status and receipts). Each
    form is offered only when the service would accept it; otherwise the page says why
    (the same functions the services call)."""
    supplier_ids = permissions.supplier_ids(request.user)
    if process.status != ProcessStatus.CALLED:
        # Every process page answers "can I take part?": past the call, plainly no.
        return {"no_longer_open": take_part.no_longer_open(process)}
    if not supplier_ids:
        return {"conditions": take_part.conditions(process)}
    suppliers = list(Supplier.objects.filter(pk__in=supplier_ids).select_related("size_rule"))
    participants = {p.supplier_id: p for p in process.participants.filter(supplier__in=suppliers)}
    my_bids = [bid_summary(process, s) for s in suppliers if s.pk in participants]
    own = {summary["supplier"].pk: summary["bid"] for summary in my_bids}
    answers = [
        take_part.answer(process, s, registered=s.pk in participants, bid=own.get(s.pk))
        for s in suppliers
    ]
    check = ConsortiumCheckForm(
        request.GET if "consorcio" in request.GET else None, suppliers=suppliers
    )
    return {
        "my_suppliers": suppliers,
        "take_part": answers,
        "consortium_check": check,
        "consortium_answers": take_part.consortium_answers(
            process, check.cleaned_data["lead"], check.cleaned_data["consorcio"]
        )
        if check.is_valid()
        else None,
        # The registration form for those the registration rule lets in (the answer above
        # already asked it: registration_refusals).
        "my_unregistered": [
            (a.supplier, a.reasons[0] if a.reasons else None)
            for a in answers
            if a.supplier.pk not in participants
        ],
        "my_registered": [
            (s, participation.question_refusal(process, participants[s.pk]))
            for s in suppliers
            if s.pk in participants
        ],
        "my_bids": my_bids,
    }


def process_document(request, identifier, document_id):
    """Download a published document (as an attachment: never rendered by the browser), only
    while its file still has the SHA-256 the page publishes."""
    document = get_object_or_404(
        ProcessDocument.objects.public(), pk=document_id, process__identifier=identifier
    )
    try:
        handle = document_store.open_verified(document.file.name, document.sha256)
    except document_store.DocumentUnavailable as error:
        logger.error(
            "Document %s of %s not served: %s (expected SHA-256 %s, found %s)",
            document.pk,
            identifier,
            error,
            document.sha256,
            error.actual or "-",
        )
        context = {"process": document.process, "document": document}
        return render(request, "procurement/document_unavailable.html", context, status=503)
    response = FileResponse(
        handle, as_attachment=True, filename=document.filename, content_type=document.content_type
    )
    response["X-Content-SHA256"] = document.sha256
    return response
