from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import dispatch, keywords, notices
        from .models import EventKind

        connection_created.connect(
            keywords.register_sqlite_fold, dispatch_uid="notifications.keywords.fold"
        )
        dispatch.register(EventKind.PROCESS_PUBLISHED, notices.notify_subscribers)
