from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from procurement.queries import latest_processes, portal_headline


def home(request):
    return render(
        request, "core/home.html", {"headline": portal_headline(), "latest": latest_processes()}
    )


@never_cache
def health(request):
    """200 when the database answers, 503 otherwise (for load balancers and monitors)."""
    status = {"database": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        status["database"] = f"error: {exc.__class__.__name__}"
    status["database_vendor"] = connection.vendor
    ok = status["database"] == "ok"
    return JsonResponse(status, status=200 if ok else 503)
