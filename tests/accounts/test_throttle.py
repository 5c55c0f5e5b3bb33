"""Login, registration and password-reset throttling: growing delays, never a lockout
(issue 7, item 10)."""

from datetime import timedelta

import pytest

from accounts import throttle
from accounts.models import ThrottleCounter
from tests.accounts.test_registration import FORM
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _login(client, email, password, address="203.0.113.7"):
    return client.post(
        "/cuentas/ingresar/", {"username": email, "password": password}, REMOTE_ADDR=address
    )


def _wait_out(scope):
    """Move the clock past the wait: the counters' last failure goes back in time."""
    for counter in ThrottleCounter.objects.filter(scope__startswith=scope):
        counter.last_failure_at -= timedelta(
            seconds=throttle.POLICIES["login"]["account"].max_delay
        )
        counter.save()


def test_repeated_wrong_passwords_make_the_right_one_wait_then_it_works(client):
    user = UserFactory()
    statuses = [_login(client, user.email, "wrong-password").status_code for _ in range(10)]
    # Five free failures, a sixth counted, then each attempt must wait (and is not counted).
    assert statuses == [200] * 6 + [429] * 4
    response = _login(client, user.email, TEST_PASSWORD)
    assert response.status_code == 429
    assert response.context["form"].has_error("__all__", "throttled")
    assert "Demasiados intentos; espere" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The counters are rows in the database, shared by every process.
    assert ThrottleCounter.objects.get(scope="login:account", key=user.email).failures == 6

    _wait_out("login")
    response = _login(client, user.email, TEST_PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    # A successful login forgets the account's failures.
    assert not ThrottleCounter.objects.filter(scope="login:account", key=user.email).exists()


def test_a_few_failures_slow_nobody_down(client):
    user = UserFactory()
    for _ in range(5):
        _login(client, user.email, "wrong-password")
    assert _login(client, user.email, TEST_PASSWORD).status_code == 302


def test_another_account_from_the_same_address_is_not_blocked(client):
    target, colleague = UserFactory(), UserFactory()
    for _ in range(10):
        _login(client, target.email, "wrong-password")
    assert _login(client, target.email, TEST_PASSWORD).status_code == 429
    response = _login(client, colleague.email, TEST_PASSWORD)
    assert response.status_code == 302


def test_the_delay_grows_but_is_capped_never_a_lockout():
    keys = {"account": "bidder@example.pe"}
    waits = []
    for _ in range(200):
        throttle.record_failure("login", keys)
        waits.append(throttle.check_throttle("login", keys))
    assert waits[:5] == [0] * 5
    assert waits[5] < waits[7] < waits[9]
    assert max(waits) <= 5 * 60


def test_a_shared_address_gets_many_more_attempts_and_a_short_cap():
    """A public internet booth or a ministry: a hundred failures across its users before any
    delay, and then never more than half a minute."""
    for _n in range(100):
        throttle.record_failure("login", {"address": "198.51.100.1"})
    assert throttle.check_throttle("login", {"address": "198.51.100.1"}) == 0
    for _n in range(100):
        throttle.record_failure("login", {"address": "198.51.100.1"})
    assert 0 < throttle.check_throttle("login", {"address": "198.51.100.1"}) <= 30


def test_failures_are_forgotten_after_a_quiet_window():
    keys = {"account": "bidder@example.pe"}
    for _ in range(10):
        throttle.record_failure("login", keys)
    ThrottleCounter.objects.update(last_failure_at=throttle.now() - timedelta(hours=2))
    assert throttle.check_throttle("login", keys) == 0
    throttle.record_failure("login", keys)
    assert ThrottleCounter.objects.get().failures == 1


def test_repeated_registrations_for_one_email_must_wait(client):
    data = {**FORM, "email": "rafaga@textiles.pe"}
    statuses = [
        client.post("/cuentas/registro/", data, REMOTE_ADDR="203.0.113.9").status_code
        for _ in range(5)
    ]
    assert statuses[-1] == 429
    response = client.post("/cuentas/registro/", data, REMOTE_ADDR="203.0.113.9")
    assert response.context["form"].has_error("__all__", "throttled")


def test_repeated_password_reset_requests_must_wait(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(email="proveedor@textiles.pe")
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(
                "/cuentas/contrasena/restablecer/", {"email": "proveedor@textiles.pe"}
            ).status_code
            for _ in range(5)
        ]
    assert statuses == [302, 302, 302, 302, 429]
    assert len(mailoutbox) == 4
