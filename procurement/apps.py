from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "procurement"
    verbose_name = _("Procurement")

    def ready(self):
        from core.filters import ENTITY_SCOPES
        from core.signals import sme_suppliable_changed
        from notifications import dispatch
        from notifications.models import EventKind

        from . import audit_scope
        from .subscriptions import notices, plan_notices, process_notices

        # The audit trail's search by entity (core cannot import procurement).
        if audit_scope.entity_entries not in ENTITY_SCOPES:
            ENTITY_SCOPES.append(audit_scope.entity_entries)

        # A published process becomes notices for the subscriptions it matches.
        dispatch.register(EventKind.PROCESS_PUBLISHED, notices.notify_subscribers)
        # Its later news reach participants, followers and the staff who must act; receipts
        # reach the bidder; the deadline reminder the participants without a bid.
        process_notices.register_handlers(dispatch)
        # A published or modified plan reaches the subscribers who follow its entity.
        plan_notices.register_handlers(dispatch)
        # A catalog code SMEs can or cannot supply any more moves the summed SME figures.
        sme_suppliable_changed.connect(_refresh_sme_summary, dispatch_uid="procurement.sme")


def _refresh_sme_summary(sender, **kwargs):
    """The whole SME summary is rewritten once the change commits (the daily task, queued
    now; `make run` runs it at once)."""
    from django.db import transaction

    from .tasks import refresh_sme_summary

    transaction.on_commit(refresh_sme_summary.delay, robust=True)
