from celery import shared_task

from . import anchors


@shared_task
def publish_audit_anchor() -> int | None:
    """Scheduled every few minutes by celery beat (CELERY_BEAT_SCHEDULE): sign and store the
    audit chain's head outside the database. Returns the anchored sequence, if any."""
    anchor = anchors.publish_anchor()
    return anchor.sequence if anchor else None


@shared_task
def verify_audit_trail(requested_by_id: int | None = None) -> bool:
    """Verify the whole audit chain against its anchors and record the result (daily by
    celery beat, or when an auditor asks from /auditoria/registro/). Returns whether it held."""
    from django.contrib.auth import get_user_model

    from .models import AuditVerification
    from .verification import run_verification

    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    source = AuditVerification.Source.REQUEST if user else AuditVerification.Source.TASK
    return run_verification(source=source, requested_by=user).ok
