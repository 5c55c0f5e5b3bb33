"""Pages of sealed bids before the opening.

The bidder's: its bid in a process (the draft envelope, the economic offer, the consortium,
the confirmation with a fresh password, the receipt shown once), its withdrawal, and its bids
across processes. The entity staff's: how many bids a process has and their receipts (never
who or how much), and the form for a bid received on paper at the desk.

Thin: every rule is the service's (procurement.services.bids): what a page offers comes from
`bid_refusal`, the prices from `priced_items`. The full receipt (with its nonce and prices)
exists only in the response to the submission: these pages are never cached.
"""

import base64
import json
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import permissions
from accounts.reauth import ReauthenticationForm, recently_reauthenticated
from core import idempotency
from core.errors import DomainError
from suppliers.models import Supplier

from .. import receipts
from ..forms import BidDocumentForm, BidOfferForm, ConsortiumConsentForm, PaperBidForm
from ..models import BidVersion, Participant, ProcessStatus, ProcurementProcess
from ..services import bids
from ..uploads import sealed_upload_error, sealed_uploads
from .staff import managed_or_403

# --- the bidder's pages --------------------------------------------------------------------


def _public_process(identifier) -> ProcurementProcess:
    return get_object_or_404(ProcurementProcess.objects.published(), identifier=identifier)


def _acting_supplier(request) -> Supplier:
    """The supplier the user acts for: the one named by the form or the link, or its only
    one."""
    ids = permissions.supplier_ids(request.user)
    if not ids:
        raise PermissionDenied(_("Only supplier users can take part in a process."))
    source = request.POST if request.method == "POST" else request.GET
    wanted = source.get("supplier", "")
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


def _bid_url(process, supplier) -> str:
    return reverse("procurement:bid", args=[process.identifier]) + f"?supplier={supplier.pk}"


def bid_summary(process, supplier) -> dict:
    """What the bidder's own users see of its bid before the opening: status and versions
    (receipt hashes and instants), and whether it leads it; plus what it may do now."""
    return _with_version_rows(
        {"supplier": supplier, **bids.bidder_state(process, supplier, envelope=False)}
    )


_VERSION_ROW = (
    '<tr><td>{}{}</td><td>{}</td><td>{}</td>\n      <td><a href="/recibos/{}/"><code class="hash">'
    "{}</code></a></td></tr>\n  "
)
# Format characters of Django's date formats that read below the minute: a pattern without
# them writes the same text for every instant of a minute.
_SUB_MINUTE = frozenset("suUcr")


def _with_version_rows(state: dict) -> dict:
    """The bid's versions as the status table shows them (number, a badge on the one that
    counts, kind, instant received to the second in the portal's time, receipt hash): the
    table's rows written here once, each value escaped, rather than by the template row by
    row (a bid replaced a hundred times in the last minute lists a hundred receipts: the
    minute's date text is formatted once for all its versions)."""
    bid = state["bid"]
    kinds = {value: escape(str(label)) for value, label in BidVersion.Kind.choices}
    pattern = get_format("SHORT_DATETIME_FORMAT")
    by_minute = _SUB_MINUTE.isdisjoint(pattern)
    zone = get_current_timezone()
    badge = format_html(' <span class="badge">{}</span>', _("counts"))
    minutes: dict = {}
    rows = []
    for version in state["versions"]:
        at = version.received_at.astimezone(zone)
        key = at.replace(second=0, microsecond=0) if by_minute else at
        text = minutes.get(key)
        if text is None:
            text = minutes[key] = escape(dateformat.format(at, pattern))
        receipt_hash = escape(version.receipt_hash)
        rows.append(
            _VERSION_ROW.format(
                int(version.number),
                badge if version.pk == bid.current_version_id else "",
                kinds.get(version.kind) or escape(version.kind),
                f"{text}:{at.second:02d}",
                receipt_hash,
                receipt_hash,
            )
        )
    state["version_rows"] = mark_safe("".join(rows))  # noqa: S308 - every value escaped above
    return state


def _document_choices(envelope) -> list[tuple[str, str]]:
    choices = []
    for document, meta, sent in envelope:
        label = f"{meta['title']} ({meta['filename']})"
        if sent:
            label += " — " + _("sent with an earlier version")
        choices.append((str(document.pk), label))
    return choices


def _offer_form(process, supplier, data=None, envelope=None) -> BidOfferForm:
    envelope = bids.envelope_documents(process, supplier) if envelope is None else envelope
    return BidOfferForm(data, process=process, documents=_document_choices(envelope))


