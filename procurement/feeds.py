"""Feeds: the Atom feed of newly published processes, filtered by the same query parameters
as the process search (procurement.filters.ProcessFilter), and one process's calendar as
iCalendar (RFC 5545) for any calendar application."""

from datetime import UTC, datetime, timedelta

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core import formatting
from core.filtering import invalid_export
from notifications.email import site_host
from procurement.filters import ProcessFilter
from procurement.models import ProcurementProcess
from procurement.queries import public_processes

FEED_SIZE = 50


def process_feed(request):
    """/feeds/procesos/: the FEED_SIZE latest published processes the query selects; bad
    filters are a 400 naming them, as the CSV export does."""
    process_filter = ProcessFilter(request.GET, queryset=public_processes())
    if (bad := invalid_export(process_filter)) is not None:
        return bad
    search = reverse("procurement:process_list")
    query = request.GET.urlencode()
    return _atom(
        request,
        title=_("Published selection processes"),
        link=request.build_absolute_uri(f"{search}?{query}" if query else search),
        description=_("Newly published selection processes of the procurement portal"),
        processes=process_filter.qs.order_by("-published_at", "-pk")[:FEED_SIZE],
    )


def subscription_feed(request, token):
    """/feeds/suscripciones/<token>/: the FEED_SIZE latest published processes one
    subscription matches (the same rule as its e-mails), for a feed reader; 404 for any
    other token, or once the subscription is stopped or the address revoked. The token is
    the authorisation."""
    from procurement.subscriptions.matching import Criteria, processes_for_criteria
    from procurement.subscriptions.services import subscription_for_feed

    subscription = subscription_for_feed(token)
    if subscription is None:
        raise Http404(_("This feed address is not valid."))
    processes = processes_for_criteria(Criteria.of(subscription))[:FEED_SIZE]
    with translation.override(subscription.language):  # as its e-mails: a reader sends none
        response = _atom(
            request,
            title=_("Subscription: %(name)s") % {"name": subscription.name},
            link=request.build_absolute_uri(reverse("procurement:process_list")),
            description=_("Newly published selection processes matching a subscription"),
            processes=processes,
        )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _atom(request, *, title, link, description, processes) -> HttpResponse:
    """An Atom feed of `processes` (with their entity), one entry each linking to its page."""
    feed = Atom1Feed(
        title=title,
        link=link,
        description=description,
        language=get_language(),
        feed_url=request.build_absolute_uri(),
        feed_guid=request.build_absolute_uri(),
    )
    for process in processes:
        entry = request.build_absolute_uri(
            reverse("procurement:process_detail", args=[process.identifier])
        )
        summary = _("%(entity)s · %(object)s · %(value)s") % {
            "entity": process.entity.name,
            "object": process.get_object_type_display(),
            "value": formatting.money(process.estimated_value),
        }
        if process.sme_only:
            summary += " · " + _("SMEs only")
        feed.add_item(
            title=f"{process.identifier}: {process.description}",
            link=entry,
            description=summary,
            unique_id=entry,
            pubdate=process.published_at,
            updateddate=process.published_at,
            author_name=process.entity.name,
            categories=[process.get_procedure_type_display(), process.get_object_type_display()],
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    return response


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545 3.1: lines longer than 75 octets continue on the next line after a space."""
    data, parts = line.encode(), []
    while len(data) > 75:
        cut = 75 if not parts else 74
        while (data[cut] & 0xC0) == 0x80:  # never inside a UTF-8 sequence
            cut -= 1
        parts.append(data[:cut].decode())
        data = data[cut:]
    parts.append(data.decode())
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _vevent(stage, link: str, host: str, stamp: str) -> list[str]:
    process = stage.process
    summary = f"{stage.get_stage_display()}: {process.identifier}"
    description = f"{process.description}\n{process.entity.name}\n{link}"
    if stage.closing_time:
        description = (
            _("Closes at %(moment)s") % {"moment": formatting.moment(stage.closes_at)}
            + "\n"
            + description
        )
    return [
        "BEGIN:VEVENT",
        f"UID:{process.pk}-{stage.stage}@{host}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{stage.start:%Y%m%d}",
        f"DTEND;VALUE=DATE:{stage.end + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(description)}",
        f"URL:{link}",
        "END:VEVENT",
    ]


def _calendar_response(request, name: str, stages, filename: str) -> HttpResponse:
    """An iCalendar of `stages`: each all day from its first to its last day, a deadline's
    closing hour named."""
    host = site_host()
    stamp = _utc(timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Portal de Compras Publicas//Calendario de procesos//ES",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for stage in stages:
        link = request.build_absolute_uri(
            reverse("procurement:process_detail", args=[stage.process.identifier])
        )
        lines += _vevent(stage, link, host, stamp)
    lines.append("END:VCALENDAR")
    body = "\r\n".join(_fold(line) for line in lines) + "\r\n"
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def process_calendar(request, identifier):
    """/procesos/<identifier>/calendario.ics: one event per stage of a published process's
    calendar, all day from its first to its last day; a deadline's closing hour is named."""
    process = get_object_or_404(
        ProcurementProcess.objects.published().select_related("entity"), identifier=identifier
    )
    stages = list(process.stages.order_by("position"))
    for stage in stages:
        stage.process = process
    return _calendar_response(request, process.identifier, stages, f"{process.identifier}.ics")


def private_calendar(request, token):
    """/calendario/<token>.ics: the deadlines and openings of the processes the token's owner
    follows or takes part in, for any calendar application; 404 for any other token. The
    token is the authorisation: it is never logged in a page and is regenerated from the
    followed processes' page."""
    from procurement.subscriptions.follows import calendar_owner, calendar_stages

    user = calendar_owner(token)
    if user is None:
        raise Http404(_("This calendar address is not valid."))
    response = _calendar_response(
        request, _("My procurement deadlines"), calendar_stages(user), "plazos.ics"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
