"""Comparing what people type with reference names: accents, case and spacing ignored."""

import unicodedata


def ascii_fold(text: str) -> str:
    """'Wánchaq' -> 'Wanchaq' (accents dropped, ñ -> n)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def plain(text: str) -> str:
    """'  San  JUAN de Lurigancho ' and 'san juan de lurigancho' compare equal."""
    return " ".join(ascii_fold(text).lower().split())
