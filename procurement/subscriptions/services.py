"""Saving, deleting and unsubscribing subscriptions. Each service takes the acting user and
refuses a subscription that is not theirs, whatever the page asked."""

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext as _

from core import secret_addresses
from core.errors import DomainError
from notifications.models import (
    Notice,
    NoticeStatus,
    Subscription,
    SubscriptionCriterion,
    SubscriptionFeed,
    criteria_kinds,
)

from .matching import Criteria

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def _own(actor, subscription: Subscription) -> Subscription:
    owned = Subscription.objects.owned_by(actor).select_for_update().filter(pk=subscription.pk)
    locked = owned.first()
    if locked is None:
        raise DomainError(_("This subscription is not yours."), code="not_owner")
    return locked


@transaction.atomic
def save_subscription(
    *,
    actor,
    criteria: Criteria,
    name: str,
    delivery: str,
    language: str,
    active: bool = True,
    subscription: Subscription | None = None,
) -> Subscription:
    """Create a subscription of `actor`, or replace the criteria of one of theirs (its
    criterion rows, and the kinds of them it holds, which the match reads)."""
    if not getattr(actor, "is_authenticated", False):
        raise DomainError(_("Log in to manage subscriptions."), code="login_required")
    low, high = criteria.min_value, criteria.max_value
    if low is not None and high is not None and low > high:
        raise DomainError(
            _("The minimum value is above the maximum value."),
            field="max_value",
            code="value_range",
        )
    subscription = Subscription(owner=actor) if subscription is None else _own(actor, subscription)
    subscription.name = name.strip()
    subscription.keywords = criteria.keywords.strip()
    subscription.min_value = criteria.min_value
    subscription.max_value = criteria.max_value
    subscription.sme_only = criteria.sme_only
    subscription.delivery = delivery
    subscription.language = language
    subscription.active = active
    rows = criteria.rows()
    subscription.criteria_kinds = criteria_kinds(kind for kind, _value in rows)
    subscription.save()
    if not active:  # a stopped subscription's feed address dies with it
        SubscriptionFeed.objects.filter(subscription=subscription).delete()
    subscription.criteria.all().delete()
    SubscriptionCriterion.objects.bulk_create(
        SubscriptionCriterion(subscription=subscription, field=kind, value=value)
        for kind, value in rows
    )
    return subscription


@transaction.atomic
def delete_subscription(*, actor, subscription: Subscription) -> None:
    """Delete one of `actor`'s subscriptions (its notices stay in the delivery log)."""
    _own(actor, subscription).delete()


def signed_pk(salt: str, key: str, pk: int) -> str:
    """A signed token naming one row (the e-mails' one-click links: unsubscribe, unfollow)."""
    return signing.Signer(salt=salt).sign_object({key: pk}, compress=True)


def unsigned_pk(salt: str, key: str, token: str) -> int | None:
    """The row a signed_pk token names, or None for a token we did not sign."""
    try:
        data = signing.Signer(salt=salt).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    pk = data.get(key) if isinstance(data, dict) else None
    return pk if isinstance(pk, int) else None


def unsubscribe_token(subscription: Subscription) -> str:
    """A signed token that stops `subscription` without logging in (the e-mail's link)."""
    return signed_pk(UNSUBSCRIBE_SALT, "s", subscription.pk)


def subscription_for_token(token: str) -> Subscription | None:
    pk = unsigned_pk(UNSUBSCRIBE_SALT, "s", token)
    return None if pk is None else Subscription.objects.filter(pk=pk).first()


@transaction.atomic
def unsubscribe(*, subscription: Subscription) -> Subscription:
    """Stop a subscription (its owner may turn it on again on the subscriptions page);
    notices still queued for it are not sent, and its feed address stops for good."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    subscription.active = False
    subscription.save(update_fields=["active", "updated_at"])
    SubscriptionFeed.objects.filter(subscription=subscription).delete()
    Notice.objects.filter(subscription=subscription, status=NoticeStatus.QUEUED).update(
        status=NoticeStatus.SKIPPED
    )
    return subscription


# --- The private feed of a subscription -------------------------------------------------------


@transaction.atomic
def regenerate_feed(*, actor, subscription: Subscription) -> str:
    """Give one of `actor`'s subscriptions a new secret feed address and return its secret,
    to be shown once: only its SHA-256 is kept (core.secret_addresses). The old address, if
    any, stops at once."""
    subscription = _own(actor, subscription)
    SubscriptionFeed.objects.filter(subscription=subscription).delete()
    secret, digest = secret_addresses.new_secret()
    SubscriptionFeed.objects.create(subscription=subscription, token_sha256=digest)
    return secret


@transaction.atomic
def revoke_feed(*, actor, subscription: Subscription) -> None:
    """Stop the feed address of one of `actor`'s subscriptions (posting twice is harmless)."""
    SubscriptionFeed.objects.filter(subscription=_own(actor, subscription)).delete()


def subscription_for_feed(token: str) -> Subscription | None:
    """The subscription whose feed address `token` is, while it is active and its owner too;
    None for any other token."""
    row = secret_addresses.row_for_secret(
        SubscriptionFeed.objects.select_related("subscription__owner")
        .prefetch_related("subscription__criteria")
        .filter(subscription__active=True, subscription__owner__is_active=True),
        token,
    )
    return row.subscription if row else None
