"""Catalog codes: UNSPSC's two-digit levels make a code's prefix its place in the tree."""


def code_prefix(code: str) -> str:
    """The prefix shared by a code and its descendants: '43210000' -> '4321' (a family),
    '20000000' -> '20' (a segment), '43211503' -> '43211503'. Non-digits are ignored, other
    scripts' digits read as ASCII ('４３' -> '43')."""
    digits = "".join(str(int(ch)) for ch in code if ch.isdecimal())[:8]
    while len(digits) > 2 and digits.endswith("00"):
        digits = digits[:-2]
    return digits


def prefix_code(prefix: str) -> str:
    """The code that writes a prefix (code_prefix's inverse): the 8-digit code when its prefix
    is `prefix` ('4321' -> '43210000'), else the prefix itself ('432', '43211', '432100'), which
    a 0-padded code would narrow to another prefix ('43200000' is '4320')."""
    code = prefix.ljust(8, "0")
    return code if code_prefix(code) == prefix else prefix
