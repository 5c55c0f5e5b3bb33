"""A one-page PDF with a heading and a few lines of text, written by hand for the demo's
documents: no dependency, about a kilobyte each, and the same bytes for the same text (no
creation date, no random file id), so the seed stays deterministic.

The text uses the standard Helvetica fonts with WinAnsiEncoding, which covers Spanish
(á, é, ñ, ü, ¿, ¡...); anything else is written as "?".
"""

import textwrap

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 56
LINE_CHARACTERS = 88  # what fits a line of 11-point Helvetica between the margins


def _literal(text: str) -> bytes:
    """A PDF literal string: WinAnsi bytes with \\, ( and ) escaped."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def wrap(text: str, width: int = LINE_CHARACTERS) -> list[str]:
    if len(text) <= width:
        return [text]
    return textwrap.wrap(" ".join(text.split()), width) or [""]


def one_page(heading: str, lines: list[str], *, title: str = "") -> bytes:
    """A valid PDF 1.4 file: one A4 page with `heading` in bold and `lines` below it (long
    lines are wrapped), and `title` in the document information."""
    text = [b"BT /F2 16 Tf %d %d Td " % (MARGIN, PAGE_HEIGHT - MARGIN - 16)]
    text.append(_literal(heading) + b" Tj ET\n")
    text.append(b"BT /F1 11 Tf 16 TL %d %d Td\n" % (MARGIN, PAGE_HEIGHT - MARGIN - 52))
    for line in lines:
        for part in wrap(line):
            text.append(_literal(part) + b" Tj T*\n")
    text.append(b"ET\n")
    content = b"".join(text)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
        % (PAGE_WIDTH, PAGE_HEIGHT),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Title " + _literal(title or heading) + b" /Producer (seed_demo) >>",
    ]
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
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, len(objects))
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
