from celery import shared_task

from . import dispatch


@shared_task
def dispatch_events() -> dict:
    """Dispatch the pending events (run by beat every minute, and asked for right after an
    account e-mail is recorded)."""
    result = dispatch.dispatch_pending()
    return {"dispatched": result.dispatched, "failed": result.failed}
