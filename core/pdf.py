"""A small hand-written PDF writer: A4 pages of text with a bold heading, in the standard
Helvetica fonts (WinAnsiEncoding covers Spanish: á, é, ñ, ü, ¿, ¡...; anything else is
written as "?"). No dependency, and the same bytes for the same text (no creation date, no
random file id), so a published act or a seeded document is reproducible and its SHA-256
stable. Long lines are wrapped; text that does not fit one page continues on the next, and
a document of several pages numbers them at their foot.
"""

import textwrap

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 56
LINE_CHARACTERS = 88  # what fits a line of 11-point Helvetica between the margins
LEADING = 16
FIRST_PAGE_TOP = PAGE_HEIGHT - MARGIN - 52  # below the heading
PAGE_TOP = PAGE_HEIGHT - MARGIN - 11
FIRST_PAGE_LINES = (FIRST_PAGE_TOP - MARGIN) // LEADING + 1
PAGE_LINES = (PAGE_TOP - MARGIN) // LEADING + 1


def literal(text: str) -> bytes:
    """A PDF literal string: WinAnsi bytes with \\, ( and ) escaped."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def wrap(text: str, width: int = LINE_CHARACTERS) -> list[str]:
    if len(text) <= width:
        return [text]
    return textwrap.wrap(" ".join(text.split()), width) or [""]


def _pages(lines: list[str]) -> list[list[str]]:
    wrapped = [part for line in lines for part in wrap(line)]
    pages = [wrapped[:FIRST_PAGE_LINES]]
    rest = wrapped[FIRST_PAGE_LINES:]
    while rest:
        pages.append(rest[:PAGE_LINES])
        rest = rest[PAGE_LINES:]
    return pages


def _content(heading: str, lines: list[str], number: int, count: int) -> bytes:
    text = []
    if number == 1:
        text.append(b"BT /F2 16 Tf %d %d Td " % (MARGIN, PAGE_HEIGHT - MARGIN - 16))
        text.append(literal(heading) + b" Tj ET\n")
        top = FIRST_PAGE_TOP
    else:
        top = PAGE_TOP
    text.append(b"BT /F1 11 Tf %d TL %d %d Td\n" % (LEADING, MARGIN, top))
    for line in lines:
        text.append(literal(line) + b" Tj T*\n")
    text.append(b"ET\n")
    if count > 1:
        foot = f"{heading} — {number}/{count}"
        text.append(b"BT /F1 8 Tf %d %d Td " % (MARGIN, MARGIN // 2))
        text.append(literal(foot) + b" Tj ET\n")
    return b"".join(text)


def document(heading: str, lines: list[str], *, title: str = "", producer: str = "portal") -> bytes:
    """A valid PDF 1.4 file: A4 pages with `heading` in bold on the first and `lines` below
    it (long lines wrapped, continued on further pages), `title` in its information."""
    pages = _pages(lines)
    count = len(pages)
    first_page = 6  # objects 1-5: catalog, page tree, two fonts, information
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + literal(title or heading) + b" /Producer " + literal(producer) + b" >>",
    ]
    for index, page_lines in enumerate(pages):
        content = _content(heading, page_lines, index + 1, count)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, first_page + 2 * index + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream")
    # The binary comment after the header tells transfer tools the file is not plain text.
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
