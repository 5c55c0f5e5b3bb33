"""Periodic tasks of the procurement app (thin: the rules are the services')."""

from celery import shared_task

from .services import awards


@shared_task
def consent_awards() -> int:
    """Scheduled by celery beat (CELERY_BEAT_SCHEDULE): consent the awards whose standstill
    ended with no appeal (procurement.services.awards.consent_due_awards). Returns how many."""
    return awards.consent_due_awards()
