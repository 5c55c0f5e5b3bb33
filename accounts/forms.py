import unicodedata

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

# procurement.forms still imports the resolver from here; its home is core.places.
from . import services, throttle
from .models import User


def throttled_error(seconds: int) -> forms.ValidationError:
    return forms.ValidationError(
        ngettext(
            "Too many attempts; wait %(seconds)d second.",
            "Too many attempts; wait %(seconds)d seconds.",
            seconds,
        )
        % {"seconds": seconds},
        code="throttled",
    )


def is_throttled(form) -> bool:
    return any(error.code == "throttled" for error in form.non_field_errors().as_data())


class EmailLoginForm(AuthenticationForm):
    """Login by e-mail; an unverified account is told to confirm its address first. Repeated
    failures for an account or from an address make the next attempt wait (accounts.throttle);
    while it must wait, the password is not even checked."""

    def clean(self):
        keys = throttle.login_keys(self.request, self.cleaned_data.get("username", ""))
        # The refusal is raised after the block: raising inside would roll back its count.
        with throttle.one_at_a_time("login", keys):
            refusal = self._judge(keys)
        if refusal is not None:
            raise refusal
        return self.cleaned_data

    def _judge(self, keys) -> forms.ValidationError | None:
        wait = throttle.check_throttle("login", keys)
        if wait:
            return throttled_error(wait)
        try:
            super().clean()
        except forms.ValidationError as error:
            throttle.record_failure("login", keys)
            email = self.cleaned_data.get("username", "")
            password = self.cleaned_data.get("password", "")
            user = User.objects.filter(email__iexact=email).first()
            if user and user.email_verified_at is None and user.check_password(password):
                return forms.ValidationError(
                    _("Confirm your e-mail address first: we sent you a link when you registered."),
                    code="unverified",
                )
            return error
        throttle.reset_throttle("login", {k: v for k, v in keys.items() if k != "address"})
        return None


def new_password_fields() -> tuple[forms.CharField, forms.CharField]:
    """A new password and its repetition, as every form that sets one asks for them
    (registrations, accepting an invitation): never stripped, at most 4096 characters (the
    hasher's input stays bounded), with the validators' help (check_new_password)."""
    first = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html,
    )
    second = forms.CharField(
        label=_("Repeat the password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    return first, second


def check_new_password(form: forms.Form, cleaned: dict, user: User) -> None:
    """The two passwords of new_password_fields must match and pass the password
    validators for `user` (an unsaved User with the e-mail and name given)."""
    first, second = cleaned.get("password1"), cleaned.get("password2")
    if first and second and first != second:
        form.add_error(
            "password2",
            forms.ValidationError(_("The two passwords do not match."), code="mismatch"),
        )
    elif first:
        try:
            password_validation.validate_password(first, user)
        except forms.ValidationError as error:
            form.add_error("password1", error)


class ConfirmRegistrationForm(forms.Form):
    """Confirming an e-mail address: with the password chosen when registering."""

    password = forms.CharField(
        label=_("The password you chose when registering"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PlainRegistrationForm(forms.Form):
    """A journalist's or citizen's account: an e-mail and a password, no RUC. It follows
    processes and subscribes; it acts for no supplier, so it never registers or bids."""

    full_name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1, password2 = new_password_fields()
    language = forms.ChoiceField(
        label=_("Language of the e-mails"), choices=settings.LANGUAGES, initial="es"
    )

    def clean(self):
        cleaned = super().clean()
        user = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
        check_new_password(self, cleaned, user)
        return cleaned


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of the e-mails"), choices=settings.LANGUAGES)


class PortalPasswordResetForm(PasswordResetForm):
    """Django's reset request, also for active accounts that have no password yet (created
    by an admin who chose to e-mail a set-password link)."""

    def save(self, **kwargs):
        """The link goes through the outbox (accounts.emails.send_password_reset), made when
        it is sent: the answer never waits on the mail server, so its time does not tell
        whether the address has an account."""
        for user in self.get_users(self.cleaned_data["email"]):
            services.send_password_reset_email(user)

    def get_users(self, email):
        wanted = unicodedata.normalize("NFKC", email.strip()).casefold()
        return (
            user
            for user in User.objects.filter(email__iexact=email.strip(), is_active=True)
            # As Django does: the database's case folding may match look-alike addresses.
            if unicodedata.normalize("NFKC", user.email).casefold() == wanted
        )


class PortalSetPasswordForm(SetPasswordForm):
    """Choosing a password through an e-mailed link also proves the address."""

    def save(self, commit=True):
        return services.set_password_from_link(
            self.user, self.cleaned_data["new_password1"], commit=commit
        )


class AdminAccountCreationForm(AdminUserCreationForm):
    """An admin creates an account either with a password (the admin vouches for the
    address: it is marked verified) or without one: the user then gets a set-password link
    by e-mail, and choosing the password confirms the address."""

    class Meta:
        model = User
        fields = ("email", "full_name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["usable_password"].label = _("Password")
        self.fields["usable_password"].choices = [
            ("true", _("Set it now (the address is taken as verified)")),
            ("false", _("E-mail the user a link to choose it")),
        ]
        self.fields["usable_password"].help_text = ""

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this e-mail already exists."), code="unique"
            )
        return email

    def save(self, commit=True):
        user = super().save(commit=False)
        self.sends_set_password_link = not user.has_usable_password()
        if not self.sends_set_password_link:
            user.email_verified_at = timezone.now()
        if commit:
            user.save()
        return user
