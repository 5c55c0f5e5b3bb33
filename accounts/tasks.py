from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from .models import User


def _send(task, user: User, subject: str, template: str, context: dict) -> None:
    """Send one account e-mail in Spanish, text and HTML (text templates do not escape)."""
    context = {"user": user, **context}
    try:
        send_mail(
            subject=subject,
            message=render_to_string(f"accounts/email/{template}.txt", context),
            html_message=render_to_string(f"accounts/email/{template}.html", context),
            from_email=None,
            recipient_list=[user.email],
        )
    except OSError as exc:
        raise task.retry(exc=exc) from exc


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_verification_email(self, user_id: int) -> None:
    from .services import verification_url

    user = User.objects.filter(pk=user_id, email_verified_at__isnull=True).first()
    if user is None:  # already verified or deleted: nothing to send
        return
    with translation.override("es"):
        _send(
            self, user, _("Confirm your e-mail address"), "verify", {"url": verification_url(user)}
        )


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_set_password_email(self, user_id: int) -> None:
    from .services import set_password_url

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    with translation.override("es"):
        _send(
            self,
            user,
            _("Choose your password for the procurement portal"),
            "set_password",
            {"url": set_password_url(user)},
        )


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_registration_attempt_notice(self, user_id: int) -> None:
    from django.conf import settings
    from django.urls import reverse

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    with translation.override("es"):
        _send(
            self,
            user,
            _("Someone tried to register with your e-mail address"),
            "registration_attempt",
            {
                "login_url": settings.SITE_URL + reverse("accounts:login"),
                "reset_url": settings.SITE_URL + reverse("accounts:password_reset"),
            },
        )