def _bid_page(
    request,
    process,
    supplier,
    *,
    offer_form=None,
    upload_form=None,
    consent_form=None,
    consent_error=None,
    status=200,
):
    state = _with_version_rows(bids.bidder_state(process, supplier))
    if offer_form is not None:  # shown with the envelope's documents, whatever it was read with
        offer_form.fields["documents"].choices = _document_choices(state["envelope"])
    context = {
        "process": process,
        "supplier": supplier,
        **state,
        "offer_form": offer_form or _offer_form(process, supplier, envelope=state["envelope"]),
        "upload_form": upload_form or BidDocumentForm(),
        "consent_form": consent_form or ConsortiumConsentForm(),
        "consent_error": consent_error,
    }
    return render(request, "procurement/bid.html", context, status=status)


@never_cache
@login_required
def bid(request, identifier):
    """The bidder's page (GET), and the review step of its offer (POST): the server computes
    the totals and shows them for confirmation; nothing is stored yet."""
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    if request.method != "POST":
        return _bid_page(request, process, supplier)
    form = _offer_form(process, supplier, request.POST)
    offer = _checked_offer(process, supplier, form)
    if offer is None:
        return _bid_page(request, process, supplier, offer_form=form, status=400)
    return _confirmation(request, process, supplier, form, offer)


def _checked_offer(process, supplier, form):
    """The priced offer when the form, the prices and the eligibility (with the consortium)
    pass; otherwise None with the errors on the form."""
    if not form.is_valid():
        return None
    try:
        offer = bids.priced_items(process, form.prices(), items=form.items)
        refusal = bids.bid_refusal(process, supplier, members=form.members(supplier))
        if refusal is not None:
            raise refusal
    except DomainError as error:
        error.add_to(form)
        return None
    return offer


def _confirmation(request, process, supplier, form, offer, *, reauth_form=None, status=200):
    chosen = set(form.cleaned_data["documents"])
    documents = [
        meta
        for document, meta, _sent in bids.envelope_documents(process, supplier)
        if str(document.pk) in chosen
    ]
    needs_password = reauth_form is not None or not recently_reauthenticated(request)
    context = {
        "process": process,
        "supplier": supplier,
        "form": form,
        "offer": offer,
        "documents": documents,
        "members": form.members(supplier),
        "reauth_form": (reauth_form or ReauthenticationForm(request)) if needs_password else None,
    }
    return render(request, "procurement/bid_confirm.html", context, status=status)


def _password_form(request):
    """None when the password was entered within the window; otherwise the bound form
    (valid when the password is right, which opens the window again)."""
    if recently_reauthenticated(request):
        return None
    return ReauthenticationForm(request, data=request.POST)


@never_cache
@login_required
@require_POST
def bid_submit(request, identifier):
    """Confirm the bid (first submission or replacement): with the password unless it was
    entered within the window; the receipt is shown at once, this one time."""
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    reauth_form = _password_form(request)
    if reauth_form is None:
        # The documents are the service's to judge (its own envelope, in its transaction):
        # the form only reads which were ticked.
        posted = request.POST.getlist("documents")
        form = BidOfferForm(request.POST, process=process, documents=[(d, d) for d in posted])
    else:
        form = _offer_form(process, supplier, request.POST)
    if reauth_form is not None:
        # The offer is checked before the password is asked for again.
        offer = _checked_offer(process, supplier, form)
        if offer is None:
            return _bid_page(request, process, supplier, offer_form=form, status=400)
        if not reauth_form.is_valid():
            return _confirmation(
                request, process, supplier, form, offer, reauth_form=reauth_form, status=400
            )
    elif not form.is_valid():
        return _bid_page(request, process, supplier, offer_form=form, status=400)
    # Within the window the service alone judges the prices and the eligibility, in its
    # transaction, refusing as _checked_offer would (the same DomainErrors, on the form).
    try:
        # Where a repeated click is sent, known before: written with the token, no write
        # more after the ledger's lock is taken.
        with idempotency.once(
            form.cleaned_data["form_token"], result_url=reverse("procurement:my_bids")
        ) as submission:
            receipt = bids.submit_bid(
                request.user,
                process,
                supplier,
                prices=form.prices(),
                documents=form.cleaned_data["documents"],
                members=form.members(supplier),
                items=form.items,
            )
            submission.seal_result(receipt.as_json().encode("utf-8"))
    except idempotency.AlreadySubmitted as first:
        return _repeated(request, process, first, back=_bid_url(process, supplier))
    except DomainError as error:
        error.add_to(form)
        return _bid_page(request, process, supplier, offer_form=form, status=400)
    return _receipt_page(
        request, process, receipt, back=_bid_url(process, supplier), items=form.items
    )


