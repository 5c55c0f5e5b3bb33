from django.conf import settings
from django.http import Http404, HttpResponseBadRequest
from django.utils import translation
from django.utils.translation import gettext as _


class PortalLanguageMiddleware:
    """Spanish first: the page language is the one the visitor chose with the language switch
    (stored in a cookie by Django's set_language view), otherwise Spanish, whatever the
    browser's Accept-Language says."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class RejectControlCharactersMiddleware:
    """No database stores a NUL byte in text (PostgreSQL refuses it with an error), and no
    URL or search of the portal needs a control character: a path that carries one is a 404
    and a query string that carries one is a 400, before any view or admin page queries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_control_character(request.path_info):
            raise Http404(_("The page you asked for does not exist."))
        for key, values in request.GET.lists():
            if _has_control_character(key) or any(_has_control_character(v) for v in values):
                return HttpResponseBadRequest(
                    _("The address contains a character that is not allowed."),
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)


def _has_control_character(text: str) -> bool:
    # Tab, CR and LF can legitimately appear in a submitted search; NUL and the other C0
    # controls cannot, and NUL is the one that breaks PostgreSQL.
    return any(ord(ch) < 32 and ch not in "\t\r\n" for ch in text)
