from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError

from . import services, throttle
from .forms import (
    ConfirmRegistrationForm,
    EmailLoginForm,
    LanguageForm,
    PlainRegistrationForm,
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
    with it) and confirms only when the form is posted with the password chosen at
    registration: a mail scanner that opens every link confirms nothing, and the owner of a
    mailbox someone else registered cannot be led to confirm that person's claim."""
    try:
        user = services.verification_user(token)
    except DomainError as error:
        return render(
            request, "accounts/verify_failed.html", {"message": error.message}, status=400
        )
    if user.email_verified_at is not None:
        return _confirmed(request)
    form = ConfirmRegistrationForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.verify_email(token, password=form.cleaned_data["password"])
        except DomainError as error:
            error.add_to(form)
        else:
            return _confirmed(request)
    memberships = user.memberships.filter(supplier__isnull=False).select_related("supplier")
    context = {"email": user.email, "memberships": memberships, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/verify_confirm.html", context, status=status)


def _confirmed(request):
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


def registration_page(request, form, template: str, register, sent_url: str):
    """The one flow of every self-registration form (a supplier's, a plain account's): a
    valid form is throttled by address and e-mail ("register": every registration sends an
    e-mail), `register(cleaned_data)` calls the service, and the answer is the "check your
    e-mail" page, the same whether or not the address already has an account (the services
    tell its owner instead)."""
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        keys = {"address": throttle.client_address(request), "email": data["email"]}
        wait = throttle.check_throttle("register", keys)
        if wait:
            form.add_error(None, throttled_error(wait))
            status = TOO_MANY_REQUESTS
        else:
            throttle.record_failure("register", keys)  # every registration sends an e-mail
            try:
                register(data)
            except DomainError as error:
                error.add_to(form)
            else:
                return redirect(sent_url)
    if request.method == "POST" and status == 200:
        status = 400
    return render(request, template, {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def register_plain(request):
    """A plain account (journalists, citizens): e-mail and password, no RUC."""
    initial = {"language": request.LANGUAGE_CODE if request.LANGUAGE_CODE else "es"}
    form = PlainRegistrationForm(request.POST or None, initial=initial)
    return registration_page(
        request,
        form,
        "accounts/register_plain.html",
        lambda data: services.register_plain_account(
            email=data["email"],
            password=data["password1"],
            full_name=data["full_name"],
            language=data["language"],
        ),
        "accounts:plain_registration_sent",
    )


def plain_registration_sent(request):
    return render(request, "accounts/plain_registration_sent.html")


@login_required
@require_POST
def email_language(request):
    """The language of the notices e-mailed to the user (the form is on the followed
    processes' page); back to where the form was."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose a language of the list."))
    services.set_language(actor=request.user, language=form.cleaned_data["language"])
    messages.success(request, _("Your e-mails will be written in the language you chose."))
    return redirect("followed_list")
