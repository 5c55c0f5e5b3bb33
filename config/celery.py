"""Celery application: broker from CELERY_BROKER_URL; tasks autodiscovered in each app."""

import logging
import os

from celery import Celery
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu.common import ignore_errors

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class Consumer(CeleryConsumer):
    """The worker's consumer (setting CELERY_WORKER_CONSUMER), reconnecting when the broker
    goes away with tasks in hand.

    Celery 5.7, on losing the broker, first collects the broken connection (which unhooks
    its transport) and then closes it; closing a Redis channel that holds unacknowledged
    messages (every task is acks_late) then tries to put them back through the unhooked
    transport, raises AttributeError, and the worker stops for good instead of reconnecting.
    Closing the task channel first, while its transport is there, makes that a connection
    error, ignored: messages it could not put back are lost with the broker's, and their
    notices are asked for again by the requeue sweep."""

    def on_connection_error_after_connected(self, exc):
        if self.connection is not None and self.task_consumer is not None:
            try:
                ignore_errors(self.connection, self.task_consumer.channel.close)
            except Exception:  # noqa: BLE001 - the connection is being thrown away
                logger.debug("closing the task channel of a lost connection", exc_info=True)
        super().on_connection_error_after_connected(exc)
