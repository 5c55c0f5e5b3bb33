"""Catalog codes: UNSPSC's two-digit levels make a code's prefix its place in the tree."""


def code_prefix(code: str) -> str:
    """The prefix shared by a code and its descendants: '43210000' -> '4321' (a family),
    '20000000' -> '20' (a segment), '43211503' -> '43211503'. Non-digits are ignored."""
    digits = "".join(ch for ch in code if ch.isdigit())[:8]
    while len(digits) > 2 and digits.endswith("00"):
        digits = digits[:-2]
    return digits
