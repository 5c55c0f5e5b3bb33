"""The supplier registry's e-mails, sent by the outbox dispatcher (notifications.dispatch)."""

from django.utils import translation
from django.utils.translation import gettext as _

from notifications.email import send_event_email
from notifications.models import Event

from .models import SupplierInvitation


def send_invitation(event: Event) -> None:
    """E-mail the invitation's link (made here, so the token is never stored in the event)."""
    from .services import INVITATION_VALIDITY, invitation_url

    invitation = (
        SupplierInvitation.objects.select_related("supplier", "invited_by")
        .filter(pk=event.object_id, accepted_at__isnull=True, revoked_at__isnull=True)
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
        send_event_email(
            event,
            to=invitation.email,
            subject=_("Invitation to act for %(supplier)s on the procurement portal")
            % {"supplier": invitation.supplier.legal_name},
            template="suppliers/email/invitation",
            context=context,
        )
