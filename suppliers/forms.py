"""Forms of the supplier registration, the supplier's self-service pages and the ownership
dispute."""

import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.forms import check_new_password, new_password_fields
from accounts.models import User
from core import formatting
from core.models import CatalogItem, Department, District, FiscalYear
from core.places import resolve_district
from core.ruc import validate_ruc

from . import services
from .models import Supplier, validate_dni

_CODE = re.compile(r"[0-9]{8}", re.ASCII)
_SEPARATORS = re.compile(r"[\s,;]+")


class SupplierProfileForm(forms.Form):
    trade_name = forms.CharField(label=_("Trade name"), max_length=255, required=False)
    address = forms.CharField(
        label=_("Address"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    email = forms.EmailField(label=_("Contact e-mail"), max_length=254, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    representative_name = forms.CharField(
        label=_("Legal representative"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    representative_dni = forms.CharField(
        label=_("Legal representative's DNI"),
        max_length=8,
        required=False,
        validators=[validate_dni],
        help_text=_("8 digits."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    domicile = forms.CharField(
        label=_("Domicile (UBIGEO)"),
        min_length=6,
        max_length=6,
        help_text=_("The district's 6-digit INEI code, for example 150122 (Miraflores, Lima)."),
    )
    categories = forms.CharField(
        label=_("Catalog categories"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "The 8-digit catalog codes of what you supply, separated by spaces or commas "
            "(for example 44121701 43211503)."
        ),
    )

    @classmethod
    def for_supplier(cls, supplier: Supplier, data=None):
        initial = {
            "trade_name": supplier.trade_name,
            "address": supplier.address,
            "email": supplier.email,
            "phone": supplier.phone,
            "representative_name": supplier.representative_name,
            "representative_dni": supplier.representative_dni,
            "domicile": supplier.domicile_id,
            "categories": " ".join(
                supplier.categories.order_by("code").values_list("code", flat=True)
            ),
        }
        return cls(data, initial=initial)

    def clean_domicile(self):
        code = self.cleaned_data["domicile"].strip()
        district = District.objects.filter(code=code).first() if _UBIGEO.fullmatch(code) else None
        if district is None:
            raise forms.ValidationError(
                _("There is no district with that UBIGEO code."), code="unknown"
            )
        return district

    def clean_categories(self):
        codes = [code for code in _SEPARATORS.split(self.cleaned_data["categories"]) if code]
        codes = list(dict.fromkeys(codes))
        if len(codes) > services.MAX_CATEGORIES:
            raise forms.ValidationError(
                _("Declare at most %(max)s catalog categories.")
                % {"max": formatting.number(services.MAX_CATEGORIES)},
                code="too_many",
            )
        malformed = [code for code in codes if not _CODE.fullmatch(code)]
        items = CatalogItem.objects.in_bulk([code for code in codes if code not in malformed])
        unknown = malformed + [
            code for code in codes if code not in malformed and code not in items
        ]
        if unknown:
            shown = ", ".join(code[:12] for code in unknown[:10])
            raise forms.ValidationError(
                _("These are not catalog codes: %(codes)s.") % {"codes": shown}, code="unknown"
            )
        return [items[code] for code in codes]


_UBIGEO = re.compile(r"[0-9]{6}", re.ASCII)


class SizeDeclarationForm(forms.Form):
    sales_year = forms.TypedChoiceField(label=_("Year of the declared sales"), coerce=int)
    annual_sales = forms.DecimalField(
        label=_("Annual sales (S/)"), min_value=0, max_value=10**13, max_digits=16, decimal_places=2
    )
    workers = forms.IntegerField(label=_("Workers"), min_value=0, max_value=1_000_000)

    def __init__(self, *args, supplier: Supplier, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sales_year"].choices = [
            (year, str(year)) for year in services.declarable_sales_years(supplier)
        ]


class RenewalRequestForm(forms.Form):
    """Nothing to fill: the button says it all (the form carries the CSRF token)."""


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Your colleague's e-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class AcceptInvitationForm(forms.Form):
    """Accepting an invitation by choosing a password, for an address without an account."""

    full_name = forms.CharField(
        label=_("Your full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password1, password2 = new_password_fields()

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        check_new_password(
            self, cleaned, User(email=self.email, full_name=cleaned.get("full_name", ""))
        )
        return cleaned


class AcceptAsMemberForm(forms.Form):
    """Accepting an invitation with the account one is logged in as."""


class OwnershipDisputeForm(forms.Form):
    statement = forms.CharField(
        label=_("Why is this RUC yours?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Say who you are in the company and how the administrators can check it (for "
            "example, the company's e-mail domain or a phone number listed with SUNAT)."
        ),
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
    password1, password2 = new_password_fields()
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

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("department") and cleaned.get("district"):
            try:
                cleaned["domicile"] = resolve_district(cleaned["department"], cleaned["district"])
            except forms.ValidationError as error:
                self.add_error("district", error)
        user = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
        check_new_password(self, cleaned, user)
        return cleaned
