import unicodedata

from django import forms
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

from core.models import Department, District, FiscalYear
from core.ruc import validate_ruc
from core.text import plain

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
        keys = {
            "account": self.cleaned_data.get("username", ""),
            "address": throttle.client_address(self.request) if self.request else "",
        }
        wait = throttle.check_throttle("login", keys)
        if wait:
            raise throttled_error(wait)
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure("login", keys)
            email = self.cleaned_data.get("username", "")
            password = self.cleaned_data.get("password", "")
            user = User.objects.filter(email__iexact=email).first()
            if user and user.email_verified_at is None and user.check_password(password):
                raise forms.ValidationError(
                    _("Confirm your e-mail address first: we sent you a link when you registered."),
                    code="unverified",
                ) from None
            raise
        throttle.reset_throttle("login", {"account": keys["account"]})
        return cleaned


class PortalPasswordResetForm(PasswordResetForm):
    """Django's reset request, also for active accounts that have no password yet (created
    by an admin who chose to e-mail a set-password link)."""

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


def resolve_district(department: Department, text: str) -> District:
    """The district of `department` named `text` (accents and case ignored); a name shared by
    two provinces is told apart as 'Name (Province)'."""
    wanted = plain(text)
    candidates = list(
        District.objects.filter(province__department=department).select_related("province")
    )
    matches = [d for d in candidates if plain(d.name) == wanted]
    if not matches:
        matches = [d for d in candidates if plain(f"{d.name} ({d.province.name})") == wanted]
    if len(matches) == 1:
        return matches[0]
    if matches:
        options = ", ".join(f"{d.name} ({d.province.name})" for d in matches)
        raise forms.ValidationError(
            _("Several districts have that name; write one of: %(options)s.") % {"options": options}
        )
    similar = [d for d in candidates if wanted and wanted in plain(d.name)][:8]
    if similar:
        options = ", ".join(d.name for d in similar)
        raise forms.ValidationError(
            _("No district of %(department)s has that exact name. Did you mean: %(options)s?")
            % {"department": department.name, "options": options}
        )
    raise forms.ValidationError(
        _("No district of %(department)s has that name.") % {"department": department.name}
    )


class SupplierRegistrationForm(forms.Form):
    ruc = forms.CharField(label=_("RUC"), max_length=11, min_length=11, validators=[validate_ruc])
    legal_name = forms.CharField(
        label=_("Legal name"),
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    department = forms.ModelChoiceField(
        label=_("Department of the registered address"),
        queryset=Department.objects.all(),
        empty_label=_("Choose the department"),
    )
    district = forms.CharField(
        label=_("District"),
        max_length=120,
        help_text=_("For example: Miraflores, Wanchaq, Cerro Colorado."),
    )
    full_name = forms.CharField(
        label=_("Your full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Repeat the password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    sales_year = forms.TypedChoiceField(label=_("Year of the declared sales"), coerce=int)
    annual_sales = forms.DecimalField(
        label=_("Annual sales (S/)"), min_value=0, max_value=10**13, max_digits=16, decimal_places=2
    )
    workers = forms.IntegerField(label=_("Workers"), min_value=0, max_value=1_000_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Sales are declared for a closed year with official parameters, newest first.
        closed = FiscalYear.objects.filter(year__lt=timezone.localdate().year, provisional=False)
        self.fields["sales_year"].choices = [
            (year, str(year)) for year in closed.order_by("-year").values_list("year", flat=True)
        ]
        self.fields[
            "password1"
        ].help_text = password_validation.password_validators_help_text_html()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("department") and cleaned.get("district"):
            try:
                cleaned["domicile"] = resolve_district(cleaned["department"], cleaned["district"])
            except forms.ValidationError as error:
                self.add_error("district", error)
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords do not match."))
        elif first:
            user = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(first, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
