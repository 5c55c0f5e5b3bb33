from celery import shared_task

from . import anchors


@shared_task
def publish_audit_anchor() -> int | None:
    """Scheduled every few minutes by celery beat (CELERY_BEAT_SCHEDULE): sign and store the
    audit chain's head outside the database. Returns the anchored sequence, if any."""
    anchor = anchors.publish_anchor()
    return anchor.sequence if anchor else None
