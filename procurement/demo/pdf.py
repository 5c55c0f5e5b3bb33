"""The demo's documents: a one-page PDF with a heading and a few lines of text, from the
portal's hand-written PDF writer (core.pdf): about a kilobyte each, and the same bytes for
the same text, so the seed stays deterministic."""

from core.pdf import LINE_CHARACTERS, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, document, wrap

__all__ = ["LINE_CHARACTERS", "MARGIN", "PAGE_HEIGHT", "PAGE_WIDTH", "one_page", "wrap"]


def one_page(heading: str, lines: list[str], *, title: str = "") -> bytes:
    """A valid PDF 1.4 file: one A4 page with `heading` in bold and `lines` below it (long
    lines are wrapped), and `title` in the document information."""
    return document(heading, lines, title=title, producer="seed_demo")