# core.idempotency keeps each used token with a result URL in the database for a while: for
# bids it is "Mis ofertas", never the bidder's page, whose ?supplier= would name who bid in
# the process. A second click is sent to the bidder's page by the view itself.


def _already_received() -> str:
    return _(
        "This confirmation was already received (a second click): the receipt was shown on "
        "the first answer. Its hash is listed under your bid's versions."
    )


def _repeated(request, process, first: idempotency.AlreadySubmitted, *, back: str):
    """A second submission of a confirmation form: the first answer's receipt again, from
    the result the first sealed under the form's token (nonce included), else a note."""
    if first.result is None:
        messages.info(request, _already_received())
        return redirect(back)
    receipt = receipts.SubmittedReceipt(**json.loads(first.result))
    messages.info(
        request, _("This confirmation was already received (a second click): here is its receipt.")
    )
    return _receipt_page(request, process, receipt, back=back)


@never_cache
@login_required
@require_POST
@sealed_uploads
def bid_document_upload(request, identifier):
    """Add one document to the bidder's draft envelope (kept in memory, encrypted as it
    arrives)."""
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    form = BidDocumentForm(request.POST, request.FILES)
    if (refused := sealed_upload_error(request)) is not None:
        form.is_valid()
        form.add_error(None, refused)
    elif form.is_valid():
        data = form.cleaned_data
        try:
            with idempotency.once(data["form_token"]):
                bids.upload_draft_document(
                    request.user,
                    process,
                    supplier,
                    data["file"],
                    title=data["title"],
                    confidential=data["confidential"],
                )
        except idempotency.AlreadySubmitted:
            return redirect(_bid_url(process, supplier))
        except DomainError as error:
            error.add_to(form)
        else:
            # Not its title: flash messages travel in a readable (signed) cookie.
            messages.success(request, _("Document added to your envelope, encrypted."))
            return redirect(_bid_url(process, supplier))
    return _bid_page(request, process, supplier, upload_form=form, status=400)


@never_cache
@login_required
@require_POST
def bid_document_discard(request, identifier):
    """Remove a document from the bidder's draft envelope."""
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    try:
        bids.discard_draft_document(
            request.user, process, supplier, request.POST.get("document", "")[:64]
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Document removed from your envelope."))
    return redirect(_bid_url(process, supplier))


@never_cache
@login_required
def bid_withdraw(request, identifier):
    """Withdraw the bid (GET asks to confirm; POST, with the password unless it was entered
    within the window, withdraws and shows the withdrawal's receipt at once)."""
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    summary = bid_summary(process, supplier)
    error, reauth_form = None, None
    if request.method == "POST":
        token_form = idempotency.IdempotentForm(request.POST)
        reauth_form = _password_form(request)
        if not token_form.is_valid():
            error = " ".join(str(e) for errors in token_form.errors.values() for e in errors)
        elif reauth_form is None or reauth_form.is_valid():
            try:
                with idempotency.once(
                    token_form.cleaned_data["form_token"], result_url=reverse("procurement:my_bids")
                ) as submission:
                    receipt = bids.withdraw_bid(request.user, process, supplier)
                    submission.seal_result(receipt.as_json().encode("utf-8"))
            except idempotency.AlreadySubmitted as first:
                return _repeated(request, process, first, back=_bid_url(process, supplier))
            except DomainError as refusal:
                error = refusal.message
            else:
                return _receipt_page(request, process, receipt, back=_bid_url(process, supplier))
    elif not recently_reauthenticated(request):
        reauth_form = ReauthenticationForm(request)
    if reauth_form is not None and reauth_form.is_bound and reauth_form.is_valid():
        reauth_form = None  # the window is open again: no password on the next try
    context = {"process": process, **summary, "error": error, "reauth_form": reauth_form}
    status = 400 if request.method == "POST" else 200
    return render(request, "procurement/bid_withdraw.html", context, status=status)


@never_cache
@login_required
@require_POST
def bid_consent(request, identifier):
    """A member of a consortium confirms that it takes part in the one led by the supplier
    whose RUC it gives (only then may the lead name it in its bid)."""
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    form = ConsortiumConsentForm(request.POST)
    if form.is_valid():
        lead = form.cleaned_data["lead"]
        try:
            bids.give_consortium_consent(request.user, process, supplier, lead)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _(
                    "Confirmed: your company takes part in the consortium led by %(name)s "
                    "(RUC %(ruc)s). The lead can now name it in its bid."
                )
                % {"name": lead.legal_name, "ruc": lead.ruc},
            )
            return redirect(_bid_url(process, supplier) + "#consortium")
    return _bid_page(request, process, supplier, consent_form=form, status=400)


