"""Subscription notices (issue 13): matching a newly published process against many
subscriptions, and sending the notices through real Celery workers to a real SMTP server.

`python -m bench notices`. In the scratch database (bench/__main__.py), with the reference data
(UNSPSC catalog, UBIGEO) loaded:

1. Matching. BENCH_NOTICE_SUBSCRIPTIONS subscriptions (default 100,000) of owners holding one
   to six each, with a varied mix of criteria drawn from the reference data (catalog codes at
   every level, regions at every UBIGEO level, entities, procedure and object types, value
   ranges, keywords with accents and plurals, SME-only, a few inactive), written with
   bulk_create. Then, for two published processes: the project's matching
   (procurement.subscriptions.matching.subscriptions_for_process: SQL, keywords in Python on
   the candidates it finds) against the naive way: every subscription already in memory
   (loading not timed), matched one by one in plain Python by the same criteria. Both must
   find the same subscriptions, or the bench fails.
2. Sending. BENCH_NOTICE_EMAILS subscribers (default 10,000) match a newly published
   process; the dispatch makes their notices and queues a send task each on the real Redis
   (BENCH_REDIS_URL, default redis://127.0.0.1:6379/11, a queue of its own); then worker
   processes (tests.real_parts: `celery worker --pool solo`, one task at a time each) are started
   and send to an SMTP server (aiosmtpd) in this process. E-mails per second run from the
   first e-mail received to the last, with one worker process, then two (BENCH_NOTICE_CONCURRENCY
   above 1: each with that many prefork children instead of --pool solo; CPU per e-mail counts
   the children). Every notice must
   arrive once, under its own Message-ID, and be marked sent.
"""

import os
import random
import re
import statistics
import time
from decimal import Decimal
from pathlib import Path

EMAIL_DOMAIN = "suscriptores.bench.pe"
KEYWORD_VOCABULARY = [
    # (typed as users type them: accents or not, singular or plural)
    "computadoras",
    "computadora portátil",
    "Computadoras Portatiles",
    "laptops",
    "equipos informáticos",
    "equipo informatico",
    "servidores",
    "adquisición de computadoras",
    "tablets",
    "impresoras",
    "papel bond",
    "útiles de escritorio",
    "limpieza",
    "medicamentos",
    "obras de saneamiento",
    "consultoría",
    "alimentos",
    "vehículos",
    "mantenimiento",
    "combustible",
    "uniformes",
    "carreteras",
    "seguridad y vigilancia",
    "material médico",
    "mobiliario escolar",
    "instituciones educativas",
]
POPULAR_SEGMENTS = ["43", "44", "42", "72", "80", "50", "78", "81", "46", "25"]
PROCEDURES = ["LP", "CP", "AS", "SIE", "COMPRE", "CD", "SCI"]
OBJECTS = ["goods", "services", "works", "consulting_works"]


# --- 1. matching -------------------------------------------------------------------------------


def _reference(rng):
    """Catalog prefixes by level (popular segments weighted) and UBIGEO codes by level."""
    from core.catalog import code_prefix
    from core.models import CatalogItem, Department, District, Province

    catalog: dict[int, list[str]] = {2: [], 4: [], 6: [], 8: []}
    for code in CatalogItem.objects.values_list("code", flat=True):
        prefix = code_prefix(code)
        catalog.setdefault(len(prefix), []).append(prefix)
    popular = {
        length: [p for p in prefixes if p[:2] in POPULAR_SEGMENTS]
        for length, prefixes in catalog.items()
    }
    regions = {
        2: list(Department.objects.values_list("code", flat=True)),
        4: list(Province.objects.values_list("code", flat=True)),
        6: list(District.objects.values_list("code", flat=True)),
    }
    return catalog, popular, regions


