"""Spanish full-text search of selection processes.

A process is found by the words of its description, its items and its entity's name and
acronym, folded the same way on both sides of the search (core.folding, the one home of
accent and plural folding, whose PostgreSQL twin is the text search configuration
`portal_es`): "computadoras" finds "computadora", "adquisicion" finds "Adquisición".

- PostgreSQL keeps a stored `tsvector` (ProcurementProcess.search_vector, GIN index) built
  with the text search configuration `portal_es` (Spanish Snowball stemmer after `unaccent`,
  created by migration 0016) and answers with `plainto_tsquery`: every word must match.
- Other databases (SQLite, the embedded default) keep the same folding done in Python
  (ProcurementProcess.search_text, " word word ... ") and match each folded word with LIKE:
  slower, same results.

Both columns are written by `refresh`, which every writer of a process's description, items
or entity name calls (process creation, the entity admin, the OCDS import, the demo seed), and
so is the third, ProcurementProcess.catalog_codes: the catalog codes of its items, which the
catalog prefix filter reads (`catalog_condition`) instead of joining the items. Subscriptions
match keywords with core.folding.matches, the same folding.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from core.folding import CONFIG, folded, terms

TSVECTOR, FOLDED = "tsvector", "folded"


def default_engine() -> str:
    return TSVECTOR if connection.vendor == "postgresql" else FOLDED


def filter_text(queryset: QuerySet, text: str, *, engine: str | None = None) -> QuerySet:
    """Processes whose description, items or entity name contain every word of `text`
    (folded); none when `text` has no searchable word."""
    words = terms(text)
    if not words:
        return queryset.none()
    return queryset.filter(text_condition(text, words, engine=engine or default_engine()))


# Relevance ranks the newest matches only, so that a query with 300,000 hits costs what one
# with 300 does: the window is read from the date index, then ranked. 2,000 (80 pages of 25):
# a window of 10,000 cost a broad query ("adquisicion", a third of all processes) 190 ms of
# SQL at 100,000 processes, 2,000 costs 80 (bench/search.py), the window's rows looked up by
# id instead of all the matches scanned.
RELEVANCE_WINDOW = 2_000


def ranked(queryset: QuerySet, text: str, *, engine: str | None = None) -> QuerySet:
    """`queryset` (already narrowed to the matches of `text`) in order of relevance: among its
    RELEVANCE_WINDOW newest processes, by ts_rank of the stored vector (description weighs
    more than items, items more than the entity's name), then newest first. Without
    PostgreSQL's ranking (the embedded SQLite), newest first."""
    window = queryset.order_by("-published_at", "-pk").values("pk")[:RELEVANCE_WINDOW]
    rows = queryset.filter(pk__in=window)
    if (engine or default_engine()) != TSVECTOR:
        return rows.order_by("-published_at", "-pk")
    from django.contrib.postgres.search import SearchQuery, SearchRank

    query = SearchQuery(text, config=CONFIG, search_type="plain")
    # The stored vector itself (F): a field's name would make Django rank
    # to_tsvector(search_vector::text) instead, re-parsing each vector from its text (5x the
    # time at 10,000 matches) and losing its weights.
    return rows.annotate(rank=SearchRank(F("search_vector"), query)).order_by(
        "-rank", "-published_at", "-pk"
    )


def text_condition(text: str, words: list[str] | None = None, *, engine: str) -> Q:
    if engine == TSVECTOR:
        from django.contrib.postgres.search import SearchQuery

        return Q(search_vector=SearchQuery(text, config=CONFIG, search_type="plain"))
    condition = Q()
    for word in words if words is not None else terms(text):
        condition &= Q(search_text__contains=f" {word} ")
    return condition


# --- The catalog codes of a process's items ----------------------------------------------------
# On PostgreSQL the column is indexed as a tsvector of its codes (migration 0035), whose GIN
# index matches a prefix ('5110:*'); the filter writes the index's expression exactly.
CODES_VECTOR_SQL = "to_tsvector('simple'::regconfig, {column})"


class _CodesUnder(Func):
    """PostgreSQL: the row's catalog codes (the column) have one starting with the prefix
    (a tsquery 'prefix:*', bound)."""

    template = "(" + CODES_VECTOR_SQL.format(column="%(expressions)s") + ")"
    arg_joiner = ") @@ to_tsquery('simple'::regconfig, "
    output_field = BooleanField()


def catalog_codes(codes: Iterable[str]) -> str:
    """The stored column of a process's items' catalog codes: " code code ... ", distinct and
    sorted ("" without items), so that " " + a prefix finds a code that starts with it."""
    distinct = sorted(set(codes))
    return f" {' '.join(distinct)} " if distinct else ""


def catalog_condition(prefix: str, *, engine: str | None = None) -> Q:
    """Processes with an item whose catalog code starts with `prefix` (digits, as
    core.catalog.code_prefix writes them): a family (4321) finds its commodities (43211503)."""
    if (engine or default_engine()) == TSVECTOR:
        return Q(_CodesUnder(F("catalog_codes"), Value(f"{prefix}:*")))
    return Q(catalog_codes__contains=f" {prefix}")


# --- Keeping the stored columns current -------------------------------------------------------


def vector_sql(description: str, items: str, entity_name: str, acronym: str) -> str:
    """The SQL expression of a process's stored vector (PostgreSQL), from the SQL expressions
    of its description, its items' descriptions joined by spaces in id order (NULL without
    items) and its entity's name and acronym: the description weighs most, then the items,
    then the entity. `refresh` and the demo seed's bulk load (procurement.demo.processes)
    both write it."""
    return (
        f"setweight(to_tsvector('{CONFIG}', {description}), 'A') "
        f"|| setweight(to_tsvector('{CONFIG}', coalesce({items}, '')), 'B') "
        f"|| setweight(to_tsvector('{CONFIG}', {entity_name} || ' ' || {acronym}), 'C')"
    )


# The items' descriptions of a process, as vector_sql wants them (alias i for the item table).
ITEMS_TEXT_SQL = "string_agg(i.description, ' ' ORDER BY i.id)"

_PG_ITEMS_TEXT = (
    f"(SELECT {ITEMS_TEXT_SQL} FROM procurement_processitem AS i WHERE i.process_id = p.id)"  # noqa: S608 - constant SQL
)
# The items' catalog codes of a process as catalog_codes writes them (alias i for the items).
CATALOG_CODES_SQL = (
    "coalesce(' ' || string_agg(DISTINCT i.catalog_item_id, ' '"
    " ORDER BY i.catalog_item_id) || ' ', '')"
)
_PG_REFRESH = (
    "UPDATE procurement_procurementprocess AS p SET search_vector = "  # noqa: S608 - constant SQL
    + vector_sql("p.description", _PG_ITEMS_TEXT, "e.name", "e.acronym")
    + f", catalog_codes = (SELECT {CATALOG_CODES_SQL} FROM procurement_processitem AS i"  # noqa: S608 - constant SQL
    " WHERE i.process_id = p.id)"
    " FROM procurement_entity AS e WHERE e.id = p.entity_id AND p.id IN ({ids})"
)


def document(description: str, items: Iterable[str], entity_name: str, acronym: str) -> str:
    """The searchable text of a process."""
    return " ".join([description, *items, entity_name, acronym])


def refresh(processes: QuerySet | Iterable[int], *, engine: str | None = None) -> None:
    """Rewrite the stored search columns of the given processes (a queryset or ids) from their
    description, items and entity: the words and the items' catalog codes. Call it after
    writing any of those."""
    from .models import ProcessItem, ProcurementProcess

    if isinstance(processes, QuerySet):
        ids_query = processes.order_by().values("pk")
    else:
        ids_query = ProcurementProcess.objects.filter(pk__in=list(processes)).values("pk")
    if (engine or default_engine()) == TSVECTOR:
        sql, params = ids_query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(_PG_REFRESH.format(ids=sql), params)
        return
    ids = list(ids_query.values_list("pk", flat=True))
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        items: dict[int, list[str]] = {}
        codes: dict[int, list[str]] = {}
        for process_id, text, code in (
            ProcessItem.objects.filter(process_id__in=chunk)
            .order_by("id")
            .values_list("process_id", "description", "catalog_item_id")
        ):
            items.setdefault(process_id, []).append(text)
            codes.setdefault(process_id, []).append(code)
        rows = ProcurementProcess.objects.filter(pk__in=chunk).values_list(
            "pk", "description", "entity__name", "entity__acronym"
        )
        for pk, description, name, acronym in rows:
            text = document(description, items.get(pk, []), name, acronym)
            ProcurementProcess.objects.filter(pk=pk).update(
                search_text=folded(text), catalog_codes=catalog_codes(codes.get(pk, []))
            )
