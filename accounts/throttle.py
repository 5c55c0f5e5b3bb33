"""Throttling of logins, registrations and password resets: repeated failures slow down the
next attempt with growing delays, never a lockout.

A competitor must not be able to shut a bidder out before a deadline, and a public internet
booth or a ministry behind one address must not be blocked outright: the delay per account is
capped at a few minutes, and an address gets many more free attempts (and a short cap) than
an account. Even a capped delay becomes a lockout if a competitor guesses once each time it
ends, so a browser that has logged in to the account before (it holds a signed cookie saying
so) counts its failures apart from everyone else's ("browser" instead of "account"). Counters live in the database (ThrottleCounter), so every process and worker
shares them; a counter forgets its failures after a quiet window.
"""

import math
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from core.network import client_address

from .models import ThrottleCounter, User


@dataclass(frozen=True)
class Policy:
    free: int  # failures allowed before any delay
    base_delay: int  # seconds of delay at the first failure past `free`, doubling after
    max_delay: int  # the delay never grows beyond this (no lockout)
    window: int  # seconds without failures after which the count starts again

    def delay(self, failures: int) -> int:
        if failures <= self.free:
            return 0
        return min(self.base_delay * 2 ** min(failures - self.free - 1, 30), self.max_delay)


MINUTE, HOUR = 60, 3600

# scope -> kind of key -> policy
POLICIES: dict[str, dict[str, Policy]] = {
    "login": {
        "account": Policy(free=5, base_delay=2, max_delay=5 * MINUTE, window=HOUR),
        "browser": Policy(free=5, base_delay=2, max_delay=5 * MINUTE, window=HOUR),
        "address": Policy(free=100, base_delay=1, max_delay=30, window=HOUR),
    },
    # Every valid registration or reset request counts: each one sends an e-mail.
    "register": {
        "email": Policy(free=3, base_delay=30, max_delay=15 * MINUTE, window=HOUR),
        "address": Policy(free=20, base_delay=5, max_delay=5 * MINUTE, window=HOUR),
    },
    "password_reset": {
        "email": Policy(free=3, base_delay=30, max_delay=15 * MINUTE, window=HOUR),
        "address": Policy(free=20, base_delay=5, max_delay=5 * MINUTE, window=HOUR),
    },
}


def now() -> datetime:
    """The throttle's clock (tests move time by editing the counters' rows)."""
    return timezone.now()


def _normalise(value: str) -> str:
    return (value or "").strip().lower()[:254]


# Kinds of key that name an account by its e-mail address.
_ADDRESS_KINDS = frozenset({"account", "email"})


def _account(value: str) -> tuple[int, str] | None:
    """The (pk, stored address) of the one account the database's case-insensitive match
    takes `value` for, as login and registration do."""
    matches = list(User.objects.filter(email__iexact=value).values_list("pk", "email")[:2])
    return matches[0] if len(matches) == 1 else None


def _account_key(value: str) -> str:
    """One key per account whatever spelling of its address is typed: the database's
    case-insensitive match accepts spellings that Python's lower() keeps apart (on
    PostgreSQL a dotless 'ı' matches 'i'), so each would otherwise get fresh counters. The
    key is the stored address of the one account that matches."""
    account = _account(value)
    return account[1] if account else value


def _counters(scope: str, keys: dict[str, str]):
    for kind, value in keys.items():
        value = _normalise(value)
        if value and kind in _ADDRESS_KINDS:
            value = _account_key(value)
        if value:
            yield f"{scope}:{kind}", value, POLICIES[scope][kind]


def check_throttle(scope: str, keys: dict[str, str]) -> int:
    """Seconds the caller must wait before the next attempt for these keys (0: go ahead).
    `keys` maps a kind of key of the scope's policy ("account", "address"...) to its value."""
    moment, wait = now(), 0
    for counter_scope, key, policy in _counters(scope, keys):
        counter = ThrottleCounter.objects.filter(scope=counter_scope, key=key).first()
        if counter is None or moment - counter.last_failure_at > timedelta(seconds=policy.window):
            continue
        until = counter.last_failure_at + timedelta(seconds=policy.delay(counter.failures))
        wait = max(wait, math.ceil((until - moment).total_seconds()))
    return wait


@contextmanager
def one_at_a_time(scope: str, keys: dict[str, str], kinds=("account", "browser")):
    """Hold the lock of the account's counter row while one attempt is checked, judged and
    counted: attempts sent at the same moment are judged one after the other, each seeing the
    failures before it (otherwise all of them pass the check before any is counted)."""
    held = {kind: value for kind, value in keys.items() if kind in kinds}
    with transaction.atomic():
        moment = now()
        for counter_scope, key, _policy in _counters(scope, held):
            ThrottleCounter.objects.select_for_update().get_or_create(
                scope=counter_scope,
                key=key,
                defaults={"failures": 0, "window_started_at": moment, "last_failure_at": moment},
            )
        yield


def record_failure(scope: str, keys: dict[str, str]) -> None:
    """Count one failed (or, for registrations and resets, one more) attempt against each
    key, atomically: the row is locked while it is read and written."""
    moment = now()
    for counter_scope, key, policy in _counters(scope, keys):
        with transaction.atomic():
            counter, created = ThrottleCounter.objects.select_for_update().get_or_create(
                scope=counter_scope,
                key=key,
                defaults={"failures": 1, "window_started_at": moment, "last_failure_at": moment},
            )
            if created:
                continue
            if moment - counter.last_failure_at > timedelta(seconds=policy.window):
                counter.failures, counter.window_started_at = 1, moment
            else:
                counter.failures += 1
            counter.last_failure_at = moment
            counter.save(update_fields=["failures", "window_started_at", "last_failure_at"])


def reset_throttle(scope: str, keys: dict[str, str]) -> None:
    """Forget the failures of these keys (a successful login clears its account's count)."""
    for counter_scope, key, _policy in _counters(scope, keys):
        ThrottleCounter.objects.filter(scope=counter_scope, key=key).delete()


KNOWN_BROWSER_COOKIE = "portal_known_browser"
KNOWN_BROWSER_AGE = 180 * 24 * HOUR
_KNOWN_BROWSER_SALT = "accounts.throttle.known-browser"


def remember_browser(response, user) -> None:
    """After a successful login, mark the browser as one the account uses (a signed cookie
    naming the account by its id, not its address: booths are shared). It grants nothing
    but a failure count of its own."""
    value = signing.dumps({"u": user.pk, "n": secrets.token_urlsafe(12)}, salt=_KNOWN_BROWSER_SALT)
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        value,
        max_age=KNOWN_BROWSER_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _known_browser(request) -> dict | None:
    value = request.COOKIES.get(KNOWN_BROWSER_COOKIE) if request is not None else None
    if not value:
        return None
    try:
        browser = signing.loads(value, salt=_KNOWN_BROWSER_SALT, max_age=KNOWN_BROWSER_AGE)
    except signing.BadSignature:
        return None
    return browser if isinstance(browser, dict) else None


def login_keys(request, username: str) -> dict[str, str]:
    """The counters a login attempt counts against: the client's address, and the account's
    own, or, from a browser that logged in to this account before, that browser's."""
    keys = {"address": client_address(request) if request is not None else ""}
    browser, account = _known_browser(request), _account(_normalise(username))
    if browser and account and browser.get("u") == account[0]:
        keys["browser"] = f"{account[0]}:{browser.get('n')}"
    else:
        keys["account"] = username
    return keys
