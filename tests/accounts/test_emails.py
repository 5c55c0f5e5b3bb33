"""Account e-mails: plain text shows names as written, HTML escapes them (issue 7 item 14)."""

import pytest

from accounts import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("send", ["send_verification_email", "send_registration_attempt_notice"])
def test_text_part_is_not_html_escaped_and_html_part_is(
    send, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(full_name="<b>A&B</b>", email_verified_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        getattr(services, send)(user)
    message = mailoutbox[0]
    assert "<b>A&B</b>" in message.body and "&lt;" not in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in html and "<b>A&B</b>" not in html
