"""Notices by e-mail when parts fail (issue 13, "Real parts in tests"): a worker killed in the
middle of 1,000 notices, a send task (one notice, or a batch) delivered twice, the broker
restarted mid-run, a message refused in the middle of a batch. Real
Celery workers (prefork pool) take the tasks from a redis-server of the test's own (killed
and restarted at will, never the machine's shared one) and send to a real SMTP server.

What is lost with a worker or the broker is the task message, never the notice: the
`requeue-notices` sweep (beat, every NOTICE_REQUEUE_INTERVAL) asks again for the notices
still queued NOTICE_REQUEUE_AFTER seconds after they were made. Here the workers get
NOTICE_REQUEUE_AFTER=1 through their environment (production's default is 600), and the
test runs the sweep's task once the queue is empty and mail stops arriving, as beat would
in its next turn."""

import ast
import base64
import json
import re
import signal
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

import pytest
import redis
from django.utils import timezone

from accounts.models import User
from notifications import dispatch
from notifications.models import (
    Delivery,
    Notice,
    NoticeStatus,
    Subscription,
    SubscriptionCriterion,
    criteria_kinds,
)
from notifications.tasks import dispatch_events
from procurement.subscriptions import notices
from procurement.subscriptions.matching import Criteria
from procurement.subscriptions.notices import notice_message_id
from procurement.tasks import requeue_notices, send_notice, send_notices
from tests.factories import (
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
)
from tests.real_parts import Inbox, smtp_running, stop_worker, tasks_sent_to, wait_for

pytestmark = pytest.mark.integration

CONCURRENCY = 4
WORKER = {
    "args": ("--pool", "prefork", "--concurrency", str(CONCURRENCY)),
    "env": {"NOTICE_REQUEUE_AFTER": "1"},
}
# The test runs the sweep once no mail arrived for this long with the queue empty.
QUIET_SECONDS = 2


@pytest.fixture
def broker(redis_server):
    """The test's own Redis as the broker of this process's tasks, on a queue of its own."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with tasks_sent_to(redis_server.url, queue):
        yield redis_server, queue


def _subscribers(count: int, *, names=None) -> None:
    """`count` accounts (or one per local part in `names`), each subscribed (at once, in
    Spanish) to computers."""
    now = timezone.now()
    names = names or [f"lector{n}" for n in range(count)]
    users = User.objects.bulk_create(
        User(email=f"{name}@fallas.pe", full_name=name, email_verified_at=now) for name in names
    )
    rows = Criteria(catalog=("4321",)).rows()
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            owner=user,
            name="Cómputo",
            delivery=Delivery.IMMEDIATE,
            language="es",
            criteria_kinds=criteria_kinds(field for field, _value in rows),
        )
        for user in users
    )
    SubscriptionCriterion.objects.bulk_create(
        SubscriptionCriterion(subscription=subscription, field=field, value=value)
        for subscription in subscriptions
        for field, value in rows
    )


def _publish_servers_process():
    """A published process every subscriber's subscription matches (its event waits for
    beat's dispatch, which makes the notices and asks for their send tasks)."""
    version, staff = published_plan(
        year=timezone.localdate().year,
        items=[
            {"description": "Servidores", "catalog_item": "43211503", "estimated_value": 450000}
        ],
    )
    process = process_from_plan(staff, version, description="Adquisición de servidores")
    return publish_with_lp_calendar(staff, process, call=last_working_day_until_today())


def _notices(count: int, worker) -> set[str]:
    """Wait for the worker to dispatch the event into `count` notices: their Message-IDs."""
    wait_for(lambda: Notice.objects.count() == count, worker, f"{count} notices not made", 60)
    return {notice_message_id(notice) for notice in Notice.objects.all()}


def _until_all_received(inbox, worker, broker, expected: set[str], seconds=120) -> int:
    """Wait until the SMTP server has received every expected Message-ID. Whenever the
    queue is empty and no mail arrived for QUIET_SECONDS, run the requeue sweep (its turn in
    production comes minutes later, when a backlog is long sent). Returns the sweeps run."""
    redis_server, queue = broker
    state = {"count": -1, "since": time.monotonic(), "sweeps": 0}

    def queue_empty():
        try:
            return redis.Redis(port=redis_server.port).llen(queue) == 0
        except redis.ConnectionError:
            return False

    def all_received():
        now = time.monotonic()
        if len(inbox.messages) != state["count"]:
            state["count"], state["since"] = len(inbox.messages), now
        elif now - state["since"] > QUIET_SECONDS and queue_empty():
            requeue_notices.delay()
            state["since"], state["sweeps"] = now, state["sweeps"] + 1
        return len(inbox.messages) >= len(expected) and expected <= set(inbox.message_ids())

    wait_for(all_received, worker, f"not all {len(expected)} notices were received", seconds)
    return state["sweeps"]


