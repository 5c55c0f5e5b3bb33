from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from accounts.permissions import is_admin
from procurement.queries import latest_processes, portal_headline

from . import anchors, signing


def home(request):
    return render(
        request, "core/home.html", {"headline": portal_headline(), "latest": latest_processes()}
    )


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
    if is_admin(request.user):
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


def audit_anchor_public_key(request):
    return HttpResponse(signing.public_key_pem(), content_type="application/x-pem-file")
