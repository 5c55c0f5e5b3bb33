from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from notifications.models import CalendarToken, Subscription

from ..models import ProcurementProcess
from . import follows, matching, suggestions
from . import services as subscriptions
from .forms import SubscriptionForm


@login_required
def subscription_list(request):
    return _subscription_page(request)


def _subscription_page(request, *, new_feed: tuple[int, str] | None = None):
    """The user's subscriptions, each saying whether it has a feed address. Only the
    address's SHA-256 is kept, so an address is shown once: `new_feed` (the subscription's
    pk and the secret) on the answer to the POST that made it, never cached."""
    owned = list(
        Subscription.objects.owned_by(request.user)
        .select_related("feed")
        .prefetch_related("criteria")
    )
    for subscription in owned:
        subscription.feed_url = (
            request.build_absolute_uri(reverse("subscription_feed", args=[new_feed[1]]))
            if new_feed and new_feed[0] == subscription.pk
            else None
        )
    context = {"subscriptions": owned}
    if not owned:
        context["suggestion"] = suggestions.suggested_subscription(request.user)
    response = render(request, "procurement/subscriptions/subscription_list.html", context)
    if new_feed:
        response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def subscription_feed_address(request, pk):
    """`action=new`: a new secret feed address for the subscription (the old one stops),
    shown on the page this POST answers, the only time it is shown; `action=revoke`: no
    feed address any more."""
    subscription = _own_or_404(request, pk)
    action = request.POST.get("action")
    if action not in ("new", "revoke"):
        return HttpResponseBadRequest(_("Ask for a new feed address, or stop the feed."))
    if action == "revoke":
        subscriptions.revoke_feed(actor=request.user, subscription=subscription)
        messages.success(
            request,
            _("The feed address of “%(name)s” no longer works.") % {"name": subscription.name},
        )
        return redirect("subscriptions:subscription_list")
    secret = subscriptions.regenerate_feed(actor=request.user, subscription=subscription)
    messages.success(
        request,
        _("“%(name)s” has a new feed address: the old one, if any, no longer works.")
        % {"name": subscription.name},
    )
    return _subscription_page(request, new_feed=(subscription.pk, secret))


