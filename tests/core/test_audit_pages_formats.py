"""The audit trail and anchor pages write counts, sequence numbers and times in the active
language's format (core.formatting), not as raw numbers or ISO strings (issue 8, item 7)."""

import re
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone, translation

from core import anchors, audit, formatting
from core.models import AuditVerification
from tests.factories import auditor

pytestmark = pytest.mark.django_db
LIMA = timezone.get_fixed_timezone(-300)
FINISHED = datetime(2026, 11, 25, 8, 30, tzinfo=LIMA)


@pytest.fixture
def long_trail():
    """1,250 entries, the first stamped 24/11/2026 15:05 in Lima."""
    start = datetime(2026, 11, 24, 15, 5, tzinfo=LIMA)
    rows = [
        (start + timedelta(seconds=n), "entity.updated", "procurement.entity", str(n), {"n": n})
        for n in range(1250)
    ]
    with transaction.atomic():
        audit.append_history(rows, actor_label="test")


def _page(client, language):
    client.cookies["django_language"] = language
    return client.get("/auditoria/registro/").content.decode()


@pytest.mark.parametrize(
    ("language", "unverified", "head", "last_entry"),
    [
        ("es", "1\xa0250 registros se escribieron", "<dd>1\xa0250</dd>", "#1\xa0250<"),
        ("en", "1,250 entries were recorded", "<dd>1,250</dd>", "#1,250<"),
    ],
)
def test_counts_and_sequences_are_grouped(
    client, long_trail, language, unverified, head, last_entry
):
    client.force_login(auditor())
    html = _page(client, language)
    assert unverified in html
    assert head in html
    assert last_entry in html
    assert not re.search(r"\b1250\b", html)  # hashes may hold those digits inside a word


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "es",
            [
                "25/11/2026 08:30",
                "1\xa0100 registros verificados",
                "n.º 1\xa0050",
                "24/11/2026 15:25",
                "1\xa0200 anclas",
            ],
        ),
        (
            "en",
            [
                "11/25/2026 8:30 a.m.",
                "1,100 entries verified",
                "#1,050",
                "11/24/2026 3:25 p.m.",
                "1,200 signed anchors",
            ],
        ),
    ],
)
def test_the_last_verification_and_the_entry_times_read_in_the_language(
    client, long_trail, language, expected
):
    AuditVerification.objects.create(
        started_at=FINISHED - timedelta(minutes=2),
        finished_at=FINISHED,
        source=AuditVerification.Source.COMMAND,
        ok=False,
        checked=1100,
        broken_sequence=1050,
        anchors=1200,
    )
    client.force_login(auditor())
    html = _page(client, language)
    for text in expected:
        assert text in html, text
    assert "nov. 25, 2026" not in html.lower() and "de noviembre de 2026" not in html


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_anchor_page_shows_times_not_iso_strings(client, long_trail, language):
    anchor = anchors.publish_anchor()
    client.cookies["django_language"] = language
    html = client.get("/auditoria/ancla/").content.decode()
    anchored = datetime.fromisoformat(anchor.statement["anchored_at"])
    with translation.override(language):
        assert f"<dd>{formatting.moment(anchored)}</dd>" in html
        assert f"<dd>#{formatting.number(anchor.sequence)}</dd>" in html
    # The signed statement itself is shown byte for byte, ISO times included.
    assert anchor.statement["anchored_at"] in html
