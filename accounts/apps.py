from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from notifications import dispatch
        from notifications.models import EventKind

        from . import emails

        # Logging in is entering the password: it opens the re-authentication window.
        user_logged_in.connect(_mark_reauthenticated, dispatch_uid="accounts.reauth.login")

        dispatch.register(EventKind.ACCOUNT_VERIFICATION, emails.send_verification)
        dispatch.register(EventKind.ACCOUNT_SET_PASSWORD, emails.send_set_password)
        dispatch.register(EventKind.ACCOUNT_PASSWORD_RESET, emails.send_password_reset)
        dispatch.register(
            EventKind.ACCOUNT_REGISTRATION_ATTEMPT, emails.send_registration_attempt_notice
        )


def _mark_reauthenticated(sender, request, user, **kwargs):
    from . import reauth

    if request is not None and hasattr(request, "session"):
        reauth.mark_reauthenticated(request, user)
