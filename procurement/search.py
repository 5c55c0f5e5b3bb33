"""Spanish full-text search of selection processes: the one home of accent and plural folding.

A process is found by the words of its description, its items and its entity's name and
acronym, folded the same way on both sides of the search: lower case, accents dropped
(Adquisición = adquisicion, Ñ = n), common function words ignored ("de", "la"...) and each
word reduced to its Snowball Spanish stem (computadoras = computadora, servicios = servicio).

- PostgreSQL keeps a stored `tsvector` (ProcurementProcess.search_vector, GIN index) built
  with the text search configuration `portal_es` (Spanish Snowball stemmer after `unaccent`,
  created by migration 0016) and answers with `plainto_tsquery`: every word must match.
- Other databases (SQLite, the embedded default) keep the same folding done here in Python
  (ProcurementProcess.search_text, " word word ... ") and match each folded word with LIKE:
  slower, same results.

Both columns are written by `refresh`, which every writer of a process's description, items
or entity name calls (process creation, the entity admin, the demo seed). Subscriptions match
keywords with `matches`, the same folding.
"""

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer
from django.db import connection
from django.db.models import Q, QuerySet

CONFIG = "portal_es"  # PostgreSQL text search configuration (migration 0016)
TSVECTOR, FOLDED = "tsvector", "folded"

# The commonest words of PostgreSQL's Spanish stop list: ignored on both sides, so "servicio
# de limpieza" finds "servicios limpieza" as PostgreSQL's `spanish` configuration does.
STOPWORDS = frozenset(
    [
        "a",
        "al",
        "con",
        "de",
        "del",
        "e",
        "el",
        "en",
        "la",
        "las",
        "lo",
        "los",
        "o",
        "para",
        "por",
        "se",
        "su",
        "sus",
        "un",
        "una",
        "unas",
        "uno",
        "unos",
        "y",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")
_stemmer = snowballstemmer.stemmer("spanish")
_stemmer_lock = threading.Lock()  # a Snowball stemmer keeps state while it works


def unaccented(text: str) -> str:
    """Lower case without diacritics, as PostgreSQL's `unaccent`: "Adquisición" ->
    "adquisicion", "Ñuñoa" -> "nunoa"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    with _stemmer_lock:
        return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    """The folded words of a text, in order: unaccented, stop words dropped, stemmed."""
    return [_stem(word) for word in _WORD.findall(unaccented(text)) if word not in STOPWORDS]


def folded(text: str) -> str:
    """The stored form of the folded words: space-separated with a space at each end, so a
    word is matched whole with LIKE '% word %'."""
    return f" {' '.join(terms(text))} "


def matches(query: str, text: str) -> bool:
    """Whether every word of `query` is in `text`, folded (what a search for `query` finds)."""
    wanted = set(terms(query))
    return bool(wanted) and wanted <= set(terms(text))


def default_engine() -> str:
    return TSVECTOR if connection.vendor == "postgresql" else FOLDED


def filter_text(queryset: QuerySet, text: str, *, engine: str | None = None) -> QuerySet:
    """Processes whose description, items or entity name contain every word of `text`
    (folded); none when `text` has no searchable word."""
    words = terms(text)
    if not words:
        return queryset.none()
    return queryset.filter(text_condition(text, words, engine=engine or default_engine()))


def text_condition(text: str, words: list[str] | None = None, *, engine: str) -> Q:
    if engine == TSVECTOR:
        from django.contrib.postgres.search import SearchQuery

        return Q(search_vector=SearchQuery(text, config=CONFIG, search_type="plain"))
    condition = Q()
    for word in words if words is not None else terms(text):
        condition &= Q(search_text__contains=f" {word} ")
    return condition


# --- Keeping the stored columns current -------------------------------------------------------

_PG_REFRESH = """
UPDATE procurement_procurementprocess AS p SET search_vector =
    setweight(to_tsvector('{config}', p.description), 'A')
    || setweight(to_tsvector('{config}', coalesce((
        SELECT string_agg(i.description, ' ' ORDER BY i.id)
        FROM procurement_processitem AS i WHERE i.process_id = p.id), '')), 'B')
    || setweight(to_tsvector('{config}', e.name || ' ' || e.acronym), 'C')
FROM procurement_entity AS e
WHERE e.id = p.entity_id AND p.id IN ({ids})
"""


def document(description: str, items: Iterable[str], entity_name: str, acronym: str) -> str:
    """The searchable text of a process."""
    return " ".join([description, *items, entity_name, acronym])


def refresh(processes: QuerySet | Iterable[int], *, engine: str | None = None) -> None:
    """Rewrite the stored search column of the given processes (a queryset or ids) from their
    description, items and entity. Call it after writing any of those."""
    from .models import ProcessItem, ProcurementProcess

    if isinstance(processes, QuerySet):
        ids_query = processes.order_by().values("pk")
    else:
        ids_query = ProcurementProcess.objects.filter(pk__in=list(processes)).values("pk")
    if (engine or default_engine()) == TSVECTOR:
        sql, params = ids_query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(_PG_REFRESH.format(config=CONFIG, ids=sql), params)
        return
    ids = list(ids_query.values_list("pk", flat=True))
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        items: dict[int, list[str]] = {}
        for process_id, text in (
            ProcessItem.objects.filter(process_id__in=chunk)
            .order_by("id")
            .values_list("process_id", "description")
        ):
            items.setdefault(process_id, []).append(text)
        rows = ProcurementProcess.objects.filter(pk__in=chunk).values_list(
            "pk", "description", "entity__name", "entity__acronym"
        )
        for pk, description, name, acronym in rows:
            text = document(description, items.get(pk, []), name, acronym)
            ProcurementProcess.objects.filter(pk=pk).update(search_text=folded(text))
