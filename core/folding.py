"""Spanish folding of words for search: the one home of accent and plural folding, used by
the process search (procurement.search) and by keyword subscriptions
(procurement.subscriptions.keywords).

A word is folded to lower case, without diacritics (Adquisición = adquisicion, Ñ = n), and to
its Snowball Spanish stem (computadoras = computadora, servicios = servicio); common function
words ("de", "la"...) are ignored. PostgreSQL does the same with the text search
configuration `portal_es` (unaccent, then the Spanish Snowball stemmer; migration
procurement 0016), so a stored tsvector and this module agree.
"""

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

from .spanish_stopwords import STOPWORDS

CONFIG = "portal_es"  # PostgreSQL text search configuration (procurement migration 0016)

# STOPWORDS are ignored on both sides: "servicio de limpieza" finds "servicios limpieza".
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
    return matches_words(query, set(terms(text)))


def matches_words(query: str, words: set[str]) -> bool:
    """matches(query, text) given the folded words of the text, `set(terms(text))`: for
    matching many queries against one text, folded once."""
    wanted = set(terms(query))
    return bool(wanted) and wanted <= words
