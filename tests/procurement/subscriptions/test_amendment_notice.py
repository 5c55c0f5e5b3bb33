"""The notice of a contract amendment says what the contract amounts to after it; an event
recorded without that amount (older events, imports) leaves the sentence out instead of
reading "it now amounts to ." (found by review)."""

from decimal import Decimal

from django.utils import translation

from core import formatting
from notifications.models import Event, EventKind
from procurement.subscriptions.process_notices import news_line

FULL = {
    "number": "C-7-2026",
    "kind": "adicional",
    "amendment_amount": "1000.00",
    "current_amount": "11000.00",
}


def _line(payload, language="en"):
    with translation.override(language):
        return news_line(Event(kind=EventKind.CONTRACT_AMENDED, payload=payload))


def test_the_amendment_notice_says_the_amount_now():
    with translation.override("en"):
        now = formatting.money(Decimal("11000"))
    assert _line(FULL).endswith(f"it now amounts to {now}.") and now.strip()


def test_without_the_amount_now_the_sentence_is_left_out():
    payload = {key: value for key, value in FULL.items() if key != "current_amount"}
    for language in ("en", "es"):
        line = _line(payload, language)
        assert "C-7-2026" in line
        assert not line.rstrip(".").endswith(" ") and " ." not in line
        assert "now amounts" not in line and "ahora" not in line
    assert _line(payload) == _line(FULL).split(":")[0] + "."
    # Without the amendment's own kind and amount either: only that it was amended.
    assert _line({"number": "C-7-2026"}) == "The contract C-7-2026 was amended."
    assert _line({"number": "C-7-2026", "current_amount": None}, "es").endswith(".")
