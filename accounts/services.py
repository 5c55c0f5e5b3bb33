"""Account changes: e-mail verification."""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.errors import DomainError

from .models import User

_VERIFY_SALT = "accounts.email-verification"


def verification_token(user: User) -> str:
    return signing.dumps({"user": user.pk, "email": user.email}, salt=_VERIFY_SALT)


def verification_url(user: User) -> str:
    return settings.SITE_URL + reverse("accounts:verify", args=[verification_token(user)])


def send_verification_email(user: User) -> None:
    """Queue the verification e-mail once the registration has committed."""
    from .tasks import send_verification_email as task

    # robust: a mail server hiccup must not turn a committed registration into an error page.
    transaction.on_commit(lambda: task.delay(user.pk), robust=True)


@transaction.atomic
def verify_email(token: str) -> User:
    """Activate the account named by a signed, unexpired token (valid for
    EMAIL_VERIFICATION_MAX_AGE seconds). Using a token twice is harmless."""
    try:
        payload = signing.loads(
            token, salt=_VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE
        )
    except signing.SignatureExpired:
        raise DomainError(_("This verification link has expired. Register again.")) from None
    except signing.BadSignature:
        raise DomainError(_("This verification link is not valid.")) from None
    user = (
        User.objects.select_for_update().filter(pk=payload["user"], email=payload["email"]).first()
    )
    if user is None:
        raise DomainError(_("This verification link is not valid."))
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.is_active = True
        user.save(update_fields=["email_verified_at", "is_active"])
        audit.record(user, "account.email_verified", user)
        from suppliers.services import activate_registration

        activate_registration(user)
    return user
