"""Matching a published process against subscriptions (issue 13): each criterion alone and
combined, in both directions of the rule (the subscriptions a process matches, one query;
the processes a subscription would have caught, the preview), which must always agree."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import (
    CRITERION_BITS,
    Criterion,
    Subscription,
    SubscriptionCriterion,
    criteria_kinds,
)
from procurement import search
from procurement.models import ProcurementProcess
from procurement.subscriptions import keywords
from procurement.subscriptions.matching import (
    Criteria,
    preview,
    processes_for_criteria,
    subscriptions_for_process,
)
from procurement.subscriptions.services import save_subscription
from tests.factories import (
    EntityFactory,
    UserFactory,
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
)

pytestmark = pytest.mark.django_db

VALUE = Decimal("450000.00")


@pytest.fixture
def process():
    """Called today: LP, goods, one item 43211503 'Servidores' worth S/ 450,000, an entity
    in Lima (150101) delivering in Lima, not reserved for SMEs."""
    version, staff = published_plan(
        entity=EntityFactory(ruc="20131370645"),
        year=timezone.localdate().year,
        items=[{"description": "Servidores", "catalog_item": "43211503", "estimated_value": VALUE}],
    )
    process = process_from_plan(staff, version, description="Adquisición de servidores")
    return publish_with_lp_calendar(staff, process, call=last_working_day_until_today())


def _subscribe(user=None, **criteria):
    return save_subscription(
        actor=user or UserFactory(),
        criteria=Criteria(**criteria),
        name="Prueba",
        delivery="immediate",
        language="es",
    )


def _matches_both_ways(process, criteria: dict) -> bool:
    subscription = _subscribe(**criteria)
    by_process = subscriptions_for_process(process).filter(pk=subscription.pk).exists()
    by_subscription = processes_for_criteria(Criteria(**criteria)).filter(pk=process.pk).exists()
    assert by_process == by_subscription, f"the two directions disagree on {criteria}"
    return by_process


CASES = [
    ("nothing set", {}, {}, True),
    ("the segment", {"catalog": ("43",)}, {}, True),
    ("the family", {"catalog": ("4321",)}, {}, True),
    ("the class", {"catalog": ("432115",)}, {}, True),
    ("the commodity", {"catalog": ("43211503",)}, {}, True),
    ("a sibling commodity", {"catalog": ("43211501",)}, {}, False),
    ("a sibling class", {"catalog": ("432116",)}, {}, False),
    ("another segment", {"catalog": ("44",)}, {}, False),
    ("one of two codes", {"catalog": ("44", "4321")}, {}, True),
    ("the department", {"regions": ("15",)}, {}, True),
    ("the province", {"regions": ("1501",)}, {}, True),
    ("the district", {"regions": ("150101",)}, {}, True),
    ("another department", {"regions": ("08",)}, {}, False),
    ("the delivery place", {"regions": ("0801",)}, {"delivery_ubigeo_id": "080108"}, True),
    ("the entity", {"entities": ("20131370645",)}, {}, True),
    ("another entity", {"entities": ("20100000001",)}, {}, False),
    ("the procedure type", {"procedure_types": ("LP", "AS")}, {}, True),
    ("another procedure type", {"procedure_types": ("AS",)}, {}, False),
    ("the object", {"object_types": ("goods",)}, {}, True),
    ("another object", {"object_types": ("works", "services")}, {}, False),
    ("minimum at the value", {"min_value": VALUE}, {}, True),
    ("minimum a cent above", {"min_value": VALUE + Decimal("0.01")}, {}, False),
    ("maximum at the value", {"max_value": VALUE}, {}, True),
    ("maximum a cent below", {"max_value": VALUE - Decimal("0.01")}, {}, False),
    ("range around", {"min_value": Decimal("1"), "max_value": Decimal("1000000")}, {}, True),
    ("SME-only, process open to all", {"sme_only": True}, {}, False),
    ("SME-only, process reserved", {"sme_only": True}, {"sme_only": True}, True),
    ("any size, process reserved", {}, {"sme_only": True}, True),
    ("keyword, accents and capitals", {"keywords": "SERVIDÓRES"}, {}, True),
    ("keyword in the description", {"keywords": "adquisicion"}, {}, True),
    ("keyword only in an item", {"keywords": "servidores"}, {"description": "Equipos"}, True),
    ("keyword absent", {"keywords": "impresoras"}, {}, False),
    ("one of two keywords", {"keywords": "impresoras, servidores"}, {}, True),
    ("keyword with a LIKE wildcard", {"keywords": "serv%res"}, {}, False),
    (
        "plural keyword, singular text",
        {"keywords": "computadoras"},
        {"description": "Computadora"},
        True,
    ),
    (
        "singular keyword, plural text",
        {"keywords": "computadora"},
        {"description": "Computadoras"},
        True,
    ),
    ("keyword's words all needed", {"keywords": "servidores blade"}, {}, False),
    ("a phrase's words in any place", {"keywords": "adquisición servidor"}, {}, True),
    # the entity's name is searched text, as in the process search
    ("keyword in the entity's name", {"keywords": "municipalidades distritales"}, {}, True),
    (
        "all combined",
        {
            "catalog": ("4321",),
            "regions": ("15",),
            "procedure_types": ("LP",),
            "object_types": ("goods",),
            "max_value": Decimal("500000"),
            "keywords": "servidor",
        },
        {},
        True,
    ),
    (
        "all combined but the region",
        {"catalog": ("4321",), "regions": ("08",), "keywords": "servidor"},
        {},
        False,
    ),
]


@pytest.mark.parametrize(
    ("criteria", "process_changes", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_criterion_alone_and_combined(process, criteria, process_changes, expected):
    if process_changes:
        ProcurementProcess.objects.filter(pk=process.pk).update(**process_changes)
        search.refresh([process.pk])  # what every writer of a description does
    assert _matches_both_ways(process, criteria) is expected


def test_a_stopped_subscription_matches_nothing(process):
    subscription = _subscribe(catalog=("4321",))
    subscription.active = False
    subscription.save()
    assert not subscriptions_for_process(process).filter(pk=subscription.pk).exists()


def test_a_changed_subscription_is_matched_on_the_criteria_it_sets_now(process):
    """The match reads which kinds of criteria a subscription sets from the subscription
    (criteria_kinds): saving new criteria must change them with the rows."""
    user = UserFactory()
    subscription = _subscribe(user, catalog=("44",))  # not the process's code
    assert subscription.criteria_kinds == CRITERION_BITS[Criterion.CATALOG]
    assert not subscriptions_for_process(process).filter(pk=subscription.pk).exists()
    for criteria, expected in [
        ({"regions": ("15",)}, True),  # the catalog no longer restricts it
        ({"regions": ("08",), "keywords": "servidores"}, False),
        ({"keywords": "servidores"}, True),
        ({"entities": ("20100000001",)}, False),
        ({}, True),  # no criterion: every process
    ]:
        subscription = save_subscription(
            actor=user,
            criteria=Criteria(**criteria),
            name="Prueba",
            delivery="immediate",
            language="es",
            subscription=subscription,
        )
        subscription.refresh_from_db()
        assert subscription.criteria_kinds == criteria_kinds(
            kind for kind, _v in Criteria(**criteria).rows()
        )
        found = subscriptions_for_process(process).filter(pk=subscription.pk).exists()
        assert found is expected, criteria


def test_criterion_rows_written_without_their_kinds_still_restrict_the_match(process):
    """Rows written another way than save_subscription leave criteria_kinds at 0, which the
    match would read as "no criterion": it reads such a subscription's rows instead, so the
    subscription is not sent every process, and still gets the processes its rows match."""
    other_code = _subscribe(catalog=("44",))
    its_code = _subscribe(catalog=("4321",), regions=("15",))
    Subscription.objects.filter(pk__in=[other_code.pk, its_code.pk]).update(criteria_kinds=0)
    no_criterion = _subscribe(min_value=Decimal("1"))
    assert no_criterion.criteria_kinds == 0

    found = set(subscriptions_for_process(process).values_list("pk", flat=True))
    assert other_code.pk not in found
    assert {its_code.pk, no_criterion.pk} <= found
    # One written by hand, not saved by the service, is caught the same way.
    by_hand = Subscription.objects.create(owner=UserFactory(), name="A mano")
    SubscriptionCriterion.objects.create(
        subscription=by_hand, field=Criterion.ENTITY, value="20100000001"
    )
    assert not subscriptions_for_process(process).filter(pk=by_hand.pk).exists()
    SubscriptionCriterion.objects.create(
        subscription=by_hand, field=Criterion.ENTITY, value=process.entity.ruc
    )
    assert subscriptions_for_process(process).filter(pk=by_hand.pk).exists()


def _queries_over_subscriptions(process, expected_matches):
    with CaptureQueriesContext(connection) as queries:
        matched = list(subscriptions_for_process(process))
    assert len(matched) == expected_matches
    return len([q for q in queries if "notifications_subscription" in q["sql"]])


def test_the_match_takes_the_same_queries_however_many_subscriptions(process):
    for _ in range(3):
        _subscribe(catalog=("4321",), keywords="servidores")
        _subscribe(catalog=("4321",), keywords="impresoras")
    _subscribe(catalog=("44",))
    few = _queries_over_subscriptions(process, 3)
    for _ in range(10):
        _subscribe(catalog=("4321",), keywords="impresora, servidor")
        _subscribe(keywords="toner")
    assert _queries_over_subscriptions(process, 13) == few <= 2


def test_the_match_computes_the_kinds_a_subscription_requires_once(process):
    """The kinds a subscription requires (its recorded kinds, or for one that records none
    a subquery over its rows) are written once in the match's SQL, so computed once a row;
    the result is that of the rule either way (the tests above)."""
    fallback = _subscribe(catalog=("4321",))
    Subscription.objects.filter(pk=fallback.pk).update(criteria_kinds=0)
    recorded = _subscribe(catalog=("4321",), regions=("15",))
    with CaptureQueriesContext(connection) as queries:
        found = set(subscriptions_for_process(process).values_list("pk", flat=True))
    assert found == {fallback.pk, recorded.pk}
    (match,) = [q["sql"] for q in queries if "criteria_kinds = 0" in q["sql"]]
    assert match.count("criteria_kinds = 0") == 1


def test_the_preview_covers_the_last_30_days(process):
    criteria = Criteria(catalog=("4321",))
    assert list(preview(criteria)) == [process]
    ProcurementProcess.objects.filter(pk=process.pk).update(
        published_at=timezone.now() - timedelta(days=31)
    )
    assert list(preview(criteria)) == []


def test_keywords_fold_with_core_folding():
    phrases = keywords.parse(" Papel  BOND; útiles de ESCRITORIO,,\n papeles bond ; de la")
    assert phrases == ["Papel BOND", "útiles de ESCRITORIO"]  # repeats and stop words dropped
    assert keywords.any_matches(phrases, "Adquisición de ÚTIL para escritorios")
    assert keywords.any_matches(phrases, "Papeles bond A4")
    assert not keywords.any_matches(phrases, "Papel periódico")  # every word of a phrase


def test_a_process_without_items_matches_only_subscriptions_without_a_catalog(process):
    """No catalog code to offer (the match's SQL must not test an empty list): a subscription
    that sets a catalog code is not caught, one that sets none still is."""
    process.items.all().delete()
    with_code = _subscribe(catalog=("4321",))
    without = _subscribe(regions=("15",))
    found = set(subscriptions_for_process(process).values_list("pk", flat=True))
    assert with_code.pk not in found and without.pk in found


def test_a_row_of_a_kind_the_subscription_does_not_record_never_loses_it_a_match(process):
    """The match asks that every kind a subscription records has a row among the process's
    values; a further row of another kind (written outside save_subscription) that also
    matches must not turn the match down."""
    subscription = _subscribe(catalog=("4321",), regions=("15",))
    recorded = subscription.criteria_kinds
    SubscriptionCriterion.objects.create(
        subscription=subscription, field=Criterion.ENTITY, value=process.entity.ruc
    )
    subscription.refresh_from_db()
    assert subscription.criteria_kinds == recorded  # the row is not among the recorded kinds
    assert subscriptions_for_process(process).filter(pk=subscription.pk).exists()
