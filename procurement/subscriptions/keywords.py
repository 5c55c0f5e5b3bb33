"""Keyword matching for subscriptions: the one place that says when a subscription's keywords
match a process, in both directions (the subscriptions a new process matches, and the
processes a subscription would have caught). A keyword is a word or phrase; it matches a
process when every one of its words is among the process's words, both folded by
core.folding (accents, case, plural and other Spanish endings ignored: "computadoras" and
"computadora" match each other, "adquisicion" matches "Adquisición"), over the same text the
process search reads (procurement.search.document). The keywords of one subscription are
alternatives: any one of them matching is enough."""

import re

from django.db.models import Q

from core.folding import folded, matches_words, terms

from .. import search

MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 100
_SEPARATORS = re.compile(r"[,;\n]+")


def phrases(raw: str) -> list[str]:
    """The keywords of what a user typed: phrases separated by commas, semicolons or new
    lines, spacing collapsed; empty ones dropped, and a repeat (the same folded words) once.
    A phrase of nothing but function words ("de la") is kept here for the form to refuse."""
    found: dict[str, str] = {}
    for part in _SEPARATORS.split(raw or ""):
        phrase = " ".join(part.split())
        if phrase:
            found.setdefault(folded(phrase) if terms(phrase) else phrase.lower(), phrase)
    return list(found.values())


def parse(raw: str) -> list[str]:
    """The keywords that can match something (each has at least one searchable word)."""
    return [phrase for phrase in phrases(raw) if terms(phrase)]


def process_text(description: str, items, entity_name: str, acronym: str) -> str:
    """The text of a process that keywords are matched against: the search's document."""
    return search.document(description, items, entity_name, acronym)


def any_matches(keywords, text: str) -> bool:
    """Whether one of `keywords` matches `text` (no keywords: everything matches)."""
    return matcher(text)(keywords)


def matcher(text: str):
    """any_matches(·, text) for many lists of keywords against one text: the text is folded
    once, and each distinct keyword matched once (core.folding.matches_words)."""
    words = set(terms(text))
    matched: dict[str, bool] = {}

    def matches_one(keyword: str) -> bool:
        if keyword not in matched:
            matched[keyword] = matches_words(keyword, words)
        return matched[keyword]

    def any_of(keywords) -> bool:
        keywords = list(keywords)
        return not keywords or any(matches_one(keyword) for keyword in keywords)

    return any_of


def process_condition(keywords) -> Q:
    """The processes (procurement.ProcurementProcess) one of `keywords` matches, through the
    stored search column (procurement.search: the tsvector on PostgreSQL); no keywords: all."""
    condition = Q()
    engine = search.default_engine()
    for keyword in keywords:
        condition |= search.text_condition(keyword, terms(keyword), engine=engine)
    return condition