def _criteria(rng, catalog, popular, regions, rucs):
    """A subscription's criteria as a user might set them (procurement.subscriptions.matching
    .Criteria), and whether it is active."""
    from procurement.subscriptions.matching import Criteria

    def some(pool, most):
        return tuple(dict.fromkeys(rng.choice(pool) for _ in range(rng.randint(1, most))))

    def catalog_code():
        length = rng.choices([2, 4, 6, 8], weights=[10, 35, 35, 20])[0]
        return rng.choice(popular[length] if rng.random() < 0.6 else catalog[length])

    def region():
        length = rng.choices([2, 4, 6], weights=[60, 25, 15])[0]
        if length == 2 and rng.random() < 0.3:
            return "15"  # Lima
        return rng.choice(regions[length])

    low = high = None
    if rng.random() < 0.3:
        low = Decimal(rng.choice([0, 10_000, 50_000, 100_000, 300_000, 500_000, 1_000_000]))
        if rng.random() < 0.7:
            high = low * rng.choice([2, 5, 10, 50]) + 10_000
    return Criteria(
        catalog=tuple(dict.fromkeys(catalog_code() for _ in range(rng.randint(1, 3))))
        if rng.random() < 0.75
        else (),
        regions=tuple(dict.fromkeys(region() for _ in range(rng.randint(1, 2))))
        if rng.random() < 0.5
        else (),
        entities=some(rucs, 3) if rng.random() < 0.08 else (),
        procedure_types=some(PROCEDURES, 2) if rng.random() < 0.25 else (),
        object_types=some(OBJECTS, 1) if rng.random() < 0.4 else (),
        keywords=", ".join(some(KEYWORD_VOCABULARY, 3)) if rng.random() < 0.35 else "",
        min_value=low,
        max_value=high,
        sme_only=rng.random() < 0.1,
    ), rng.random() < 0.95