def _settled(inbox) -> None:
    """Let the SMTP server finish the messages whose end it got before the kill (it counts
    them after the client is gone): wait until a second passes with nothing new."""
    count = -1
    while count != len(inbox.messages):
        count = len(inbox.messages)
        time.sleep(1)


def _all_marked_sent(worker) -> None:
    wait_for(
        lambda: not Notice.objects.exclude(status=NoticeStatus.SENT).exists(),
        worker,
        "notices not marked sent",
    )


def test_a_worker_killed_mid_batch_loses_no_notice_and_duplicates_only_those_in_flight(
    transactional_db, smtp_server, broker, celery_workers
):
    inbox, _port = smtp_server
    redis_server, queue = broker
    _subscribers(1000)
    first = celery_workers(broker=redis_server.url, queue=queue, **WORKER)
    _publish_servers_process()
    dispatch_events.delay()  # what beat does every minute
    expected = _notices(1000, first)
    wait_for(lambda: len(inbox.messages) >= 300, first, "300 e-mails not received", 90)

    stop_worker(first, signal.SIGKILL)  # the whole worker, pool children included
    _settled(inbox)
    received = set(inbox.message_ids())
    committed = {notice_message_id(n) for n in Notice.objects.filter(status=NoticeStatus.SENT)}
    # Accepted by the SMTP server, but the commit that marks them sent died with the worker.
    in_flight = received - committed
    assert 300 <= len(received) < 1000, "the kill did not fall mid-batch"
    assert len(in_flight) <= CONCURRENCY

    second = celery_workers(broker=redis_server.url, queue=queue, **WORKER)
    sweeps = _until_all_received(inbox, second, broker, expected)
    _all_marked_sent(second)
    counts = Counter(inbox.message_ids())
    duplicated = {message_id for message_id, count in counts.items() if count > 1}
    print(
        f"{len(received)} e-mails before the kill, {len(in_flight)} of them in flight; "
        f"{len(duplicated)} duplicate(s) after {sweeps} requeue sweep(s)"
    )
    assert set(counts) == expected  # every notice, and nothing else
    assert duplicated <= in_flight and max(counts.values()) <= 2
    assert len(inbox.messages) == 1000 + len(duplicated)


def test_a_send_task_delivered_twice_sends_one_e_mail(
    transactional_db, smtp_server, broker, celery_workers
):
    inbox, _port = smtp_server
    redis_server, queue = broker
    _subscribers(20)
    _publish_servers_process()
    # No worker yet: the event is dispatched here, and the broker then loses the notices'
    # send task (one batch for the 20), so only the test asks for sends.
    dispatch.dispatch_pending()
    lost = redis.Redis(port=redis_server.port)
    assert lost.llen(queue) == 1
    lost.delete(queue)
    expected = {notice_message_id(notice) for notice in Notice.objects.all()}
    assert Notice.objects.filter(status=NoticeStatus.QUEUED).count() == len(expected) == 20
    inbox.delay = 0.3  # slow enough for a second copy to arrive while the first is sending

    ids = list(Notice.objects.order_by("pk").values_list("pk", flat=True))
    for notice_id in ids:  # adjacent copies: two pool processes take them at once
        send_notice.delay(notice_id)
        send_notice.delay(notice_id)
    worker = celery_workers(
        broker=redis_server.url,
        queue=queue,
        args=(*WORKER["args"], "-l", "info"),  # the tasks' results in the log
    )
    wait_for(lambda: len(inbox.messages) >= 20, worker, "20 e-mails not received")
    _all_marked_sent(worker)
    for notice_id in ids:  # and once more after the send committed
        send_notice.delay(notice_id)

    def results():
        return re.findall(r"succeeded in [\d.]+s: '(\w+)'", worker.log.read_text())

    wait_for(lambda: len(results()) == 60, worker, "60 send tasks not done")
    assert Counter(results()) == {"sent": 20, "not_queued": 40}
    assert Counter(inbox.message_ids()) == dict.fromkeys(expected, 1)
    assert set(Notice.objects.values_list("status", "attempts")) == {(NoticeStatus.SENT, 1)}


def test_the_broker_restarted_mid_run_loses_no_notice(
    transactional_db, smtp_server, broker, celery_workers
):
    inbox, _port = smtp_server
    redis_server, queue = broker
    _subscribers(1000)
    worker = celery_workers(broker=redis_server.url, queue=queue, **WORKER)
    _publish_servers_process()
    dispatch_events.delay()  # what beat does every minute
    expected = _notices(1000, worker)
    wait_for(lambda: len(inbox.messages) >= 200, worker, "200 e-mails not received", 90)

    redis_server.kill()  # with every task message it held: nothing is kept on disk
    before = len(inbox.messages)
    redis_server.start()  # the same port, empty
    assert before < 1000, "the broker went down after the last e-mail"

    sweeps = _until_all_received(inbox, worker, broker, expected)
    _all_marked_sent(worker)
    counts = Counter(inbox.message_ids())
    duplicates = len(inbox.messages) - len(counts)
    print(f"{before} e-mails before the restart; {duplicates} duplicate(s), {sweeps} sweep(s)")
    assert "Connection to broker lost" in worker.log.read_text()  # and it reconnected
    assert set(counts) == expected
    assert sweeps >= 1  # the messages the broker lost came back through the sweep
    assert duplicates <= CONCURRENCY


