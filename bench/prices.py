"""The price history of one busy commodity (/precios/<code>/) on a database already seeded:
`DATABASE_URL=.../portal_x python -m bench.prices` (BENCH_PRICES_LINES, default 20,000).

bench/scale.py's clone copies no bid lines, so its price pages have few points. This adds
awarded lines to the commodity with the most process items until it has BENCH_PRICES_LINES
of them: new items of that code (three units of measure in turn) in the processes awarded as
a whole, each with a line in the winning opened bid, at deterministic prices. The lines take
their award's date, so they spread over the seed's quarters. Then the page is measured as
bench.scale measures every page (p50/p95 in ms), and again with its kept figures emptied
before each request (what the first visitor after ten minutes waits). Never run it on a database you keep."""

import os
import random
from decimal import Decimal

import django

UNITS = ("NIU", "BX", "KGM")


def add_lines(target: int) -> tuple[str, int]:
    """(the commodity, how many lines were added) so that it has `target` awarded lines."""
    from django.db import connection, transaction

    from bench.scale import _busiest_commodity
    from procurement import prices
    from procurement.models import Award, OpenedBidLine, ProcessItem

    code = _busiest_commodity()
    missing = target - prices._winning_lines([code]).count()
    if missing <= 0:
        return code, 0
    awards = list(
        Award.objects.granted()
        .filter(item__isnull=True, opened_bid__isnull=False)
        .select_related("process")
        .order_by("id")
    )
    assert awards, "no process awarded as a whole: seed first"
    draw = random.Random(1)
    items, lines = [], []
    for n in range(missing):
        award = awards[n % len(awards)]
        unit = UNITS[n % len(UNITS)]
        price = Decimal(draw.randint(500, 5000) * (10 if unit == "BX" else 1)) / 100
        quantity = Decimal(draw.randint(1, 200))
        item = ProcessItem(
            process=award.process,
            entity_id=award.process.entity_id,
            catalog_item_id=code,
            description=f"bench price line {n}",
            quantity=quantity,
            unit=unit,
            estimated_value=price * quantity * 2,
        )
        items.append(item)
        lines.append(
            OpenedBidLine(
                opened_bid_id=award.opened_bid_id,
                item=item,
                description=item.description,
                quantity=quantity,
                unit_price=price,
                line_total=price * quantity,
            )
        )
    with transaction.atomic():
        ProcessItem.objects.bulk_create(items, batch_size=2000)
        OpenedBidLine.objects.bulk_create(lines, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return code, missing


def main() -> None:
    import tempfile

    from bench import production

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as scratch:
        production.apply(scratch)  # DEBUG off (BENCH_DEBUG=1: on), as every bench
        django.setup()
        print(production.prepare())
        from bench import scale
        from procurement import prices

        target = int(os.environ.get("BENCH_PRICES_LINES", "20000"))
        code, added = add_lines(target)
        total = prices._winning_lines([code]).count()
        print(f"commodity {code}: {total:,} awarded lines ({added:,} added)")
        scale.print_measures(scale.measure(only=["prices"]))
        print(uncounted(f"/precios/{code}/"))


def uncounted(url: str, requests: int = 10) -> str:
    """p50/p95 of the page when its figures are not kept (the first request after ten
    minutes, or after an award): the cache is emptied before each request."""
    import statistics
    import time

    from django.core.cache import cache

    from bench import production

    client, times = production.page_client(), []
    for _ in range(requests):
        cache.clear()
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
    return f"{'price history, figures not kept':<36} {requests:>12} {statistics.median(times):8.1f} {p95:8.1f}"


if __name__ == "__main__":
    main()
