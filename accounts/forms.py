from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Department, District, FiscalYear
from core.ruc import validate_ruc
from core.text import plain

from .models import User


class EmailLoginForm(AuthenticationForm):
    """Login by e-mail; an unverified account is told to confirm its address first."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            email = self.cleaned_data.get("username", "")
            password = self.cleaned_data.get("password", "")
            user = User.objects.filter(email__iexact=email).first()
            if user and user.email_verified_at is None and user.check_password(password):
                raise forms.ValidationError(
                    _("Confirm your e-mail address first: we sent you a link when you registered."),
                    code="unverified",
                ) from None
            raise


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
