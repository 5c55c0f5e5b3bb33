"""Fresh re-authentication (accounts.reauth): the password entered at login or on the
confirmation form opens a window of REAUTH_WINDOW_SECONDS; wrong passwords are throttled
like logins."""

from datetime import timedelta

import pytest
from django.test import RequestFactory

from accounts import reauth
from accounts.models import ThrottleCounter
from core import clock
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "una-clave-larga-9"  # noqa: S105


def _request(user, session=None):
    request = RequestFactory().post("/", REMOTE_ADDR="10.1.2.3")
    request.user = user
    request.session = session if session is not None else {}
    return request


def test_login_opens_the_window(client):
    user = UserFactory(password=PASSWORD)
    response = client.post("/cuentas/ingresar/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    session = client.session
    assert session[reauth.SESSION_KEY]["user"] == user.pk


def test_window_closes_after_the_setting(settings):
    settings.REAUTH_WINDOW_SECONDS = 600
    user = UserFactory(password=PASSWORD)
    start = clock.now()
    with clock.pinned(start):
        request = _request(user)
        reauth.mark_reauthenticated(request)
        assert reauth.recently_reauthenticated(request)
    with clock.pinned(start + timedelta(seconds=599)):
        assert reauth.recently_reauthenticated(request)
    with clock.pinned(start + timedelta(seconds=601)):
        assert not reauth.recently_reauthenticated(request)


def test_the_window_belongs_to_the_user_who_entered_the_password():
    user, other = UserFactory(password=PASSWORD), UserFactory(password=PASSWORD)
    request = _request(user)
    reauth.mark_reauthenticated(request)
    assert not reauth.recently_reauthenticated(_request(other, request.session))
    assert not reauth.recently_reauthenticated(_request(user, {reauth.SESSION_KEY: "junk"}))


def test_form_accepts_the_right_password_and_marks_the_session():
    user = UserFactory(password=PASSWORD)
    request = _request(user)
    form = reauth.ReauthenticationForm(request, data={"password": PASSWORD})
    assert form.is_valid(), form.errors
    assert reauth.recently_reauthenticated(request)


def test_wrong_password_is_refused_counted_and_does_not_open_the_window():
    user = UserFactory(password=PASSWORD)
    request = _request(user)
    form = reauth.ReauthenticationForm(request, data={"password": "otra"})
    assert not form.is_valid()
    assert form.has_error("password", "wrong_password")
    assert not reauth.recently_reauthenticated(request)
    assert ThrottleCounter.objects.filter(scope="login:account").exists()


def test_repeated_wrong_passwords_are_throttled_even_with_the_right_one():
    user = UserFactory(password=PASSWORD)
    for _ in range(6):
        reauth.ReauthenticationForm(_request(user), data={"password": "otra"}).is_valid()
    request = _request(user)
    form = reauth.ReauthenticationForm(request, data={"password": PASSWORD})
    assert not form.is_valid()
    assert form.has_error("password", "throttled")
    assert not reauth.recently_reauthenticated(request)


def test_the_window_is_read_without_a_database_round_trip(django_assert_num_queries):
    """Checked on every bid confirmation: by the server's clock, as it was marked."""
    user = UserFactory(password=PASSWORD)
    request = _request(user)
    with django_assert_num_queries(0):
        reauth.mark_reauthenticated(request)
        assert reauth.recently_reauthenticated(request)
    request.session[reauth.SESSION_KEY]["at"] += reauth.window().total_seconds() + 1
    assert not reauth.recently_reauthenticated(request)  # marked in the future: refused
