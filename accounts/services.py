"""Account changes: e-mail verification, passwords chosen through e-mailed links, and the
notices that keep registration from revealing which addresses have accounts."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from core import audit, clock
from core.errors import DomainError
from notifications import events
from notifications.models import EventKind

from .models import User
from .signals import email_verified

_VERIFY_SALT = "accounts.email-verification"


def verification_token(user: User) -> str:
    # Bound to this registration (date_joined): a lapsed claim's old link never confirms the
    # account that replaced it.
    return signing.dumps(
        {"user": user.pk, "email": user.email, "joined": user.date_joined.isoformat()},
        salt=_VERIFY_SALT,
    )


def verification_url(user: User) -> str:
    return settings.SITE_URL + reverse("accounts:verify", args=[verification_token(user)])


@transaction.atomic
def send_verification_email(user: User) -> None:
    """Record the verification e-mail in the outbox, in the transaction of the registration:
    it is sent if and only if the registration commits, even if the broker is down then."""
    events.record_message(EventKind.ACCOUNT_VERIFICATION, user)


def verification_user(token: str, *, lock: bool = False) -> User:
    """The account a signed, unexpired verification token names (valid for
    EMAIL_VERIFICATION_MAX_AGE seconds), without changing it: the link's page shows what
    confirming means before anything happens."""
    try:
        payload = signing.loads(
            token, salt=_VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE
        )
    except signing.SignatureExpired:
        raise DomainError(_("This verification link has expired. Register again.")) from None
    except signing.BadSignature:
        raise DomainError(_("This verification link is not valid.")) from None
    users = User.objects.select_for_update() if lock else User.objects
    user = users.filter(pk=payload["user"], email=payload["email"]).first()
    # Links sent before they carried "joined" stay valid until they expire.
    if user is None or payload.get("joined", user.date_joined.isoformat()) != (
        user.date_joined.isoformat()
    ):
        raise DomainError(_("This verification link is not valid."))
    return user


@transaction.atomic
def verify_email(token: str, *, password: str) -> User:
    """Activate the account named by a signed, unexpired token, given the password chosen
    at registration: the link proves the mailbox, the password proves that its owner is the
    one who registered (otherwise someone could register a company's RUC with its mailbox and
    wait for the company to confirm). Using a token twice is harmless."""
    user = verification_user(token, lock=True)
    if user.email_verified_at is None and not user.check_password(password):
        raise DomainError(
            _(
                "That is not the password chosen when registering. If you did not register, "
                "do not confirm; if you forgot it, register again once this registration lapses."
            ),
            code="wrong_password",
            field="password",
        )
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
        user.is_active = True
        user.save(update_fields=["email_verified_at", "is_active"])
        audit.record(user, "account.email_verified", user)
        # The supplier registry brings the user's registrations into force (suppliers.apps).
        email_verified.send(sender=User, user=user)
    return user


def set_password_url(user: User) -> str:
    """A one-time link (Django's password reset token) to choose a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("accounts:set_password", args=[uid, token])


@transaction.atomic
def send_set_password_email(user: User) -> None:
    """Record (outbox) the set-password link for an account an admin created without a
    password."""
    events.record_message(EventKind.ACCOUNT_SET_PASSWORD, user)


@transaction.atomic
def send_password_reset_email(user: User) -> None:
    """Record (outbox) a password reset link for the account: the request answers at once,
    the same whether or not the address has an account, and never waits on the mail server."""
    events.record_message(EventKind.ACCOUNT_PASSWORD_RESET, user)


@transaction.atomic
def send_registration_attempt_notice(user: User) -> None:
    """Tell the owner of an existing account that someone tried to register with the
    address (registration answers the same whether or not the address has an account);
    recorded in the outbox."""
    events.record_message(EventKind.ACCOUNT_REGISTRATION_ATTEMPT, user)


@transaction.atomic
def set_password_from_link(user: User, password: str, *, commit: bool = True) -> User:
    """Set the password chosen through an e-mailed link (reset or first password); the link
    reached the mailbox, so the address counts as verified."""
    user.set_password(password)
    fields = ["password"]
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
        fields.append("email_verified_at")
    if commit:
        user.save(update_fields=fields)
        audit.record(user, "account.password_set", user, {"via": "e-mailed link"})
    return user


def lapsed_plain_claims():
    """Plain accounts that are nothing but a lapsed registration: made by the public form,
    never confirmed, never logged in, inactive, older than the verification link, with no
    membership at all. Only these may be replaced by a new registration of the address."""
    return User.objects.filter(
        self_registered=True,
        email_verified_at__isnull=True,
        last_login__isnull=True,
        is_active=False,
        is_staff=False,
        is_superuser=False,
        memberships__isnull=True,
        date_joined__lt=clock.now() - timedelta(seconds=settings.EMAIL_VERIFICATION_MAX_AGE),
    )


def register_plain_account(
    *, email: str, password: str, full_name: str = "", language: str = "es"
) -> User | None:
    """A journalist's or citizen's self-registration (e-mail only, no RUC): the account can
    log in once the address is confirmed with the password chosen here, and never acts for
    a supplier (no membership). As the supplier registration does, it never touches an
    existing account: its owner is told by e-mail and None is returned, so the answer (and
    its time) is the same whether or not the address has an account."""
    email = email.strip().lower()
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(email__iexact=email).first()
            if user is not None and not lapsed_plain_claims().filter(pk=user.pk).exists():
                if user.self_registered and user.email_verified_at is None and not user.is_active:
                    send_verification_email(user)  # its own registration, still to confirm
                else:
                    send_registration_attempt_notice(user)
                make_password(password)  # the work a new account costs
                return None
            if user is None:
                user = User(email=email, self_registered=True)
            user.email = email
            user.full_name, user.language = full_name.strip(), language
            user.is_active, user.date_joined = False, clock.now()
            user.set_password(password)
            user.save()
            audit.record(user, "account.registered", user, {"kind": "plain"})
            send_verification_email(user)
    except IntegrityError:
        raise DomainError(
            _("This e-mail has just been registered."), code="registration_race"
        ) from None
    return user


@transaction.atomic
def set_language(*, actor: User, language: str) -> User:
    """The language of the notices the portal e-mails `actor` (one of settings.LANGUAGES)."""
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Choose a language of the list."), field="language", code="language")
    User.objects.filter(pk=actor.pk).update(language=language)
    actor.language = language
    return actor
