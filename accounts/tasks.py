from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from .models import User


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_verification_email(self, user_id: int) -> None:
    from .services import verification_url

    user = User.objects.filter(pk=user_id, email_verified_at__isnull=True).first()
    if user is None:  # already verified or deleted: nothing to send
        return
    with translation.override("es"):
        context = {"user": user, "url": verification_url(user)}
        try:
            send_mail(
                subject=_("Confirm your e-mail address"),
                message=render_to_string("accounts/email/verify.txt", context),
                html_message=render_to_string("accounts/email/verify.html", context),
                from_email=None,
                recipient_list=[user.email],
            )
        except OSError as exc:
            raise self.retry(exc=exc) from exc
