from django.conf import settings
from django.utils import translation


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
