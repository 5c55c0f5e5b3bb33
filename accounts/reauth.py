"""Fresh re-authentication: an act with legal weight (confirming a bid) needs the user's
password entered within the last few minutes: its electronic signature on the portal, with
no token or card to buy. Logging in counts as entering it; within the window the user can
confirm again (replace a bid several times) without paying for a password hash each time.

Wrong passwords count against the same throttle as logins (accounts.throttle), so the form
is no way around the login's delays."""

from datetime import UTC, datetime, timedelta

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core import clock

from . import throttle

SESSION_KEY = "reauthenticated"


def window() -> timedelta:
    return timedelta(seconds=settings.REAUTH_WINDOW_SECONDS)


def mark_reauthenticated(request, user=None) -> None:
    """Record in the session that its user has just entered the password."""
    user = user or request.user
    request.session[SESSION_KEY] = {"user": user.pk, "at": clock.wall_now().timestamp()}


def reauthenticated_at(request) -> datetime | None:
    """When the session's user last entered the password, or None."""
    record = request.session.get(SESSION_KEY)
    user = getattr(request, "user", None)
    if not isinstance(record, dict) or user is None or not user.is_authenticated:
        return None
    if record.get("user") != user.pk or not isinstance(record.get("at"), int | float):
        return None
    return datetime.fromtimestamp(record["at"], tz=UTC)


def recently_reauthenticated(request) -> bool:
    """True when the password was entered within the window (and not in the future). Read
    by the server's clock, as it was marked (clock.wall_now): no database round trip."""
    moment = reauthenticated_at(request)
    if moment is None:
        return False
    return timedelta(0) <= clock.wall_now() - moment <= window()


class ReauthenticationForm(forms.Form):
    """The current user's password, checked (and throttled) like a login; on success the
    session is marked as freshly re-authenticated."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Entering it confirms this act as yours (your electronic signature)."),
    )

    def __init__(self, request, *args, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_password(self):
        from .forms import throttled_error

        password = self.cleaned_data["password"]
        user = self.request.user
        keys = throttle.login_keys(self.request, user.email)
        refusal = None
        with throttle.one_at_a_time("login", keys):
            wait = throttle.check_throttle("login", keys)
            if wait:
                refusal = throttled_error(wait)
            elif not user.check_password(password):
                throttle.record_failure("login", keys)
                refusal = forms.ValidationError(
                    _("The password is not correct."), code="wrong_password"
                )
            else:
                throttle.reset_throttle("login", {k: v for k, v in keys.items() if k != "address"})
        if refusal is not None:
            raise refusal
        mark_reauthenticated(self.request)
        return password
