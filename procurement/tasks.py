"""Periodic tasks of the procurement app (thin: the rules are the services')."""

from celery import shared_task

from . import open_data, red_flags, sme
from .services import awards
from .subscriptions import notices, process_notices


@shared_task
def consent_awards() -> int:
    """Scheduled by celery beat (CELERY_BEAT_SCHEDULE): consent the awards whose standstill
    ended with no appeal (procurement.services.awards.consent_due_awards). Returns how many."""
    return awards.consent_due_awards()


# --- Subscription notices (procurement.subscriptions.notices) ---------------------------------

# Retried after about 30 s, 1, 2, 4... minutes (jittered), at most an hour apart (a batch's
# notices are retried one by one on the same schedule: notices.request_retries).
NOTICE_RETRY = {
    "acks_late": True,
    "autoretry_for": (notices.TemporaryFailure,),
    "retry_backoff": notices.RETRY_BACKOFF,
    "retry_backoff_max": notices.RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(acks_late=True)
def send_notices(notice_ids: list[int]) -> dict:
    """Send a batch of notices over one SMTP connection; delivered twice, each is sent once.
    A notice that failed for a reason that may pass is asked for again alone, after its own
    backoff (notices.request_retries), so this task itself is never retried."""
    return notices.send_notices(notice_ids)


@shared_task(**NOTICE_RETRY)
def send_notice(notice_id: int) -> str:
    """Send one notice; delivered twice, it sends once. (Notices are asked for in batches,
    send_notices; this one serves the tasks queued before, and a single resend.)"""
    return notices.send_notice(notice_id)


@shared_task(**NOTICE_RETRY)
def send_digest(digest_id: int) -> str:
    return notices.send_digest(digest_id)


@shared_task
def send_daily_digests() -> int:
    """Group the day's digest notices into one e-mail per recipient (beat, once a day)."""
    return len(notices.collect_digests())


@shared_task
def record_deadline_events() -> dict:
    """Record the reminders of the bid deadlines due one working day ahead, and the
    deadlines that passed with no bid (beat, hourly; a reminder at most once per process
    and deadline, a deadline with no bid once per process, however often or late it runs)."""
    return {
        "reminders": process_notices.record_bid_reminders(),
        "without_bids": process_notices.record_deadlines_without_bids(),
    }


@shared_task
def requeue_notices() -> int:
    """Ask again for notices whose send task was lost (beat, every few minutes)."""
    return notices.requeue_stale()


@shared_task
def build_open_data() -> int | None:
    """Rewrite the bulk files of /datos/ (beat, once a day). Returns how many are listed
    (None when another build was writing them: nothing done)."""
    files = open_data.build()
    return None if files is None else len(files)


@shared_task
def refresh_red_flags() -> int:
    """Recompute every process's red flags and risk score with the rule functions
    (procurement.red_flags.refresh; beat, once a day). Returns how many are flagged."""
    return red_flags.refresh()


@shared_task
def refresh_sme_summary() -> int:
    """Rewrite the SME share pages' summed figures of every entity and year
    (procurement.sme.refresh_summary; beat, once a day): the services refresh an entity's
    year on each change, this catches whatever changed outside them. Returns rows written."""
    return sme.refresh_summary()


@shared_task
def warm_audit_overview() -> int:
    """The auditor overview's counts, counted again before they expire (views.audit)."""
    from .views.audit import warm_overview

    return warm_overview()


@shared_task
def warm_statistics() -> int:
    """The unfiltered tables of /estadisticas/, counted again before they expire."""
    from . import statistics

    return statistics.warm()
