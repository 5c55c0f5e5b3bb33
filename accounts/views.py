from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from suppliers.services import register_supplier

from . import services
from .forms import SupplierRegistrationForm


@require_http_methods(["GET", "POST"])
def register(request):
    """Supplier self-registration; the account works once the e-mail is confirmed."""
    form = SupplierRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            register_supplier(
                ruc=data["ruc"],
                legal_name=data["legal_name"],
                domicile=data["domicile"],
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                sales_year=data["sales_year"],
                annual_sales=data["annual_sales"],
                workers=data["workers"],
            )
        except DomainError as error:
            error.add_to(form)
        else:
            return redirect("accounts:registration_sent")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/register.html", {"form": form}, status=status)


def registration_sent(request):
    return render(request, "accounts/registration_sent.html")


def verify(request, token):
    try:
        services.verify_email(token)
    except DomainError as error:
        return render(
            request, "accounts/verify_failed.html", {"message": error.message}, status=400
        )
    messages.success(request, _("Your e-mail is confirmed. You can log in now."))
    return redirect("accounts:login")
