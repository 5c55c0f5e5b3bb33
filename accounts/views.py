from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError

from . import services, throttle
from .forms import (
    EmailLoginForm,
    PortalPasswordResetForm,
    PortalSetPasswordForm,
    is_throttled,
    throttled_error,
)

TOO_MANY_REQUESTS = 429


class LoginView(auth_views.LoginView):
    """Django's login with the portal's form; a throttled attempt answers 429."""

    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        throttle.remember_browser(response, form.get_user())
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if is_throttled(form):
            response.status_code = TOO_MANY_REQUESTS
        return response


@require_http_methods(["GET", "POST"])
def verify(request, token):
    """The e-mailed link shows what confirming means (the address and the RUCs registered
    with it) and confirms only on the button's POST: a mail scanner that opens every link, or
    someone who never registered, confirms nothing by following it."""
    try:
        if request.method == "POST":
            services.verify_email(token)
        else:
            user = services.verification_user(token)
    except DomainError as error:
        return render(
            request, "accounts/verify_failed.html", {"message": error.message}, status=400
        )
    if request.method == "GET" and user.email_verified_at is None:
        memberships = user.memberships.filter(supplier__isnull=False).select_related("supplier")
        context = {"email": user.email, "memberships": memberships}
        return render(request, "accounts/verify_confirm.html", context)
    messages.success(request, _("Your e-mail is confirmed. You can log in now."))
    return redirect("accounts:login")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request: the same answer whether or not the address has an account;
    repeated requests for an address or from a client wait (accounts.throttle)."""

    template_name = "accounts/password_reset_form.html"
    form_class = PortalPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        keys = {
            "address": throttle.client_address(self.request),
            "email": form.cleaned_data["email"],
        }
        wait = throttle.check_throttle("password_reset", keys)
        if wait:
            form.add_error(None, throttled_error(wait))
            response = self.form_invalid(form)
            response.status_code = TOO_MANY_REQUESTS
            return response
        throttle.record_failure("password_reset", keys)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = PortalSetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")
    first_password = False

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "first_password": self.first_password}
