"""Notices of an entity's annual procurement plan (issue 13): when a plan is published or
modified, the users whose active subscriptions name the entity (an entity criterion: that is
how one follows an entity) hear of it, once each (notifications.Notice: one per event,
recipient and channel), in their subscription's language, with the one-click link that stops
that subscription.

A plan is announced as the subscription chose: at once, or in the day's digest beside the
new processes."""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from notifications.models import Event, EventKind, Notice

from ..models import PlanVersion
from ..queries import version_diff
from . import notices
from .matching import subscriptions_following_entity

PLAN_KINDS = frozenset({EventKind.PLAN_PUBLISHED, EventKind.PLAN_MODIFIED})

# How many items of each kind of change an e-mail names; the rest are on the changes page.
LISTED_CHANGES = 10


def notify_plan_subscribers(event: Event) -> None:
    """The dispatch handler of PLAN_PUBLISHED and PLAN_MODIFIED: one notice for each owner
    of an active subscription that follows the plan's entity, immediate or for the digest as
    the subscription chose (notices.notify_owners: an immediate one wins)."""
    if event.entity_id is None:
        return
    notices.notify_owners(event, subscriptions_following_entity(event.entity))


def version_of(event: Event) -> PlanVersion | None:
    """The published plan version `event` tells of (None if it is gone); read once per send
    batch (notices.once_per_batch)."""
    return notices.once_per_batch(
        event,
        "plan_version",
        lambda: (
            PlanVersion.objects.select_related("plan__entity")
            .filter(pk=event.object_id, status=PlanVersion.Status.PUBLISHED)
            .first()
        ),
    )


@dataclass
class ChangeList:
    """Some of the items of one kind of change (added, removed or changed), and how many."""

    count: int
    descriptions: list[str]

    @property
    def more(self) -> int:
        return self.count - len(self.descriptions)


def _listed(items) -> ChangeList:
    return ChangeList(len(items), [item.description for item in items[:LISTED_CHANGES]])


def _changes(version: PlanVersion):
    """What changed from the published version before `version` (None for a first one)."""
    previous = (
        version.plan.versions.published()
        .filter(number__lt=version.number)
        .order_by("-number")
        .first()
    )
    if previous is None:
        return None, None
    diff = version_diff(previous, version)
    changed = [change.new for change in diff.changed]
    return previous, {
        "added": _listed(diff.added),
        "removed": _listed(diff.removed),
        "changed": _listed(changed),
        "is_empty": diff.is_empty,
    }


def compose(notice: Notice) -> dict:
    """Subject, template, context and headers of a plan notice (called by
    notices.send_notices inside the subscription's language): the entity, the fiscal year,
    the version, what changed from the version before, and links to the plan's page and
    to its changes."""
    version = version_of(notice.event)
    plan, entity = version.plan, version.plan.entity
    year = plan.fiscal_year_id
    previous, changes = notices.once_per_batch(version, "changes", lambda: _changes(version))
    plan_path = reverse("procurement:plan_detail", args=[entity.ruc, year])
    changes_url = None
    if previous is not None:
        query = urlencode({"desde": previous.number, "hasta": version.number})
        changes_path = reverse("procurement:plan_changes", args=[entity.ruc, year])
        changes_url = f"{settings.SITE_URL}{changes_path}?{query}"
    names = {"entity": entity.name, "year": year, "version": version.number}
    if notice.event.kind == EventKind.PLAN_PUBLISHED:
        subject = _("%(entity)s published its annual procurement plan %(year)s") % names
    else:
        subject = (
            _("%(entity)s modified its annual procurement plan %(year)s (version %(version)s)")
            % names
        )
    url = notices.unsubscribe_url(notice.subscription)
    return {
        "subject": subject,
        "template": "procurement/subscriptions/email/plan_event",
        "context": {
            "entity": entity,
            "year": year,
            "version": version,
            "previous": previous,
            "changes": changes,
            "plan_url": f"{settings.SITE_URL}{plan_path}?{urlencode({'version': version.number})}",
            "changes_url": changes_url,
            "subscription": notice.subscription,
            "unsubscribe_url": url,
            "subscriptions_url": f"{settings.SITE_URL}/cuentas/suscripciones/",
        },
        "headers": notices.unsubscribe_headers(url),
    }


def register_handlers(dispatch) -> None:
    for kind in sorted(PLAN_KINDS):
        dispatch.register(kind, notify_plan_subscribers)
