from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from .models import SupplierInvitation


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_invitation_email(self, invitation_id: int) -> None:
    """E-mail the invitation's link (made here, so the token never sits in the broker)."""
    from .services import INVITATION_VALIDITY, invitation_url

    invitation = (
        SupplierInvitation.objects.select_related("supplier", "invited_by")
        .filter(pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None:  # withdrawn or used meanwhile: nothing to send
        return
    context = {
        "invitation": invitation,
        "supplier": invitation.supplier,
        "inviter": invitation.invited_by.get_full_name() if invitation.invited_by else "",
        "url": invitation_url(invitation),
        "days": INVITATION_VALIDITY.days,
    }
    with translation.override("es"):
        try:
            send_mail(
                subject=_("Invitation to act for %(supplier)s on the procurement portal")
                % {"supplier": invitation.supplier.legal_name},
                message=render_to_string("suppliers/email/invitation.txt", context),
                html_message=render_to_string("suppliers/email/invitation.html", context),
                from_email=None,
                recipient_list=[invitation.email],
            )
        except OSError as exc:
            raise self.retry(exc=exc) from exc
