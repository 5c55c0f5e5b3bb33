import json
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import anchors, keyset, signing
from .filtering import filter_status
from .filters import AuditEntryFilter
from .models import AuditEntry
from .queries import entry_page
from .tasks import verify_audit_trail
from .verification import chain_state

# Who holds these is decided by the authentication backend (accounts.permissions): core
# asks through Django's permission API and never imports accounts.
READ_AUDIT_TRAIL = "core.view_auditentry"  # auditors and admins
VIEW_HEALTH_DETAILS = "core.view_health_details"  # admins only


@never_cache
def health(request):
    """200 when the database answers, 503 otherwise (for load balancers and monitors). Only
    admins see which database it is and what failed: strangers learn nothing to aim at."""
    status = {"database": "ok"}
    failure = None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        status["database"] = "error"
        failure = exc.__class__.__name__
    if request.user.has_perm(VIEW_HEALTH_DETAILS):
        status["database_vendor"] = connection.vendor
        if failure:
            status["database_error"] = failure
    ok = status["database"] == "ok"
    return JsonResponse(status, status=200 if ok else 503)


@never_cache
def audit_anchor(request):
    """The latest signed anchor of the audit chain, for anyone to copy and check later."""
    anchor = anchors.latest()
    public_key_url = request.build_absolute_uri(reverse("audit_anchor_public_key"))
    if request.GET.get("format") == "atom":
        return _anchor_feed(request, public_key_url)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "anchor": anchor.as_json() if anchor else None,
                "public_key_url": public_key_url,
                "key_id": signing.key_id(),
            },
            json_dumps_params={"ensure_ascii": False},
        )
    return render(
        request,
        "core/audit_anchor.html",
        {
            "anchor": anchor,
            "signed_bytes": anchors.canonical(anchor.statement).decode() if anchor else "",
            "public_key_url": public_key_url,
            "key_id": signing.key_id(),
        },
    )


def _anchor_feed(request, public_key_url: str) -> HttpResponse:
    """The latest anchors as an Atom feed (?format=atom), so that feed readers and web
    archives keep copies outside the portal: each entry carries the signed statement and its
    signature, as the JSON does."""
    page = request.build_absolute_uri(reverse("audit_anchor"))
    feed = Atom1Feed(
        title=_("Audit trail anchors"),
        link=page,
        description=_("The signed anchors of the portal's audit trail"),
        language=get_language(),
        feed_url=request.build_absolute_uri(),
        feed_guid=request.build_absolute_uri(),
    )
    for anchor in anchors.recent():
        statement = anchors.canonical(anchor.statement).decode()
        moment = datetime.fromisoformat(anchor.statement["anchored_at"])
        feed.add_item(
            title=_("Entry #%(sequence)s") % {"sequence": anchor.sequence},
            link=page,
            unique_id=f"{page}#{anchor.sequence}-{anchor.entry_hash}",
            description=_(
                "Signed statement: %(statement)s — Ed25519 signature (base64): %(signature)s"
                " — public key: %(key)s"
            )
            % {"statement": statement, "signature": anchor.signature, "key": public_key_url},
            pubdate=moment,
            updateddate=moment,
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    return response


def portal_public_key(request):
    """The portal's Ed25519 public key (PEM): it verifies the audit anchors and, with the bids
    issue, the bid receipts; one key, published at both places."""
    return HttpResponse(signing.public_key_pem(), content_type="application/x-pem-file")


def _require_audit_reader(user) -> None:
    if not user.has_perm(READ_AUDIT_TRAIL):
        raise PermissionDenied(_("Only auditors and administrators may read the audit trail."))


@never_cache
@login_required
def audit_trail(request):
    """The audit trail for auditors and admins, read-only: entries newest first, searched by
    actor, action, entity, object and period, and the state of the chain as the last full
    verification found it (read from its stored result, never walked per request)."""
    _require_audit_reader(request.user)
    return _trail_page(request, request.GET)


@never_cache
@login_required
def audit_timeline(request, object_type, object_id):
    """The timeline of one object (who, what, when, why): the trail filtered by its type and
    id, at /auditoria/registro/<type>/<id>/ (the same as ?object_type=&object_id=)."""
    _require_audit_reader(request.user)
    data = request.GET.copy()
    data["object_type"], data["object_id"] = object_type, object_id
    return _trail_page(request, data)


def _trail_page(request, data):
    entry_filter = AuditEntryFilter(data, queryset=AuditEntry.objects.all())
    status = filter_status(entry_filter)
    page, bad_cursor = None, False
    if status == 200:
        try:
            page = entry_page(entry_filter.qs, data.get("cursor"))
        except keyset.BadCursor:
            status, bad_cursor = 400, True
        else:
            for entry in page:
                entry.data_json = json.dumps(entry.data, ensure_ascii=False, sort_keys=True)
    context = {
        "filter": entry_filter,
        "page": page,
        "bad_cursor": bad_cursor,
        "timeline": entry_filter.is_bound
        and entry_filter.is_valid()
        and bool(entry_filter.form.cleaned_data.get("object_type"))
        and bool(entry_filter.form.cleaned_data.get("object_id")),
        "state": chain_state(),
    }
    return render(request, "core/audit_trail.html", context, status=status)


@login_required
@require_POST
def audit_trail_verify(request):
    """Queue a full verification of the chain (minutes on a large trail, so never inline on
    a page view); its result appears on the audit trail page when it finishes."""
    _require_audit_reader(request.user)
    verify_audit_trail.delay(request.user.pk, timezone.now().isoformat())
    messages.info(
        request,
        _("Verification requested: the result appears on this page when it finishes."),
    )
    return redirect("audit_trail")
