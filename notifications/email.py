"""E-mails sent for events: text and HTML, with a Message-ID made from the event, so that the
same event sent twice (a retry after a worker died before recording the send) is recognisably
the same message."""

import email.policy
import random
import re
import smtplib
import sys
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import Error as DatabaseError
from django.template.loader import render_to_string
from django.utils.timezone import get_current_timezone

from .models import Event


def site_host() -> str:
    """The portal's host name (SITE_URL's), as Message-IDs and calendar UIDs name it."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id(event: Event) -> str:
    return f"<event-{event.pk}@{site_host()}>"


def send_event_email(event: Event, *, to: str, subject: str, template: str, context: dict):
    """Send `template` (.txt and .html; text templates do not escape) to one address."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=[to],
        headers={"Message-ID": message_id(event)},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()


# --- Whether a failed send is worth retrying -------------------------------------------------

# Failures that may pass: the network's and the SMTP server's (smtplib's errors, refused
# connections and timeouts are all OSError), the database's, a worker short of memory, and
# Redis's or the broker's (the cache and Celery: their connection errors are not OSError).
TRANSIENT_ERRORS = (
    OSError,
    DatabaseError,
    MemoryError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)


def failure_is_permanent(error: BaseException) -> bool:
    """Whether a message that failed with `error` would fail the same way however often it is
    tried again, so that it is failed at once instead of retried: the SMTP server refused
    every recipient for good (5xx), or the message could not be built from its data (a
    header or an address Django refuses, a template or a value that fails while rendering:
    a ValueError, TypeError, LookupError... raised before the server was spoken to). Any
    failure of the network, the SMTP server or the database may pass, and is retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    return not isinstance(error, TRANSIENT_ERRORS)


# --- Writing a message's MIME bytes ------------------------------------------------------------


class _HeaderClasses(HeaderRegistry):
    """The standard library's header registry, but making each header's class once: the
    stock one makes a new class for every header of every message. The classes hold no
    state."""

    def __init__(self):
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name):
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_HEADER_CLASSES = _HeaderClasses()
# RFC 5322's limit on a line (998 characters): folding at 78 would turn a long List-Unsubscribe
# URL into RFC 2047 encoded words, which mail clients do not read as a URL.
MAX_LINE = 998
# An address written as it is: ASCII, no display name, nothing to quote or encode.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\Z")
_FOLDED: dict[tuple, bytes] = {}  # header lines the standard library wrote (_folded)


class PreparedMessage:
    """A message's MIME bytes, read as Django's mail backends read what
    EmailMessage.message() returns (as_bytes; get_charset for the console backend)."""

    def __init__(self, data: bytes):
        self.data = data

    def as_bytes(self, unixfrom=False, policy=None) -> bytes:
        return self.data

    __bytes__ = as_bytes

    def get_charset(self):
        return None


class PlainEmail(EmailMultiAlternatives):
    """An EmailMultiAlternatives whose message() writes the common case itself: one plain
    ASCII address, a UTF-8 text body and text/* alternatives, short ASCII extra headers.
    It writes the same bytes as the standard library would (tested), in a small fraction of
    its time: that library parses every header it is given and folds every header it
    writes, most of the CPU a notice's e-mail took (bench/notices.py). Anything else
    (another address form, a line over 998 bytes, attachments) goes the library's way.
    The subject and sender are still folded by the library, once per value."""

    def message(self, *, policy=email.policy.default):
        policy = policy.clone(max_line_length=MAX_LINE, header_factory=_HEADER_CLASSES)
        data = self._plain_bytes(policy)
        if data is not None:
            return PreparedMessage(data)
        return super().message(policy=policy)

    def _plain_bytes(self, policy) -> bytes | None:
        encoding = self.encoding or settings.DEFAULT_CHARSET
        if (
            encoding.lower() not in ("utf-8", "utf8")
            or len(self.to) != 1
            or self.cc
            or self.reply_to
            or self.attachments
            or not isinstance(self.body, str)
            or not self.body  # Django leaves an empty text part out: the library's way
            or not _PLAIN_ADDRESS.match(self.to[0])
            or not str(self.from_email).isascii()
        ):
            return None
        newline = policy.linesep.encode()
        headers = {name.lower(): (name, value) for name, value in self.extra_headers.items()}
        if headers.keys() & {"from", "to", "cc", "reply-to", "bcc"}:
            return None
        extra = []
        for name, value in headers.values():
            line = f"{name}: {value}"
            if not isinstance(value, str) or not line.isascii() or len(line) > MAX_LINE:
                return None
            if _breaks(line):
                return None  # the library's way refuses it (header injection)
            extra.append(line.encode())
        automatic = []  # what Django's message() adds before the extra headers
        if "date" not in headers:
            tz = get_current_timezone() if settings.EMAIL_USE_LOCALTIME else UTC
            automatic.append(b"Date: " + format_datetime(datetime.now(tz)).encode())
        if "message-id" not in headers:
            automatic.append(b"Message-ID: " + make_msgid(domain=DNS_NAME).encode())
        subject = str(self.subject)
        if _breaks(subject):
            return None  # refused by the library's way, as above
        parts = [_text_part(self.body, self.content_subtype, newline, mime_version=False)]
        for alternative in self.alternatives:
            maintype, subtype = alternative.mimetype.split("/", 1)
            if maintype != "text" or not isinstance(alternative.content, str):
                return None
            parts.append(_text_part(alternative.content, subtype, newline, mime_version=True))
        if len(parts) < 2 or None in parts:
            return None
        top = [
            *_folded("Subject", subject, policy),
            *_folded("From", str(self.from_email), policy),
            b"To: " + self.to[0].encode(),
            *automatic,
            *extra,
        ]
        boundary = _boundary(part for _headers, part in parts)
        content_type = f'Content-Type: multipart/alternative; boundary="{boundary}"'
        out = [b"MIME-Version: 1.0", content_type.encode(), *top, b""]
        for part_headers, body in parts:
            out += [b"--" + boundary.encode(), *part_headers, b"", body]
        out.append(b"--" + boundary.encode() + b"--")
        return newline.join(out) + newline


def _breaks(value: str) -> bool:
    """Whether `value` holds a line break as the standard library's header check sees one
    (str.splitlines: CR, LF, U+2028, U+0085, vertical tab...): such a value goes the
    library's way, which refuses it (or folds a break at the very end) as it always did."""
    return len(f"{value}.".splitlines()) > 1  # the dot: a break at the end counts too


def _folded(name: str, value: str, policy) -> list[bytes]:
    """The header line(s) of `name: value` as the library folds them for `policy`, kept."""
    key = (name, value, policy.linesep, policy.utf8, policy.cte_type)
    folded = _FOLDED.get(key)
    if folded is None:
        header = policy.header_factory(name, value)
        folded = policy.fold_binary(name, header).removesuffix(policy.linesep.encode())
        if len(_FOLDED) > 10_000:
            _FOLDED.clear()
        _FOLDED[key] = folded
    return [folded]


def _text_part(text: str, subtype: str, newline: bytes, *, mime_version: bool):
    """(headers, body) of a UTF-8 text part whose lines fit, written 7bit or 8bit as the
    library would; None otherwise (quoted-printable or base64: the library's way)."""
    try:
        lines = text.encode("utf-8").splitlines()
    except UnicodeEncodeError:  # lone surrogates
        return None
    if any(len(line) > MAX_LINE for line in lines):
        return None
    body = newline.join(lines) + newline
    headers = [
        f'Content-Type: text/{subtype}; charset="utf-8"'.encode(),
        b"Content-Transfer-Encoding: " + (b"7bit" if body.isascii() else b"8bit"),
    ]
    if mime_version:
        headers.append(b"MIME-Version: 1.0")
    return headers, body


def _boundary(bodies) -> str:
    """A boundary of the library's form that no body contains."""
    bodies = list(bodies)
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="
        if not any(boundary.encode() in body for body in bodies):
            return boundary
