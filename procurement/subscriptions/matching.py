"""Which subscriptions a newly published process matches, and which processes a subscription
would have caught: the two directions of one rule, side by side. A process matches when every
criterion the subscription sets holds: one of its catalog codes lies under one of the
subscription's codes (a family matches its commodities), its delivery district or its
entity's district lies in one of the regions (department, province or district), its entity,
procedure type and object are among those chosen, its estimated value is within the range
(ends included), it is reserved for SMEs when the subscription asks for that, and one of the
keywords matches its text (procurement.subscriptions.keywords: core.folding's stemmed
folding). A criterion left empty does not restrict."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    OuterRef,
    Q,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from notifications.models import CRITERION_BITS, Criterion, Subscription, SubscriptionCriterion

from ..models import ProcessItem, ProcurementProcess
from . import keywords

PREVIEW_DAYS = 30
PREVIEW_LIMIT = 50


def prefixes(code: str) -> list[str]:
    """Every two-digit level of a code: '43211503' -> ['43', '4321', '432115', '43211503']
    (a catalog code or a UBIGEO)."""
    return [code[:end] for end in range(2, len(code) + 1, 2)]


@dataclass(frozen=True)
class Criteria:
    """What a subscription asks for, saved or not yet (the preview)."""

    catalog: tuple[str, ...] = ()  # code prefixes, e.g. '4321' for the family 43210000
    regions: tuple[str, ...] = ()  # UBIGEO prefixes: '08', '0801', '080108'
    entities: tuple[str, ...] = ()  # RUCs
    procedure_types: tuple[str, ...] = ()
    object_types: tuple[str, ...] = ()
    keywords: str = ""  # as typed: phrases separated by commas
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    sme_only: bool = False
    terms: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "terms", tuple(keywords.parse(self.keywords)))

    def rows(self) -> list[tuple[str, str]]:
        """The criterion rows a subscription stores for these criteria."""
        lists = {
            Criterion.CATALOG: self.catalog,
            Criterion.REGION: self.regions,
            Criterion.ENTITY: self.entities,
            Criterion.PROCEDURE_TYPE: self.procedure_types,
            Criterion.OBJECT_TYPE: self.object_types,
            Criterion.KEYWORD: self.terms,
        }
        return [(kind, value) for kind, values in lists.items() for value in dict.fromkeys(values)]

    @classmethod
    def of(cls, subscription: Subscription) -> "Criteria":
        return cls(
            catalog=tuple(subscription.values_of(Criterion.CATALOG)),
            regions=tuple(subscription.values_of(Criterion.REGION)),
            entities=tuple(subscription.values_of(Criterion.ENTITY)),
            procedure_types=tuple(subscription.values_of(Criterion.PROCEDURE_TYPE)),
            object_types=tuple(subscription.values_of(Criterion.OBJECT_TYPE)),
            keywords=subscription.keywords,
            min_value=subscription.min_value,
            max_value=subscription.max_value,
            sme_only=subscription.sme_only,
        )


def subscriptions_for_process(process: ProcurementProcess):
    """The active subscriptions `process` matches. One query over subscriptions for every
    criterion but the keywords, which brings the keyword rows of those found, matched in
    Python with core.folding (the same folding as the stored search column the preview
    reads); returned as a queryset of the subscriptions caught.

    Each subscription is tested only on the kinds of criteria it sets, which it stores
    (Subscription.criteria_kinds, written by save_subscription): one pass over the
    criterion index gathers, for every subscription holding a row among the process's
    values, the kinds of those rows (bit_or of their CRITERION_BITS); it matches when they
    are all the kinds it sets. A subscription that records no kind (it sets no criterion,
    or its rows were written without save_subscription) is held to the kinds of the rows it
    holds instead, so rows written another way never make it catch every process. Its
    keyword rows come with it, matched in Python (bench/notices.py: 100,000
    subscriptions; the keyword test is the folding of core.folding, which SQL lacks)."""
    process = ProcurementProcess.objects.select_related("entity").get(pk=process.pk)
    items = list(process.items.values_list("catalog_item_id", "description"))
    offered = {
        Criterion.CATALOG: {p for code, _d in items for p in prefixes(code)},
        Criterion.REGION: {
            *prefixes(process.delivery_ubigeo_id),
            *prefixes(process.entity.ubigeo_id),
        },
        Criterion.ENTITY: {process.entity.ruc},
        Criterion.PROCEDURE_TYPE: {process.procedure_type},
        Criterion.OBJECT_TYPE: {process.object_type},
    }
    sub = connection.ops.quote_name(Subscription._meta.db_table)
    rows = connection.ops.quote_name(SubscriptionCriterion._meta.db_table)
    bit = "CASE field {} END".format(
        " ".join(f"WHEN '{kind}' THEN {CRITERION_BITS[kind]}" for kind in offered)
    )
    held = " OR ".join(
        "(field = %s AND value IN ({}))".format(", ".join(["%s"] * len(values)))
        for values in offered.values()
        if values
    )
    params = [p for kind, values in offered.items() if values for p in (kind, *sorted(values))]
    kinds = sum(CRITERION_BITS[kind] for kind in offered)
    # The kinds a subscription's rows are of: bit_or hashes by subscription on PostgreSQL,
    # a sum of the distinct bits sorts each subscription's rows first.
    kinds_of = "bit_or" if connection.vendor == "postgresql" else "SUM(DISTINCT"
    closing = "" if connection.vendor == "postgresql" else ")"
    value = process.estimated_value
    sme = "" if process.sme_only else "AND NOT s.sme_only"
    # The kinds of criteria each subscription holds a row among the process's values of
    # (one pass over the criterion index, the bits summed once each) must include every kind
    # it sets; one that records none is held to the kinds of the rows it has instead. "No
    # required kind missing" (required & ~hit = 0) names the CASE once, so its fallback
    # subquery runs once a subscription, not twice as "(hit & required) = required" would.
    required = f"""CASE WHEN s.criteria_kinds = 0 THEN COALESCE((
                SELECT {kinds_of}({bit}){closing} FROM {rows} c
                WHERE c.subscription_id = s.id AND c.field <> %s), 0)
              ELSE s.criteria_kinds & {kinds} END"""  # noqa: S608 - names and bits are ours
    sql = f"""
        WITH hit AS (
            SELECT subscription_id, {kinds_of}({bit}){closing} AS kinds FROM {rows}
            WHERE {held} GROUP BY subscription_id
        )
        SELECT s.id, k.value FROM {sub} s LEFT JOIN hit ON hit.subscription_id = s.id
        LEFT JOIN {rows} k ON k.subscription_id = s.id AND k.field = %s
        WHERE s.active
          AND (s.min_value IS NULL OR s.min_value <= %s)
          AND (s.max_value IS NULL OR s.max_value >= %s) {sme}
          AND (({required}) & ~COALESCE(hit.kinds, 0)) = 0
    """  # noqa: S608 - names and bits are ours, values are parameters
    keyword = Criterion.KEYWORD
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, keyword, value, value, keyword])
        # The keyword rows of those found come with them (none: a row with no keyword).
        by_subscription: dict[int, list[str]] = {}
        for pk, word in cursor.fetchall():
            words = by_subscription.setdefault(pk, [])
            if word is not None:
                words.append(word)
    text = keywords.process_text(
        process.description, [d for _c, d in items], process.entity.name, process.entity.acronym
    )
    matches = keywords.matcher(text)
    caught = [pk for pk, words in by_subscription.items() if matches(words)]
    if connection.vendor == "postgresql":  # one array parameter, not thousands
        return Subscription.objects.alias(
            caught=RawSQL(f"{sub}.id = ANY(%s)", (caught,), output_field=BooleanField())  # noqa: S611
        ).filter(caught=True)
    return Subscription.objects.filter(pk__in=caught)


def processes_for_criteria(criteria: Criteria, *, since=None):
    """The published processes `criteria` match, published since `since`, newest first."""
    found = ProcurementProcess.objects.published()
    if since is not None:
        found = found.filter(published_at__gte=since)
    if criteria.catalog:
        under = Q()
        for prefix in criteria.catalog:
            under |= Q(catalog_item__code__startswith=prefix)
        found = found.filter(Exists(ProcessItem.objects.filter(under, process=OuterRef("pk"))))
    if criteria.regions:
        within = Q()
        for prefix in criteria.regions:
            within |= Q(delivery_ubigeo__code__startswith=prefix)
            within |= Q(entity__ubigeo__code__startswith=prefix)
        found = found.filter(within)
    if criteria.entities:
        found = found.filter(entity__ruc__in=criteria.entities)
    if criteria.procedure_types:
        found = found.filter(procedure_type__in=criteria.procedure_types)
    if criteria.object_types:
        found = found.filter(object_type__in=criteria.object_types)
    if criteria.min_value is not None:
        found = found.filter(estimated_value__gte=criteria.min_value)
    if criteria.max_value is not None:
        found = found.filter(estimated_value__lte=criteria.max_value)
    if criteria.sme_only:
        found = found.filter(sme_only=True)
    if criteria.terms:
        found = found.filter(keywords.process_condition(criteria.terms))
    return found.select_related("entity").order_by("-published_at", "-id")


def preview(criteria: Criteria):
    """What a subscription with `criteria` would have caught in the last PREVIEW_DAYS days."""
    since = timezone.now() - timedelta(days=PREVIEW_DAYS)
    return processes_for_criteria(criteria, since=since)


def subscriptions_following_entity(entity):
    """The active subscriptions that name `entity` among their entities: their owners follow
    the entity, so they hear of its annual plan when it is published or modified (the plan
    is the entity's, not a process: the other criteria do not apply to it)."""
    return Subscription.objects.filter(
        active=True,
        criteria__field=Criterion.ENTITY,
        criteria__value=entity.ruc,
    ).distinct()
