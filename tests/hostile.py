"""Hostile values for every kind of form field, shared by the form walk
(tests/test_hostile_forms.py) and the filter tests (tests/procurement/test_bad_input.py)."""

LONG = "x" * 30_000  # past every max_length of the portal, answers included
HOSTILE = {
    "text": ["a\x00b", LONG],
    "number": ["9223372036854775808", "9" * 26, "-1e1000", "NaN", "-1", "a\x00b", LONG],
    "date": ["2026-02-30", "0001-01-01", "9999-12-30", "-1", "a\x00b", LONG],
    "choice": ["a\x00b", LONG, "9223372036854775808"],
    "id": ["9223372036854775808", "99999999999999999999", "-1", "a\x00b", LONG],
    # Unit prices of a bid: negative, zero, past any column, not numbers, a third decimal,
    # scientific notation, thousands separators.
    "price": ["-1", "0", "1e9999", "1e3", "abc", "0.001", "9" * 29, "NaN", "1,234.50"]
    + ["a\x00b", LONG],
    "ruc": ["123", "2013131295x", "20999999999", "-1", "a\x00b", LONG],
    # Uploads: an executable, text posing as a PDF, an empty file.
    "file": [b"MZ\x90\x00\x03\x00\x00\x00", b"not a pdf at all", b""],
}
