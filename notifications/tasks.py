from celery import shared_task

from . import dispatch, notices

# Retried after about 30 s, 1, 2, 4... minutes (jittered), at most an hour apart.
RETRY = {
    "acks_late": True,
    "autoretry_for": (notices.TemporaryFailure,),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task
def dispatch_events() -> dict:
    """Dispatch the pending events (run by beat every minute, and asked for right after an
    account e-mail is recorded)."""
    result = dispatch.dispatch_pending()
    return {"dispatched": result.dispatched, "failed": result.failed}


@shared_task(**RETRY)
def send_notice(notice_id: int) -> str:
    """Send one notice; delivered twice, it sends once (notifications.notices)."""
    return notices.send_notice(notice_id)


@shared_task(**RETRY)
def send_digest(digest_id: int) -> str:
    return notices.send_digest(digest_id)


@shared_task
def send_daily_digests() -> int:
    """Group the day's digest notices into one e-mail per recipient (beat, once a day)."""
    return len(notices.collect_digests())


@shared_task
def requeue_notices() -> int:
    """Ask again for notices whose send task was lost (beat, every few minutes)."""
    return notices.requeue_stale()