@never_cache
@login_required
@require_POST
def bid_consent_withdraw(request, identifier):
    """The member withdraws its confirmation (refused while a bid in force includes it)."""
    process = _public_process(identifier)
    supplier = _acting_supplier(request)
    try:
        bids.withdraw_consortium_consent(request.user, process, supplier)
    except DomainError as error:
        return _bid_page(request, process, supplier, consent_error=error.message, status=400)
    messages.success(request, _("Your confirmation as a consortium member was withdrawn."))
    return redirect(_bid_url(process, supplier) + "#consortium")


@never_cache
@login_required
def my_bids(request):
    """The supplier users' bids across the processes their suppliers take part in: status
    and last receipt, found by the service's own_bid (blind tags), never by a query on
    bidders."""
    ids = permissions.supplier_ids(request.user)
    if not ids:
        raise PermissionDenied(_("Only supplier users can take part in a process."))
    participations = (
        Participant.objects.filter(supplier_id__in=ids)
        .select_related("process", "supplier")
        .order_by("-registered_at", "-pk")
    )
    page = Paginator(participations, 25).get_page(request.GET.get("page"))
    found_bids = bids.own_bids(page)
    rows = []
    for participation in page:
        process, supplier = participation.process, participation.supplier
        found = found_bids.get((process.pk, supplier.pk))
        last = found.current_version if found else None
        rows.append(
            {
                "process": process,
                "supplier": supplier,
                "bid": found,
                "last": last,
                "url": _bid_url(process, supplier),
            }
        )
    context = {"page": page, "rows": rows, "several": len(ids) > 1}
    return render(request, "procurement/my_bids.html", context)


# --- the receipt ---------------------------------------------------------------------------


def _receipt_page(request, process, receipt, *, back: str, items=None):
    """The full receipt, once: printable, and as a JSON file the browser saves without
    JavaScript (a data: URL). It holds the nonce: the portal keeps it only sealed. `items`:
    the process's items when the request read them already (the offer form's)."""
    text = receipt.as_json()
    items = {item.pk: item for item in (process.items.all() if items is None else items)}
    prices = [
        {**line, "item_object": items.get(line["item"])}
        for line in receipt.content.get("prices", [])
    ]
    context = {
        "process": process,
        "receipt": receipt,
        "content": receipt.content,
        "prices": prices,
        "receipt_json": text,
        "json_href": "data:application/json;base64,"
        + base64.b64encode(text.encode("utf-8")).decode("ascii"),
        "ledger_url": f"/recibos/{receipt.receipt_hash}/",
        "back": back,
    }
    return render(request, "procurement/bid_receipt.html", context)


# --- the entity staff's page ---------------------------------------------------------------


def _process_bids_page(request, process, *, form=None, status=200):
    context = {
        "process": process,
        "count": bids.bid_count(process),
        "ledger": bids.ledger_rows(process),
        "form": form or PaperBidForm(process=process),
        "receives": process.status == ProcessStatus.CALLED,
    }
    return render(request, "procurement/manage/process_bids.html", context, status=status)


@never_cache
@login_required
@sealed_uploads
def process_bids(request, process_id):
    """Before the opening, staff see how many bids there are and their receipts (hashes and
    instants), never the bidders or amounts; they record bids received on paper."""
    process = managed_or_403(
        request.user, ProcurementProcess.objects.select_related("entity"), pk=process_id
    )
    if request.method != "POST":
        return _process_bids_page(request, process)
    form = PaperBidForm(request.POST, request.FILES, process=process)
    if (refused := sealed_upload_error(request)) is not None:
        form.is_valid()
        form.add_error(None, refused)
    elif form.is_valid():
        data = form.cleaned_data
        try:
            with idempotency.once(data["form_token"]) as submission:
                receipt = bids.record_paper_bid(
                    request.user, process, data["ruc"], prices=form.prices(), uploads=data["file"]
                )
                submission.done(reverse("procurement:process_bids", args=[process.pk]))
                submission.seal_result(receipt.as_json().encode("utf-8"))
        except idempotency.AlreadySubmitted as first:
            back = reverse("procurement:process_bids", args=[process.pk])
            return _repeated(request, process, first, back=back)
        except DomainError as error:
            error.add_to(form)
        else:
            back = reverse("procurement:process_bids", args=[process.pk])
            return _receipt_page(request, process, receipt, back=back)
    return _process_bids_page(request, process, form=form, status=400)
