from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from core.models import District, FiscalYear
from core.ruc import validate_ruc

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


def _district_choices():
    """Districts grouped by department and province, for a select that needs no JavaScript."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for district in District.objects.select_related("province__department").order_by(
        "province__department__name", "province__name", "name"
    ):
        label = f"{district.province.department.name} / {district.province.name}"
        groups.setdefault(label, []).append((district.code, district.name))
    return [("", "---------")] + list(groups.items())


class SupplierRegistrationForm(forms.Form):
    ruc = forms.CharField(label=_("RUC"), max_length=11, min_length=11, validators=[validate_ruc])
    legal_name = forms.CharField(label=_("Legal name"), max_length=255)
    domicile = forms.ChoiceField(label=_("District of the registered address"))
    full_name = forms.CharField(label=_("Your full name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"))
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Repeat the password"), widget=forms.PasswordInput, strip=False)
    sales_year = forms.TypedChoiceField(label=_("Year of the declared sales"), coerce=int)
    annual_sales = forms.DecimalField(
        label=_("Annual sales (S/)"), min_value=0, max_digits=16, decimal_places=2
    )
    workers = forms.IntegerField(label=_("Workers"), min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domicile"].choices = lazy(_district_choices, list)()
        self.fields["sales_year"].choices = [
            (year, str(year)) for year in FiscalYear.objects.values_list("year", flat=True)
        ]
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean_domicile(self):
        district = District.objects.filter(code=self.cleaned_data["domicile"]).first()
        if district is None:
            raise forms.ValidationError(_("Choose a district from the list."))
        return district

    def clean(self):
        cleaned = super().clean()
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
