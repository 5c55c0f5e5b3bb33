"""The account e-mails, sent by the outbox dispatcher (notifications.dispatch) for the events
accounts.services records. Each reads the account at send time: a link with a secret token is
made here, never stored in the event, and an e-mail that no longer applies (the address was
confirmed meanwhile) is not sent."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from notifications.email import send_event_email
from notifications.models import Event

from .models import User


def _send(event: Event, user: User, subject: str, template: str, context: dict) -> None:
    send_event_email(
        event,
        to=user.email,
        subject=subject,
        template=f"accounts/email/{template}",
        context={"user": user, **context},
    )


def send_verification(event: Event) -> None:
    from .services import verification_url

    user = User.objects.filter(pk=event.object_id, email_verified_at__isnull=True).first()
    if user is None:  # already confirmed or deleted: nothing to send
        return
    with translation.override("es"):
        _send(
            event, user, _("Confirm your e-mail address"), "verify", {"url": verification_url(user)}
        )


def send_set_password(event: Event) -> None:
    from .services import set_password_url

    user = User.objects.filter(pk=event.object_id, is_active=True).first()
    if user is None:
        return
    with translation.override("es"):
        _send(
            event,
            user,
            _("Choose your password for the procurement portal"),
            "set_password",
            {"url": set_password_url(user)},
        )


def send_password_reset(event: Event) -> None:
    """Django's reset link (its token is made now, and stops working once the password
    changes), with the reset e-mail's templates."""
    user = User.objects.filter(pk=event.object_id, is_active=True).first()
    if user is None:
        return
    with translation.override("es"):
        subject = render_to_string("accounts/email/password_reset_subject.txt", {})
        _send(
            event,
            user,
            "".join(subject.splitlines()),
            "password_reset",
            {
                "site_url": settings.SITE_URL,
                "uid": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )


def send_registration_attempt_notice(event: Event) -> None:
    user = User.objects.filter(pk=event.object_id).first()
    if user is None:
        return
    with translation.override("es"):
        _send(
            event,
            user,
            _("Someone tried to register with your e-mail address"),
            "registration_attempt",
            {
                "login_url": settings.SITE_URL + reverse("accounts:login"),
                "reset_url": settings.SITE_URL + reverse("accounts:password_reset"),
            },
        )
