"""Keyword matching for subscriptions: the one place that says when a subscription's keywords
match a process, in both directions (the subscriptions a new process matches, and the
processes a subscription would have caught). For now a keyword matches when its folded form
(accents, case and spacing ignored) occurs in the process's folded text; the search's Spanish
stemming (procurement.search) is meant to replace this module's insides, not its callers."""

import re

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.lookups import Contains

from core.text import plain

MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 100
_SEPARATORS = re.compile(r"[,;\n]+")


def fold(text: str) -> str:
    """'  Computadoras   PORTÁTILES ' -> 'computadoras portatiles'."""
    return plain(text)


def parse(raw: str) -> list[str]:
    """The folded terms of what a user typed: phrases separated by commas, semicolons or new
    lines; empty ones dropped, repeats once."""
    terms = (fold(part) for part in _SEPARATORS.split(raw or ""))
    return list(dict.fromkeys(term for term in terms if term))


def keyword_matches(text: str, terms: list[str]) -> bool:
    """Whether any of the folded `terms` occurs in `text` (no terms: everything matches)."""
    folded = fold(text)
    return not terms or any(term in folded for term in terms)


class Folded(models.Func):
    """The database's fold of a text column, the same as `fold` in Python: unaccent and lower
    on PostgreSQL (the unaccent extension, created by a migration), `portal_fold` (fold,
    registered on each connection by NotificationsConfig) on SQLite."""

    output_field = models.TextField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="btrim(regexp_replace(lower(unaccent(%(expressions)s)), '\\s+', ' ', 'g'))",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="portal_fold", **extra)


def register_sqlite_fold(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("portal_fold", 1, _fold_or_none, deterministic=True)


def _fold_or_none(text):
    return None if text is None else fold(text)


def subscription_condition(process_text: str) -> Q:
    """Subscriptions (a queryset of notifications.Subscription) whose keywords match a
    process of this text: those without keywords, and those with one that occurs in it."""
    from .models import Criterion, SubscriptionCriterion

    keywords = SubscriptionCriterion.objects.filter(
        subscription=OuterRef("pk"), field=Criterion.KEYWORD
    )
    return ~Exists(keywords) | Exists(
        keywords.filter(Contains(Value(fold(process_text)), F("value")))
    )


def filter_processes(queryset, terms: list[str], *, items_model):
    """The processes of `queryset` (procurement.ProcurementProcess) whose description, or
    one of whose items' descriptions, contains one of the folded `terms`."""
    if not terms:
        return queryset
    contains_a_term = Q()
    for term in terms:
        contains_a_term |= Q(folded_description__contains=term)
    items = items_model.objects.alias(folded_description=Folded("description")).filter(
        contains_a_term, process=OuterRef("pk")
    )
    return queryset.alias(folded_description=Folded("description")).filter(
        contains_a_term | Exists(items)
    )


def process_text(description: str, item_descriptions) -> str:
    """The text of a process that keywords are matched against."""
    return " | ".join([description, *item_descriptions])
