"""E-mails sent for events: text and HTML, with a Message-ID made from the event, so that the
same event sent twice (a retry after a worker died before recording the send) is recognisably
the same message."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .models import Event


def site_host() -> str:
    """The portal's host name (SITE_URL's), as Message-IDs and calendar UIDs name it."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id(event: Event) -> str:
    return f"<event-{event.pk}@{site_host()}>"


def send_event_email(event: Event, *, to: str, subject: str, template: str, context: dict):
    """Send `template` (.txt and .html; text templates do not escape) to one address."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=[to],
        headers={"Message-ID": message_id(event)},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()
