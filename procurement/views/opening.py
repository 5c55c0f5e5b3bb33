"""The opening of bids: the public act page (with the sealed count and receipts before it,
a self-refreshing notice while it runs), its documents, and the committee's page to start
and confirm it. Thin: the rules are procurement.services.opening's."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core import clock, idempotency
from core.errors import DomainError

from .. import breadcrumbs, document_store
from ..forms import OpeningForm
from ..models import BidOpening, OpenedBid, OpenedBidDocument, ProcurementProcess
from ..services import bids, committee, opening
from .staff import managed_or_403

logger = logging.getLogger(__name__)


def _act_context(request, process, state) -> dict:
    context = {
        "process": process,
        "state": state,
        "committee_member": committee.is_committee_member(request.user, process),
    }
    if state.phase == "opened":
        context["opened"] = (
            OpenedBid.objects.filter(opening=state.opening)
            .select_related("lead_supplier", "superseded_by")
            .prefetch_related("members", "lines", "documents")
            .order_by("position")
        )
    else:
        context["receipts"] = bids.ledger_rows(process)
    return context


def process_opening(request, identifier):
    """/procesos/<identifier>/apertura/: before the opening, how many bids and their
    receipts; while it runs, a notice that refreshes itself; after, the act."""
    process = get_object_or_404(
        ProcurementProcess.objects.published().select_related(
            "entity__ubigeo__province__department"
        ),
        identifier=identifier,
    )
    state = opening.opening_state(process)
    context = _act_context(request, process, state)
    context["breadcrumbs"] = breadcrumbs.for_process(process, here=_("Opening of bids"))
    return render(request, "procurement/process_opening.html", context)


def opening_document(request, identifier, document_id):
    """A document of an opened bid, served only while it has the SHA-256 the act shows;
    confidential ones only to the committee."""
    document = get_object_or_404(
        OpenedBidDocument.objects.select_related("opened_bid__opening__process"),
        pk=document_id,
        opened_bid__opening__process__identifier=identifier,
        opened_bid__opening__status=BidOpening.Status.COMPLETED,
    )
    process = document.opened_bid.opening.process
    if document.confidential and not committee.is_committee_member(request.user, process):
        raise Http404
    try:
        handle = document_store.open_verified(document.file, document.sha256)
    except document_store.DocumentUnavailable as error:
        logger.error(
            "Bid document %s of %s not served: %s (expected SHA-256 %s, found %s)",
            document.pk,
            identifier,
            error,
            document.sha256,
            error.actual or "-",
        )
        context = {"process": process, "document": document}
        return render(request, "procurement/document_unavailable.html", context, status=503)
    response = FileResponse(
        handle, as_attachment=True, filename=document.filename, content_type=document.content_type
    )
    response["X-Content-SHA256"] = document.sha256
    return response


@login_required
def process_opening_manage(request, process_id):
    """/gestion/procesos/<id>/apertura/: a committee member starts the opening (naming the
    observer), a second one confirms it."""
    process = managed_or_403(
        request.user, ProcurementProcess.objects.select_related("entity"), pk=process_id
    )
    form = OpeningForm(request.POST) if request.method == "POST" else None
    status = 200
    if form is not None:
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            here = reverse("procurement:process_opening_manage", args=[process.pk])
            try:
                with idempotency.once(data["form_token"]) as submission:
                    if data["action"] == "start":
                        opening.start_opening(
                            actor=request.user, process=process, observer=data["observer"]
                        )
                        done = _("Opening started: a second committee member must confirm it.")
                    else:
                        opening.confirm_opening(actor=request.user, process=process)
                        done = _("The bids have been opened and the act published.")
                    submission.done(here)
            except idempotency.AlreadySubmitted as first:
                return redirect(first.result_url or here)
            except PermissionDenied as error:
                form.add_error(None, str(error) or _("Only committee members open the bids."))
                status = 403
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(request, done)
                return redirect(here)
    now = clock.now()
    state = opening.opening_state(process, now)
    context = _act_context(request, process, state)
    context.update(
        {
            "form": form,
            "refusal": opening.opening_refusal(process, now),
            "start_form": form
            if form is not None and form.data.get("action") == "start"
            else OpeningForm(initial={"action": "start"}),
            "confirm_form": OpeningForm(initial={"action": "confirm"}),
            "confirm_minutes": opening.confirm_minutes(),
        }
    )
    return render(request, "procurement/manage/process_opening.html", context, status=status)
