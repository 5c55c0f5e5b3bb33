from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliersConfig(AppConfig):
    name = "suppliers"
    verbose_name = _("Supplier registry")

    def ready(self):
        from accounts.signals import email_verified
        from notifications import dispatch
        from notifications.models import EventKind

        from . import emails

        email_verified.connect(_activate_on_email_verified, dispatch_uid="suppliers.activate")
        dispatch.register(EventKind.SUPPLIER_INVITATION, emails.send_invitation)


def _activate_on_email_verified(sender, *, user, **kwargs):
    """A confirmed address brings the user's supplier registrations into force."""
    from .services import activate_registration

    activate_registration(user)
