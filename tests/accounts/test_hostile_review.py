"""Reproductions of the hostile review of the account flows (issue 7): each failed on the
code before its fix."""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test import Client

from accounts import throttle
from accounts.models import ThrottleCounter, User
from notifications.dispatch import dispatch_pending
from notifications.models import Event, EventKind
from suppliers.models import Supplier
from tests.accounts.test_registration import FORM
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _verification_path(body: str) -> str:
    return re.search(r"/cuentas/verificar/[^\s/]+/", body).group(0)


def test_opening_the_verification_link_confirms_nothing_until_the_button_is_pressed(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """Corporate mail scanners open (GET) every link of an incoming message: an attacker who
    registers a company's RUC with its mailbox must not get the address confirmed by them."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cuentas/registro/", {**FORM, "email": "compras@textiles.pe"})
    link = _verification_path(mailoutbox[0].body)

    response = client.get(link)
    assert response.status_code == 200
    html = response.content.decode()
    # The page says what confirming would do: which address, which RUC.
    assert "compras@textiles.pe" in html and FORM["ruc"] in html and 'method="post"' in html
    user = User.objects.get(email="compras@textiles.pe")
    assert user.email_verified_at is None and not user.is_active
    assert Supplier.objects.get(ruc=FORM["ruc"]).awaiting_confirmation

    response = client.post(link, {"password": FORM["password1"]})
    assert response.status_code == 302 and response.url == "/cuentas/ingresar/"
    user.refresh_from_db()
    assert user.is_active and user.email_verified_at is not None
    assert not Supplier.objects.get(ruc=FORM["ruc"]).awaiting_confirmation
    # Once confirmed, the link just leads to the login.
    assert client.get(link).status_code == 302


def test_the_owner_of_a_mailbox_cannot_be_led_to_confirm_someone_elses_claim(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """An impostor registers a company's RUC with the company's own mailbox and a password
    of their choosing; the company, seeing a portal e-mail about its RUC, confirms it. The
    impostor would then log in to a confirmed company address, ready for the admins' review.
    Confirming needs the password chosen when registering, which only the registrant has."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cuentas/registro/", {**FORM, "email": "compras@textiles.pe"})
    link = _verification_path(mailoutbox[0].body)

    response = client.post(link, {"password": "La-Clave-De-La-Empresa-1"})
    assert response.status_code == 400
    assert response.context["form"].has_error("password", "wrong_password")
    response = client.post(link, {})
    assert response.status_code == 400 and response.context["form"].has_error("password")
    user = User.objects.get(email="compras@textiles.pe")
    assert user.email_verified_at is None and not user.is_active
    assert Supplier.objects.get(ruc=FORM["ruc"]).awaiting_confirmation


def _login(client, email, password, address="203.0.113.7"):
    return client.post(
        "/cuentas/ingresar/", {"username": email, "password": password}, REMOTE_ADDR=address
    )


def _dotless_spellings(email: str):
    """Spellings of `email` with some of its 'i' written as a dotless 'ı': PostgreSQL's
    case-insensitive match (UPPER) takes each for the address, Python's lower() does not."""
    positions = [index for index, char in enumerate(email) if char == "i"]
    for mask in range(1, 2 ** len(positions)):
        chars = list(email)
        for bit, index in enumerate(positions):
            if mask >> bit & 1:
                chars[index] = "ı"
        yield "".join(chars)


def test_spelling_the_address_differently_does_not_escape_the_account_throttle(client):
    victim = UserFactory(email="licitaciones@minsa.gob.pe")
    spellings = list(_dotless_spellings(victim.email))[:12]
    # The database takes a spelling for the account: the right password opens it.
    assert _login(client, spellings[0], TEST_PASSWORD).status_code == 302
    client.logout()
    # So every wrong guess, however spelt, counts against the one account.
    for spelling in spellings[1:11]:
        _login(client, spelling, "wrong-password")
    response = _login(client, spellings[11], TEST_PASSWORD)
    assert response.status_code == 429
    assert response.context["form"].has_error("__all__", "throttled")
    assert _login(client, victim.email, TEST_PASSWORD).status_code == 429


