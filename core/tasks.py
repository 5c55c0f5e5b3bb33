from datetime import datetime

from celery import shared_task

from . import anchors


@shared_task
def publish_audit_anchor() -> int | None:
    """Scheduled every few minutes by celery beat (CELERY_BEAT_SCHEDULE): sign and store the
    audit chain's head outside the database. Returns the anchored sequence, if any."""
    anchor = anchors.publish_anchor()
    return anchor.sequence if anchor else None


@shared_task
def verify_audit_trail(requested_by_id: int | None = None, requested_at: str | None = None) -> bool:
    """Verify the whole audit chain against its anchors and record the result (daily by
    celery beat, or when an auditor asks from /auditoria/registro/). Returns whether it held.

    A request (made at `requested_at`) that a verification started since then already answers
    runs nothing: a hundred clicks queue a hundred tasks but not a hundred full walks of the
    chain, each minutes long."""
    from django.contrib.auth import get_user_model

    from .models import AuditVerification
    from .verification import run_verification

    if requested_at:
        since = datetime.fromisoformat(requested_at)
        answered = AuditVerification.objects.filter(started_at__gte=since).first()
        if answered is not None:
            return answered.ok

    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    source = AuditVerification.Source.REQUEST if user else AuditVerification.Source.TASK
    return run_verification(source=source, requested_by=user).ok


@shared_task
def persist_visits() -> dict[str, int]:
    """Every few minutes (CELERY_BEAT_SCHEDULE): copy the pages' visit totals from Redis into
    the database (core.visits)."""
    from .visits import persist_visits as persist

    return persist()


@shared_task
def forget_form_tokens() -> int:
    """Hourly by celery beat (CELERY_BEAT_SCHEDULE): the one-time form tokens older than
    core.idempotency.KEEP_FOR are deleted. Returns how many."""
    from .idempotency import forget_expired

    return forget_expired()