def _own_or_404(request, pk) -> Subscription:
    return get_object_or_404(
        Subscription.objects.owned_by(request.user).prefetch_related("criteria"), pk=pk
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_create(request):
    return _edit(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def subscription_edit(request, pk):
    return _edit(request, _own_or_404(request, pk))


def _edit(request, subscription: Subscription | None):
    """The form and its preview: "Preview" shows what the subscription would have caught in
    the last 30 days without saving; "Save" saves it."""
    data = request.POST if request.method == "POST" else None
    suggestion = None
    if subscription is None and data is None and request.GET.get("sugerida"):
        suggestion = suggestions.suggested_subscription(request.user)
    form = SubscriptionForm.for_subscription(subscription, data, suggestion=suggestion)
    caught = None
    if data is not None and form.is_valid():
        criteria = form.criteria()
        if request.POST.get("action") == "preview":
            caught = list(matching.preview(criteria)[: matching.PREVIEW_LIMIT])
        else:
            try:
                subscriptions.save_subscription(
                    actor=request.user,
                    subscription=subscription,
                    criteria=criteria,
                    name=form.cleaned_data["name"],
                    delivery=form.cleaned_data["delivery"],
                    language=form.cleaned_data["language"],
                    active=form.cleaned_data.get("active", True),
                )
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(request, _("The subscription is saved."))
                return redirect("subscriptions:subscription_list")
    status = 400 if data is not None and not form.is_valid() else 200
    context = {
        "form": form,
        "subscription": subscription,
        "suggestion": suggestion,
        "caught": caught,
        "preview_days": matching.PREVIEW_DAYS,
        "preview_limit": matching.PREVIEW_LIMIT,
    }
    return render(
        request, "procurement/subscriptions/subscription_form.html", context, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_delete(request, pk):
    subscription = _own_or_404(request, pk)
    if request.method == "POST":
        subscriptions.delete_subscription(actor=request.user, subscription=subscription)
        messages.success(request, _("The subscription is deleted."))
        return redirect("subscriptions:subscription_list")
    return render(
        request,
        "procurement/subscriptions/subscription_delete.html",
        {"subscription": subscription},
    )


# A mail client's one-click unsubscribe (RFC 8058) posts with no cookie and no CSRF token:
# the signed token in the address is the authorisation.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET shows what the link stops and a button; POST (the button, or the mail client's
    List-Unsubscribe-Post) stops it. No login: the signed token names the subscription."""
    subscription = subscriptions.subscription_for_token(token)
    if subscription is None:
        raise Http404(_("This unsubscribe link is not valid."))
    done = False
    if request.method == "POST":
        subscriptions.unsubscribe(subscription=subscription)
        done = True
    return render(
        request,
        "procurement/subscriptions/unsubscribe.html",
        {"subscription": subscription, "done": done, "token": token},
    )


# --- Follows ----------------------------------------------------------------------------------


@login_required
@require_POST
def process_follow(request, identifier):
    """The process page's button: `action=follow` or `action=unfollow`. Posting
    twice changes nothing; the answer goes back to where the button was."""
    process = get_object_or_404(ProcurementProcess.objects.public(), identifier=identifier)
    action = request.POST.get("action")
    if action not in ("follow", "unfollow"):
        return HttpResponseBadRequest(_("Choose to follow or to stop following."))
    if action == "unfollow":
        follows.unfollow_process(actor=request.user, process=process)
        messages.success(request, _("You no longer follow this process."))
    else:
        try:
            follows.follow_process(actor=request.user, process=process)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("You follow this process: we will e-mail you its amendments and outcome."),
            )
    if request.POST.get("next") == "list":
        return redirect("followed_list")
    return redirect("procurement:process_detail", identifier=process.identifier)


@login_required
def followed_list(request):
    """Mis procesos seguidos: the processes the user follows, each with a button to stop."""
    return _followed_page(request)


def _followed_page(request, *, new_calendar_secret: str | None = None):
    """The followed processes and the calendar address. Only the address's SHA-256 is kept,
    so the address is shown once: on the answer to the POST that made it, never cached."""
    page = Paginator(follows.followed_processes(request.user), 50).get_page(request.GET.get("page"))
    calendar_url = (
        request.build_absolute_uri(reverse("private_calendar", args=[new_calendar_secret]))
        if new_calendar_secret
        else None
    )
    response = render(
        request,
        "procurement/follows/followed_list.html",
        {
            "page": page,
            "calendar_url": calendar_url,
            "calendar_token": CalendarToken.objects.filter(user=request.user).first(),
        },
    )
    if calendar_url:
        response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def calendar_token(request):
    """Create, or replace, the user's secret calendar address (the old one stops at once),
    shown on the page this POST answers, the only time it is shown."""
    secret = follows.regenerate_calendar_token(actor=request.user)
    messages.success(request, _("Your calendar address is new: the old one no longer works."))
    return _followed_page(request, new_calendar_secret=secret)


# A mail client's one-click unsubscribe (RFC 8058) posts with no cookie and no CSRF token:
# the signed token in the address is the authorisation.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unfollow_link(request, token):
    """GET shows which process the link stops following and a button; POST (the button, or
    the mail client's List-Unsubscribe-Post) stops it. A used link answers 404."""
    follow = follows.follow_for_token(token)
    if follow is None:
        raise Http404(_("This link is not valid, or you no longer follow the process."))
    done = False
    if request.method == "POST":
        follows.unfollow_by_token(follow=follow)
        done = True
    return render(
        request,
        "procurement/follows/unfollow.html",
        {"process": follow.process, "done": done, "token": token},
    )