def test_a_batch_task_delivered_twice_sends_each_e_mail_once(
    transactional_db, smtp_server, broker, celery_workers
):
    inbox, _port = smtp_server
    redis_server, queue = broker
    _subscribers(20)
    _publish_servers_process()
    dispatch.dispatch_pending()  # makes the notices and asks for one batch task...
    lost = redis.Redis(port=redis_server.port)
    assert lost.llen(queue) == 1
    lost.delete(queue)  # ...which the broker loses
    ids = list(Notice.objects.order_by("pk").values_list("pk", flat=True))
    inbox.delay = 0.05
    send_notices.delay(ids)  # adjacent copies: two pool processes take them at once
    send_notices.delay(ids)
    worker = celery_workers(
        broker=redis_server.url, queue=queue, args=(*WORKER["args"], "-l", "info")
    )
    _all_marked_sent(worker)
    send_notices.delay(ids)  # and once more after every send committed

    def results():
        found = re.findall(r"succeeded in [\d.]+s: (\{[^}]*\})", worker.log.read_text())
        return [ast.literal_eval(result) for result in found]

    wait_for(lambda: len(results()) == 3, worker, "3 send tasks not done")
    assert sum(result.get("sent", 0) for result in results()) == 20
    assert results()[-1] == {"not_queued": 20}
    expected = {notice_message_id(notice) for notice in Notice.objects.all()}
    assert Counter(inbox.message_ids()) == dict.fromkeys(expected, 1)
    assert set(Notice.objects.values_list("status", "attempts")) == {(NoticeStatus.SENT, 1)}


class _RefusingSome(Inbox):
    """Says a mailbox is full (452: may pass) to lleno@, has no mailbox (550) for nadie@."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("lleno@"):
            return "452 4.2.2 Mailbox full"
        if address.startswith("nadie@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _queued_tasks(redis_server, queue) -> list[tuple[str, list, datetime | None]]:
    """The tasks waiting in `queue`: (task name, arguments, eta)."""
    tasks = []
    for raw in redis.Redis(port=redis_server.port).lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        eta = message["headers"].get("eta")
        tasks.append((message["headers"]["task"], args, eta and datetime.fromisoformat(eta)))
    return tasks


def test_a_message_refused_in_a_batch_is_retried_alone_and_the_others_go_out(
    transactional_db, broker, settings
):
    redis_server, queue = broker
    _subscribers(4, names=["ana", "lleno", "nadie", "zoila"])
    _publish_servers_process()
    dispatch.dispatch_pending()
    ((task, (ids,), _eta),) = _queued_tasks(redis_server, queue)  # one batch, every notice
    assert task == "procurement.tasks.send_notices" and len(ids) == 4
    redis.Redis(port=redis_server.port).delete(queue)
    by_name = {
        n.recipient.email.split("@")[0]: n for n in Notice.objects.select_related("recipient")
    }

    inbox = _RefusingSome()
    with smtp_running(inbox) as (_inbox, port):
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
            }
        }
        started = timezone.now()
        assert notices.send_notices(ids) == {"sent": 2, "retry": 1, "failed": 1}
        finished = timezone.now()
    assert sorted(inbox.message_ids()) == sorted(
        notice_message_id(by_name[name]) for name in ["ana", "zoila"]
    )
    statuses = {name: Notice.objects.get(pk=n.pk) for name, n in by_name.items()}
    assert {name: (n.status, n.attempts) for name, n in statuses.items()} == {
        "ana": (NoticeStatus.SENT, 1),
        "zoila": (NoticeStatus.SENT, 1),
        "lleno": (NoticeStatus.QUEUED, 1),
        "nadie": (NoticeStatus.FAILED, 1),
    }
    full = statuses["lleno"]
    assert "452" in full.last_error and "550" in statuses["nadie"].last_error
    backoff = timedelta(seconds=30)  # after one attempt
    assert started + backoff <= full.retry_due_at <= finished + backoff
    # Its retry alone, after a delay of at most that backoff; the refused one, never.
    ((task, args, eta),) = _queued_tasks(redis_server, queue)
    assert (task, args) == ("procurement.tasks.send_notices", [[full.pk]])
    assert eta is not None and started <= eta <= finished + backoff