def _owners(count: int, prefix: str):
    """`count` users who can log in with no password (bench subscribers), made in bulk."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    unusable = make_password(None)
    return User.objects.bulk_create(
        [
            User(
                email=f"{prefix}{n}@{EMAIL_DOMAIN}",
                full_name=f"Suscriptor {n}",
                password=unusable,
                language="en" if n % 7 == 0 else "es",
            )
            for n in range(count)
        ],
        batch_size=5000,
    )


def _save(rows) -> list:
    """Subscriptions and their criterion rows in bulk: rows of (owner, Criteria, active,
    delivery, language). The criterion rows are Criteria.rows(), and the kinds of them
    criteria_kinds: what save_subscription stores."""
    from notifications.models import Subscription, SubscriptionCriterion, criteria_kinds

    subscriptions = Subscription.objects.bulk_create(
        [
            Subscription(
                owner=owner,
                name=f"Suscripción {n}",
                keywords=criteria.keywords,
                min_value=criteria.min_value,
                max_value=criteria.max_value,
                sme_only=criteria.sme_only,
                criteria_kinds=criteria_kinds(kind for kind, _v in criteria.rows()),
                active=active,
                delivery=delivery,
                language=language,
            )
            for n, (owner, criteria, active, delivery, language) in enumerate(rows)
        ],
        batch_size=5000,
    )
    SubscriptionCriterion.objects.bulk_create(
        (
            SubscriptionCriterion(subscription=subscription, field=kind, value=value)
            for subscription, (_o, criteria, *_rest) in zip(subscriptions, rows, strict=True)
            for kind, value in criteria.rows()
        ),
        batch_size=10_000,
    )
    return subscriptions


def make_subscriptions(count: int, *, rucs, seed: int = 13) -> None:
    rng = random.Random(seed)
    catalog, popular, regions = _reference(rng)
    owners = _owners(max(count // 3, 1), "s")
    rows = []
    for n in range(count):
        criteria, active = _criteria(rng, catalog, popular, regions, rucs)
        delivery = "digest" if rng.random() < 0.2 else "immediate"
        language = "en" if rng.random() < 0.15 else "es"
        rows.append((owners[n % len(owners)], criteria, active, delivery, language))
    _save(rows)
    from django.db import connection

    if connection.vendor == "postgresql":  # statistics, as autovacuum keeps them in production
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE notifications_subscription, notifications_subscriptioncriterion"
            )


def load_subscriptions():
    """Every subscription in memory, as (pk, active, Criteria): two queries."""
    from notifications.models import Criterion, Subscription, SubscriptionCriterion
    from procurement.subscriptions.matching import Criteria

    values: dict[int, dict[str, list[str]]] = {}
    for pk, kind, value in SubscriptionCriterion.objects.values_list(
        "subscription_id", "field", "value"
    ):
        values.setdefault(pk, {}).setdefault(kind, []).append(value)
    loaded = []
    for pk, active, words, low, high, sme in Subscription.objects.values_list(
        "pk", "active", "keywords", "min_value", "max_value", "sme_only"
    ):
        rows = values.get(pk, {})
        loaded.append(
            (
                pk,
                active,
                Criteria(
                    catalog=tuple(rows.get(Criterion.CATALOG, ())),
                    regions=tuple(rows.get(Criterion.REGION, ())),
                    entities=tuple(rows.get(Criterion.ENTITY, ())),
                    procedure_types=tuple(rows.get(Criterion.PROCEDURE_TYPE, ())),
                    object_types=tuple(rows.get(Criterion.OBJECT_TYPE, ())),
                    keywords=words,
                    min_value=low,
                    max_value=high,
                    sme_only=sme,
                ),
            )
        )
    return loaded


def naive_match(process, subscriptions) -> set[int]:
    """The subscriptions `process` matches, one by one in plain Python: the criteria of
    procurement.subscriptions.matching read literally (a code lies under a catalog prefix, a
    district under a region prefix; keywords folded by core.folding, the process's text once)."""
    from core.folding import matches_words, terms
    from procurement.subscriptions import keywords

    entity = process.entity
    items = list(process.items.values_list("catalog_item_id", "description"))
    codes = [code for code, _d in items]
    districts = [process.delivery_ubigeo_id, entity.ubigeo_id]
    text = keywords.process_text(
        process.description, [d for _c, d in items], entity.name, entity.acronym
    )
    words = set(terms(text))  # folded once (core.folding)
    value = process.estimated_value
    found = set()
    for pk, active, criteria in subscriptions:
        if not active:
            continue
        if criteria.catalog and not any(
            code.startswith(prefix) for code in codes for prefix in criteria.catalog
        ):
            continue
        if criteria.regions and not any(
            district.startswith(prefix) for district in districts for prefix in criteria.regions
        ):
            continue
        if criteria.entities and entity.ruc not in criteria.entities:
            continue
        if criteria.procedure_types and process.procedure_type not in criteria.procedure_types:
            continue
        if criteria.object_types and process.object_type not in criteria.object_types:
            continue
        if criteria.min_value is not None and value < criteria.min_value:
            continue
        if criteria.max_value is not None and value > criteria.max_value:
            continue
        if criteria.sme_only and not process.sme_only:
            continue
        if criteria.terms and not any(matches_words(term, words) for term in criteria.terms):
            continue
        found.add(pk)
    return found


def entity(name: str, acronym: str, ubigeo: str):
    """An entity under a RUC not taken yet (the factories' sequence restarts each run)."""
    from procurement.models import Entity
    from tests.factories import EntityFactory

    rng = random.Random(acronym)
    while Entity.objects.filter(ruc=(ruc := _random_rucs(rng, 1)[0])).exists():
        pass
    return EntityFactory(ruc=ruc, name=name, acronym=acronym, ubigeo_id=ubigeo)


def publish(description: str, items: list[dict], *, entity):
    """A process published by `entity` (tests.factories: plan, process, calendar, call)."""
    from django.utils import timezone

    from tests.factories import (
        last_working_day_until_today,
        process_from_plan,
        publish_with_lp_calendar,
        published_plan,
    )

    version, staff = published_plan(entity=entity, year=timezone.localdate().year, items=items)
    process = process_from_plan(staff, version, description=description)
    return publish_with_lp_calendar(staff, process, call=last_working_day_until_today())


def _processes():
    cusco = entity("Gobierno Regional del Cusco", "GORECUSCO", "080108")
    arequipa = entity("Municipalidad Provincial de Arequipa", "MPAREQUIPA", "040101")
    computers = publish(
        "Adquisición de computadoras portátiles para instituciones educativas",
        [
            {
                "description": "Computadoras portátiles",
                "catalog_item": "43211503",
                "estimated_value": 380000,
                "object_type": "goods",
            },
            {
                "description": "Servidores",
                "catalog_item": "43211501",
                "estimated_value": 70000,
                "object_type": "goods",
            },
        ],
        entity=cusco,
    )
    paper = publish(
        "Adquisición de papel bond y útiles de escritorio",
        [
            {
                "description": "Papel bond A4",
                "catalog_item": "14111507",
                "estimated_value": 450000,
                "object_type": "goods",
            }
        ],
        entity=arequipa,
    )
    return [computers, paper], [cusco.ruc, arequipa.ruc]


def _random_rucs(rng, count):
    from core.ruc import with_check_digit

    return [with_check_digit(f"20{rng.randrange(10**8):08d}") for _ in range(count)]


def match_figures(subscriptions: int, *, repeat: int = 5):
    """Figures of part 1; raises AssertionError when the two ways disagree."""
    from procurement.subscriptions.matching import subscriptions_for_process

    figures = []
    processes, rucs = _processes()
    started = time.perf_counter()
    make_subscriptions(subscriptions, rucs=rucs + _random_rucs(random.Random(1), 40))
    figures.append((f"create {subscriptions} subscriptions (bulk_create, s)", _s(started)))
    figures.append(("load average (1, 5, 15 min)", _load()))
    started = time.perf_counter()
    loaded = load_subscriptions()
    figures.append(("load them all into memory for the naive way (s)", _s(started)))
    for process in processes:

        def database(process=process):
            # What the dispatch handler (notices.notify_subscribers) reads.
            matched = subscriptions_for_process(process).order_by("pk")
            return {
                pk for pk, _owner, _delivery in matched.values_list("pk", "owner_id", "delivery")
            }

        started = time.perf_counter()
        found = database()
        cold = time.perf_counter() - started
        db_times = _times(database, repeat)
        naive_times = _times(lambda process=process: naive_match(process, loaded), repeat)
        naive = naive_match(process, loaded)
        assert found == naive, (
            f"{process.identifier}: the database matched {len(found)}, the naive way "
            f"{len(naive)}; only one: {sorted(found ^ naive)[:20]}"
        )
        db, slow = statistics.median(db_times), statistics.median(naive_times)
        name = process.description[:30]
        figures += [
            (f"{name}: matched (same set both ways)", f"{len(found)} of {subscriptions}"),
            ("  database match, first (s)", f"{cold:.4f}"),
            (f"  database match, median of {repeat} (s)", f"{db:.4f}"),
            (f"  naive Python, in memory, median of {repeat} (s)", f"{slow:.4f}"),
            ("  naive / database", f"{slow / db:.1f}x"),
        ]
    return figures


def _times(func, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return times


def _load() -> str:
    return " ".join(f"{load:.1f}" for load in os.getloadavg())


def _s(started) -> str:
    return f"{time.perf_counter() - started:.2f}"


# --- 2. sending --------------------------------------------------------------------------------

MESSAGE_ID = re.compile(rb"^Message-ID: <notice-(\d+)@", re.MULTILINE)


def make_subscribers(count: int) -> None:
    """`count` users each subscribed at once to catalog segment 43 (so each matches the
    process of every send round); every earlier subscription is made inactive, and every
    earlier event taken as dispatched (the notices sent are those of the rounds' processes)."""
    from django.utils import timezone

    from notifications.models import Event, Subscription
    from procurement.subscriptions.matching import Criteria

    Subscription.objects.update(active=False)
    Event.objects.filter(dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    owners = _owners(count, "m")
    _save(
        [(owner, Criteria(catalog=("43",)), True, "immediate", owner.language) for owner in owners]
    )


def pool_args(concurrency: int) -> tuple[str, ...]:
    """A worker's pool: one task at a time (--pool solo) or `concurrency` prefork children,
    as `celery worker` runs by default (one child per core); sending waits on the database
    and the SMTP server most of the time, so children beyond the cores still add rate."""
    if concurrency <= 1:
        return ("--pool", "solo")
    return ("--pool", "prefork", "--concurrency", str(concurrency))


def send_round(
    emails: int, workers: int, *, broker: str, log_dir: Path, concurrency: int = 1
) -> list:
    """Publish a process that `emails` subscribers match, dispatch it (notices made, send
    tasks queued), then start `workers` worker processes and time the e-mails."""
    from notifications.dispatch import dispatch_pending
    from notifications.models import Notice, NoticeStatus
    from tests import real_parts

    process = publish(
        f"Adquisición de computadoras, ronda de {workers} worker(s)",
        [{"description": "Computadoras", "catalog_item": "43211507", "estimated_value": 450000}],
        entity=entity("Municipalidad Distrital de Miraflores", f"MDM{workers}", "150122"),
    )
    queue = real_parts.new_queue("bench")
    figures = []
    with real_parts.smtp_running() as (inbox, port), real_parts.tasks_sent_to(broker, queue):
        started = time.perf_counter()
        dispatch_pending()
        figures.append((f"dispatch: {emails} notices made and queued (s)", _s(started)))
        notices = set(Notice.objects.filter(event__process=process).values_list("pk", flat=True))
        assert len(notices) == emails, f"{len(notices)} notices made, not {emails}"
        logs = [log_dir / f"worker-{workers}-{n}.log" for n in range(workers)]
        started = time.monotonic()
        processes = [
            real_parts.start_worker(
                broker=broker, queue=queue, smtp_port=port, log=log, args=pool_args(concurrency)
            )
            for log in logs
        ]
        cpu_at_first = None
        try:
            deadline = started + 300 + emails / 5  # 5 e-mails a second at the least
            while len(inbox.messages) < emails and time.monotonic() < deadline:
                if any(worker.poll() is not None for worker in processes):
                    raise RuntimeError("a worker stopped: see " + str(log_dir))
                if cpu_at_first is None and inbox.messages:
                    cpu_at_first = _cpu_now(processes)
                time.sleep(0.05)
            cpu_at_last = _cpu_now(processes)
            sent = Notice.objects.filter(pk__in=notices, status=NoticeStatus.SENT)
            while sent.count() < emails and time.monotonic() < deadline:
                time.sleep(0.1)  # the last notices are marked sent when their task commits
        finally:
            for worker in processes:
                real_parts.stop_worker(worker)
        received = list(inbox.received_at)
        ids = [
            int(m.group(1)) for _r, content in inbox.messages for m in [MESSAGE_ID.search(content)]
        ]
        assert len(inbox.messages) == emails, f"{len(inbox.messages)} e-mails, not {emails}"
        assert set(ids) == notices and len(ids) == emails, "an e-mail missing or sent twice"
        assert sent.count() == emails, f"{sent.count()} notices marked sent, not {emails}"
    span = received[-1] - received[0]
    label = "1 worker process" if workers == 1 else f"{workers} worker processes"
    pool = "--pool solo" if concurrency <= 1 else f"prefork x{concurrency}"
    figures += [
        (f"{label} ({pool}): first e-mail after start (s)", f"{received[0] - started:.2f}"),
        (f"  {emails} e-mails, first to last (s)", f"{span:.2f}"),
        ("  e-mails per second", f"{(emails - 1) / span:.0f}" if span else "-"),
    ]
    if cpu_at_first is not None:
        for part, first, last in zip(CPU_PARTS, cpu_at_first, cpu_at_last, strict=True):
            per_email = (last - first) / max(len(received) - 1, 1) * 1000
            figures.append((f"  CPU per e-mail (ms): {part}", f"{per_email:.1f}"))
    return figures


CPU_PARTS = ("worker processes", "PostgreSQL backends", "SMTP server (this process)")


def _cpu_now(workers) -> tuple[float, float, float]:
    """CPU seconds so far of the worker processes, of the PostgreSQL backends serving this
    database (Linux /proc; the server runs on this machine), and of this process (its SMTP
    server thread; the polling is small)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        backends = [pid for (pid,) in cursor.fetchall()]
    return (
        sum(_group_cpu(worker.pid) for worker in workers),
        sum(_process_cpu(pid) for pid in backends),
        time.process_time(),
    )


def _group_cpu(group: int) -> float:
    """CPU seconds of the processes of a process group (a worker and its pool children:
    real_parts.start_worker makes each worker lead its own group)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_figures(
    emails: int,
    *,
    log_dir: Path,
    workers=(1, 2),
    broker: str | None = None,
    concurrency: int = 1,
):
    """Figures of part 2 (the workers' output in `log_dir`); raises AssertionError when an
    e-mail is missing, sent twice or its notice not marked sent."""
    broker = broker or os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    make_subscribers(emails)
    figures = [(f"create {emails} subscribers (bulk_create, s)", _s(started))]
    for count in workers:
        figures += send_round(
            emails, count, broker=broker, log_dir=log_dir, concurrency=concurrency
        )
    figures.append(("load average (1, 5, 15 min) at the end", _load()))
    return figures


def run() -> list:
    """Both parts at the sizes of the environment: [(label, figure)]."""
    subscriptions = int(os.environ.get("BENCH_NOTICE_SUBSCRIPTIONS", "100000"))
    emails = int(os.environ.get("BENCH_NOTICE_EMAILS", "10000"))
    concurrency = int(os.environ.get("BENCH_NOTICE_CONCURRENCY", "1"))
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    log_dir = Path(os.environ["VAR_DIR"]) / "bench-workers"
    return match_figures(subscriptions) + send_figures(
        emails, log_dir=log_dir, concurrency=concurrency
    )
