"""notifications.email.PlainEmail writes a notice's MIME bytes itself: the same bytes as
the standard library's way (boundary and date aside), and that way whenever the message is
not the plain case it writes."""

import email
import email.policy
import re
import smtplib

import kombu.exceptions
import pytest
import redis.exceptions
from django.core.mail import EmailMultiAlternatives
from django.db import OperationalError

from notifications.email import PlainEmail, PreparedMessage, failure_is_permanent

TEXT = "Se publicó un proceso de su suscripción “Cómputo”.\n\nLP-SM-1-2026\n\n--\nBaja: http://x/\n"
HTML = '<!doctype html>\n<html lang="es"><body><p>“Cómputo”</p>\n</body>\n</html>\n'
UNSUBSCRIBE = "<http://127.0.0.1:8000/cuentas/suscripciones/baja/" + "t" * 150 + "/>"


def _email(cls, *, subject="Nuevo proceso: LP-SM-1-2026", body=TEXT, html=HTML, to="rosa@x.pe"):
    message = cls(
        subject=subject,
        body=body,
        to=[to],
        headers={
            "Message-ID": "<notice-7@127.0.0.1>",
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


class LibraryWay(PlainEmail):
    """PlainEmail that always goes the standard library's way (its folding policy too)."""

    def _plain_bytes(self, policy):
        return None


def _content(part) -> str:
    # The parser keeps the CR of SMTP's CRLF line ends in the text.
    return part.get_content().replace("\r\n", "\n")


def _comparable(data: bytes) -> bytes:
    data = re.sub(rb"={15}\d{19}==", b"BOUNDARY", data)
    return re.sub(rb"Date: [^\r\n]+", b"Date: -", data)


@pytest.mark.parametrize("policy", [email.policy.SMTP, email.policy.default])
@pytest.mark.parametrize(
    ("subject", "body", "html"),
    [
        ("Nuevo proceso: LP-SM-1-2026", TEXT, HTML),
        ("Adquisición de computadoras portátiles " * 5, "only ascii\n", "<p>a</p>"),
        ("s", "no newline at the end", "<p>a</p>\r\n\r\n"),
        ("s", "crlf\r\nand cr\rand lf\n\n", "x"),
    ],
)
def test_the_same_bytes_as_the_standard_librarys_way(policy, subject, body, html):
    written = _email(PlainEmail, subject=subject, body=body, html=html).message(policy=policy)
    assert isinstance(written, PreparedMessage)  # written by PlainEmail itself
    library = _email(LibraryWay, subject=subject, body=body, html=html).message(policy=policy)
    assert _comparable(written.as_bytes()) == _comparable(library.as_bytes())


def test_what_it_writes_reads_back_as_sent():
    data = _email(PlainEmail).message(policy=email.policy.SMTP).as_bytes()
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["To"] == "rosa@x.pe" and parsed["Subject"] == "Nuevo proceso: LP-SM-1-2026"
    assert parsed["Message-ID"] == "<notice-7@127.0.0.1>"
    assert parsed["List-Unsubscribe"] == UNSUBSCRIBE  # one line, not encoded words
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Date"].datetime is not None
    plain, html = parsed.get_payload()
    assert _content(plain) == TEXT and plain.get_content_type() == "text/plain"
    assert _content(html) == HTML and html.get_content_type() == "text/html"
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "changes",
    [
        {"to": "Rosa Quispe <rosa@x.pe>"},  # a display name
        {"to": "rosa@tejidos.example.pe".replace("tejidos", "tejidós")},  # IDNA
        {"body": "a" * 1200},  # a line over 998 bytes: quoted-printable
    ],
)
def test_any_other_message_goes_the_librarys_way(changes):
    message = _email(PlainEmail, **changes)
    written = message.message(policy=email.policy.SMTP)
    assert not isinstance(written, PreparedMessage)
    parsed = email.message_from_bytes(written.as_bytes(), policy=email.policy.default)
    assert _content(parsed.get_payload()[0]).rstrip("\n") == message.body.rstrip("\n")


def test_a_line_break_in_a_header_is_refused_as_the_library_refuses_it():
    for cls in (PlainEmail, EmailMultiAlternatives):
        with pytest.raises(ValueError, match="linefeed"):
            _email(cls, subject="Hi\nBcc: everyone@x.pe").message()


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\r"])
def test_every_line_break_the_library_sees_is_refused_alike(brk):
    # The library refuses any break str.splitlines() sees (not only CR and LF), in the subject
    # as in an extra header: so does PlainEmail, whichever way a message would go.
    for cls in (PlainEmail, EmailMultiAlternatives):
        with pytest.raises(ValueError, match="linefeed"):
            _email(cls, subject=f"Municipalidad{brk}Bcc: x@y.pe").message()
        message = _email(cls)
        message.extra_headers["X-Entity"] = f"a{brk}b"
        with pytest.raises(ValueError, match="linefeed"):
            message.message()


def test_an_empty_text_body_goes_the_librarys_way():
    written = _email(PlainEmail, body="").message(policy=email.policy.SMTP)
    assert not isinstance(written, PreparedMessage)


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        # The message cannot be built from its data: the same data fails the same way.
        (ValueError("Invalid address 'ana perez@x.pe'"), True),
        (TypeError("expected str"), True),
        (KeyError("identifier"), True),
        # The server refused every recipient for good, or only for now.
        (smtplib.SMTPRecipientsRefused({"a@x.pe": (550, b"No such mailbox")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x.pe": (452, b"Mailbox full")}), False),
        # The network, the server, the database: may pass.
        (smtplib.SMTPServerDisconnected("closed"), False),
        (smtplib.SMTPDataError(451, b"try later"), False),
        (ConnectionRefusedError(111, "refused"), False),
        (TimeoutError("timed out"), False),
        (OperationalError("server closed the connection"), False),
        # Redis (the cache) and the broker are down: not OSError, but they pass too.
        (redis.exceptions.ConnectionError("Connection refused"), False),
        (redis.exceptions.TimeoutError("Timeout reading"), False),
        (kombu.exceptions.OperationalError("broker unreachable"), False),
    ],
)
def test_one_function_says_which_failures_are_worth_retrying(error, permanent):
    assert failure_is_permanent(error) is permanent
