"""Auditors read everything and write nothing but their notes (issue 15): a request that
could change something (any method but GET, HEAD, OPTIONS) from an auditor is refused with
403 before it reaches a view, unless its URL is one of AUDITOR_MAY_POST (settings): the
notes, a request to verify the audit chain, and their own account's pages. The services
check their own permissions as well; this makes "read-only" hold for every view, including
one added tomorrow that forgets to."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from .permissions import is_admin, is_auditor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def auditor_may_write(url_name: str) -> bool:
    """Whether an auditor may send a write to the URL named `url_name` ("ns:name")."""
    for allowed in settings.AUDITOR_MAY_POST:
        if url_name == allowed or (allowed.endswith(":") and url_name.startswith(allowed)):
            return True
    return False


class AuditorReadOnlyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in SAFE_METHODS:
            return None
        user = getattr(request, "user", None)
        if user is None or not is_auditor(user) or is_admin(user):
            return None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        if not auditor_may_write(match.view_name or ""):
            raise PermissionDenied(_("Auditors may only read; the only thing they write is notes."))
        return None