def test_replacing_a_lapsed_claim_mails_the_new_registrant_not_a_look_alike_address(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """An attacker registers a look-alike of the owner's address (a domain they hold, with a
    dotless 'ı'), never confirms, and waits for the claim to lapse: the owner's registration
    reuses that row, and its confirmation link must go to the owner, not to the attacker."""
    look_alike = "rosa@textıles.pe"
    response = client.post(
        "/cuentas/registro/", {**FORM, "ruc": "20100070970", "email": look_alike}
    )
    assert response.status_code == 302
    User.objects.filter(email=look_alike).update(date_joined="2020-01-01T00:00:00Z")
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/cuentas/registro/", {**FORM, "email": "rosa@textiles.pe"})
    assert response.status_code == 302
    assert not User.objects.filter(email=look_alike).exists()
    owner = User.objects.get(email="rosa@textiles.pe")
    # (The claim's own pending e-mail, sent now, also goes to the row's current address.)
    assert mailoutbox and all(m.to == ["rosa@textiles.pe"] for m in mailoutbox)
    assert "/cuentas/verificar/" in mailoutbox[-1].body
    assert Supplier.objects.get(ruc=FORM["ruc"]).memberships.get().user == owner


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting how many passwords it hashes: hashing is what makes a new
    registration slow (hundreds of milliseconds with the production hasher)."""

    encoded = 0

    def encode(self, password, salt):
        CountingHasher.encoded += 1
        return super().encode(password, salt)


def test_registration_takes_as_long_for_an_address_with_an_account(client, settings):
    """Registration answers the same whether or not the address has an account (item 13),
    and that includes the time it takes: the password is hashed in both cases."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    UserFactory(email="jefe@entidad.gob.pe")
    work = {}
    for label, email, ruc in (
        ("existing", "jefe@entidad.gob.pe", "20100070970"),
        ("new", "nuevo@textiles.pe", FORM["ruc"]),
    ):
        CountingHasher.encoded = 0
        response = client.post("/cuentas/registro/", {**FORM, "ruc": ruc, "email": email})
        assert response.status_code == 302
        work[label] = CountingHasher.encoded
    assert work["new"] >= 1
    assert work["existing"] == work["new"]


def test_a_password_reset_never_waits_on_the_mail_server(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """Sending inline made the answer for an address with an account as slow as the mail
    server (and the same answer for an unknown address instant): the link goes through the
    outbox, made when it is sent."""
    user = UserFactory(email="proveedor@textiles.pe")
    response = client.post("/cuentas/contrasena/restablecer/", {"email": user.email})
    assert response.status_code == 302
    assert mailoutbox == []
    event = Event.objects.get(kind=EventKind.ACCOUNT_PASSWORD_RESET, object_id=str(user.pk))
    assert event.dispatched_at is None and "token" not in str(event.payload)

    dispatch_pending()
    assert [m.to for m in mailoutbox] == [[user.email]]
    assert "/cuentas/contrasena/restablecer/" in mailoutbox[0].body


PROXY = "10.0.0.2"


def _reset_via_proxy(client, email, forwarded_for):
    return client.post(
        "/cuentas/contrasena/restablecer/",
        {"email": email},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_behind_the_proxy_one_clients_requests_do_not_slow_everyone_down(client, settings):
    """Behind the TLS proxy every request came from the proxy's address: one client's
    requests used up the address allowance of the whole portal."""
    settings.TRUSTED_PROXY_COUNT = 1
    for number in range(21):
        _reset_via_proxy(client, f"nadie{number}@example.pe", "198.51.100.7")
    # That client waits, whatever it writes in front of the address the proxy saw...
    spoofed = _reset_via_proxy(client, "otro@example.pe", "192.0.2.99, 198.51.100.7")
    assert spoofed.status_code == 429
    # ...and another client behind the same proxy does not.
    assert _reset_via_proxy(client, "otro@example.pe", "198.51.100.8").status_code == 302


def test_without_a_trusted_proxy_a_forwarded_for_header_is_ignored(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for number in range(21):
        _reset_via_proxy(client, f"nadie{number}@example.pe", f"192.0.2.{number}")
    assert _reset_via_proxy(client, "otro@example.pe", "192.0.2.200").status_code == 429


def _after_the_wait():
    """Move the clock past any login wait: every counter's last failure goes back in time."""
    cap = throttle.POLICIES["login"]["account"].max_delay
    for counter in ThrottleCounter.objects.all():
        counter.last_failure_at -= timedelta(seconds=cap)
        counter.save()


def test_a_competitor_cannot_keep_a_bidder_out_with_one_guess_each_time_the_wait_ends():
    """One wrong guess whenever the wait ends (a dozen requests an hour, from anywhere) kept
    the account waiting for ever: the capped delay became a lockout in all but name. A
    browser the account has logged in from before keeps its own count."""
    bidder = UserFactory(email="ventas@bidder.pe")
    own_browser, competitor = Client(), Client()
    assert _login(own_browser, bidder.email, TEST_PASSWORD, "198.51.100.20").status_code == 302
    own_browser.post("/cuentas/salir/")  # logging out leaves the browser known

    for attempt in range(30):
        address = f"192.0.2.{attempt}"
        _login(competitor, bidder.email, "guess", address)
        _after_the_wait()
        _login(competitor, bidder.email, "guess", address)
    # Right now the account must wait, for anyone who has not logged in from here...
    response = _login(Client(), bidder.email, TEST_PASSWORD, "198.51.100.20")
    assert response.status_code == 429
    # ...but the bidder's own browser gets in.
    response = _login(own_browser, bidder.email, TEST_PASSWORD, "198.51.100.20")
    assert response.status_code == 302 and own_browser.session["_auth_user_id"] == str(bidder.pk)


def test_a_known_browser_still_slows_down_guesses_made_from_it():
    bidder = UserFactory(email="ventas@bidder.pe")
    browser = Client()
    assert _login(browser, bidder.email, TEST_PASSWORD).status_code == 302
    browser.post("/cuentas/salir/")
    statuses = [_login(browser, bidder.email, "guess").status_code for _ in range(8)]
    assert statuses == [200] * 6 + [429] * 2


def test_a_known_browser_cookie_of_one_account_does_not_help_another():
    bidder, other = UserFactory(), UserFactory()
    browser = Client()
    assert _login(browser, other.email, TEST_PASSWORD).status_code == 302
    browser.post("/cuentas/salir/")
    for _ in range(8):
        _login(Client(), bidder.email, "guess")
    assert _login(browser, bidder.email, TEST_PASSWORD).status_code == 429


class SlowHasher(MD5PasswordHasher):
    """A hasher as slow as the production one, counting the passwords it checks: each check
    is one guess evaluated."""

    checked = 0

    def verify(self, password, encoded):
        SlowHasher.checked += 1
        time.sleep(0.2)
        return super().verify(password, encoded)


@pytest.mark.django_db(transaction=True)
def test_guesses_sent_all_at_once_are_judged_one_after_the_other(settings):
    """Twelve wrong guesses sent at the same moment all passed the check before any of them
    was counted: each time the wait ended, as many guesses as the server has workers."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    settings.PASSWORD_HASHERS = [f"{__name__}.SlowHasher"]
    victim = UserFactory(email="ventas@bidder.pe")
    SlowHasher.checked = 0
    start = threading.Barrier(12)
    statuses = []

    def guess(number):
        try:
            start.wait()
            statuses.append(
                _login(Client(), victim.email, "guess", f"192.0.2.{number}").status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Five free failures and the one that starts the wait; the others wait, unchecked.
    assert SlowHasher.checked == 6
    assert sorted(statuses) == [200] * 6 + [429] * 6
