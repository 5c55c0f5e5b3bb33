from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from notifications import dispatch
        from notifications.models import EventKind

        from . import emails

        dispatch.register(EventKind.ACCOUNT_VERIFICATION, emails.send_verification)
        dispatch.register(EventKind.ACCOUNT_SET_PASSWORD, emails.send_set_password)
        dispatch.register(EventKind.ACCOUNT_PASSWORD_RESET, emails.send_password_reset)
        dispatch.register(
            EventKind.ACCOUNT_REGISTRATION_ATTEMPT, emails.send_registration_attempt_notice
        )
