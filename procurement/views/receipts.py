"""The public receipt ledger: every bid receipt, chained, without the bidder's identity."""

import re

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from core import signing

from ..models import ReceiptLedgerEntry

_RECEIPT_HASH = re.compile(r"[0-9a-f]{64}")


def receipt_list(request):
    """Ledger entries, newest first: position, receipt hash, process, instant, kind, paper,
    chain hash. Nobody's identity: that is what the opening act shows, after the opening."""
    entries = ReceiptLedgerEntry.objects.select_related("process").order_by("-position")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "procurement/receipt_list.html",
        {"page": page, "public_key_url": reverse("receipt_public_key")},
    )


def receipt_detail(request, receipt_hash: str):
    """One receipt as the ledger holds it (position, process, instant, signature) and how to
    verify it; 404 when the hash is malformed or unknown."""
    if not _RECEIPT_HASH.fullmatch(receipt_hash):
        raise Http404("not a receipt hash")
    entry = (
        ReceiptLedgerEntry.objects.select_related("process")
        .filter(receipt_hash=receipt_hash)
        .first()
    )
    if entry is None:
        raise Http404("unknown receipt")
    context = {
        "entry": entry,
        "signature_valid": signing.verify(entry.receipt_hash.encode("ascii"), entry.signature),
        "key_id": signing.key_id(),
        "public_key_url": reverse("receipt_public_key"),
    }
    return render(request, "procurement/receipt_detail.html", context)
