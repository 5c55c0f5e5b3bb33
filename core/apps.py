from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Reference data and audit")

    def ready(self):
        from . import (
            checks,  # noqa: F401 - registers the system checks
            converters,
            reference_versions,
        )

        converters.register()
        reference_versions.connect()
