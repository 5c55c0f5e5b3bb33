from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role, User
from accounts.permissions import can_act_for_supplier, require_supplier_user
from accounts.views import registration_page
from core import clock
from core.breadcrumbs import Crumb, department_crumb, trail
from core.errors import DomainError
from core.filtering import filter_status

from . import services
from .filters import SupplierFilter
from .forms import (
    AcceptAsMemberForm,
    AcceptInvitationForm,
    InvitationForm,
    OwnershipDisputeForm,
    RenewalRequestForm,
    SizeDeclarationForm,
    SupplierProfileForm,
    SupplierRegistrationForm,
)
from .models import RenewalRequest, Supplier, SupplierInvitation


@require_http_methods(["GET", "POST"])
def register(request):
    """Supplier self-registration (accounts.views.registration_page: throttled, the same
    answer whether or not the e-mail has an account); it works once the e-mail is confirmed."""
    return registration_page(
        request,
        SupplierRegistrationForm(request.POST or None),
        "suppliers/register.html",
        lambda data: services.register_supplier(
            ruc=data["ruc"],
            legal_name=data["legal_name"],
            domicile=data["domicile"],
            email=data["email"],
            password=data["password1"],
            full_name=data["full_name"],
            sales_year=data["sales_year"],
            annual_sales=data["annual_sales"],
            workers=data["workers"],
        ),
        "accounts:registration_sent",
    )


def registration_sent(request):
    return render(request, "suppliers/registration_sent.html")


def supplier_list(request):
    queryset = Supplier.objects.public().select_related(
        "domicile__province__department", "size_rule"
    )
    supplier_filter = SupplierFilter(request.GET, queryset=queryset)
    page = Paginator(supplier_filter.qs.order_by("legal_name", "id"), 50).get_page(
        request.GET.get("page")
    )
    context = {"filter": supplier_filter, "page": page}
    return render(
        request, "suppliers/supplier_list.html", context, status=filter_status(supplier_filter)
    )


def supplier_detail(request, ruc):
    """The supplier's public record: registry status, size class with its rule and history,
    categories. Declared sales figures stay private; the class and the rule are public."""
    supplier = get_object_or_404(
        Supplier.objects.public().select_related("domicile__province__department", "size_rule"),
        ruc=ruc,
    )
    context = {
        "supplier": supplier,
        "breadcrumbs": trail(
            Crumb(_("Suppliers"), reverse("suppliers:supplier_list")),
            department_crumb("suppliers:supplier_list", supplier.domicile.province.department),
            here=supplier.legal_name,
        ),
        "classifications": supplier.classifications.select_related("rule", "sales_year")[:20],
        "categories": supplier.categories.order_by("code")[:100],
        # Debarments are public in Peru (the Tribunal's register): the ones in force today.
        "sanctions": supplier.sanctions.in_force_on(clock.today()),
        "is_member": can_act_for_supplier(request.user, supplier),
        "may_dispute": services.may_dispute(request.user, supplier),
    }
    return render(request, "suppliers/supplier_detail.html", context)


# --- Self-service: a supplier's users look after its record ---------------------------------


def _member_supplier(request, ruc) -> Supplier:
    """The supplier named in the path, for one of its users (403 for anyone else)."""
    supplier = get_object_or_404(
        Supplier.objects.select_related("domicile__province__department", "size_rule"), ruc=ruc
    )
    require_supplier_user(request.user, supplier)
    return supplier


def _posted(request):
    """The posted data to bind a form to (an empty POST still binds: a button-only form)."""
    return request.POST if request.method == "POST" else None


def _form_page(request, supplier, form, *, title, intro, submit, status=200):
    context = {
        "supplier": supplier,
        "form": form,
        "title": title,
        "intro": intro,
        "submit": submit,
    }
    return render(request, "suppliers/account_form.html", context, status=status)


@login_required
def my_suppliers(request):
    """The suppliers the user acts for; straight to its page when there is one."""
    suppliers = list(
        Supplier.objects.filter(
            memberships__user=request.user, memberships__role=Role.SUPPLIER_USER
        ).order_by("legal_name")
    )
    if len(suppliers) == 1:
        return redirect("suppliers:account", suppliers[0].ruc)
    return render(request, "suppliers/my_suppliers.html", {"suppliers": suppliers})


@login_required
def account(request, ruc):
    """A supplier's own page: its registry, ownership review, declared figures (private),
    renewal requests, users and open invitations, with the actions it may take."""
    supplier = _member_supplier(request, ruc)
    renewals = list(supplier.renewal_requests.all()[:10])
    context = {
        "supplier": supplier,
        "classifications": supplier.classifications.select_related("rule", "sales_year")[:20],
        "categories": supplier.categories.order_by("code")[:200],
        "renewals": renewals,
        "sanctions": supplier.sanctions.all()[:50],
        "today": clock.today(),
        "renewal_pending": any(r.status == RenewalRequest.Status.PENDING for r in renewals),
        "members": supplier.memberships.select_related("user").order_by("user__email"),
        "invitations": supplier.invitations.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ),
        "declarable_years": services.declarable_sales_years(supplier),
    }
    return render(request, "suppliers/account.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def edit_profile(request, ruc):
    supplier = _member_supplier(request, ruc)
    form = SupplierProfileForm.for_supplier(supplier, _posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(actor=request.user, supplier=supplier, **form.cleaned_data)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("The profile is saved."))
            return redirect("suppliers:account", supplier.ruc)
    return _form_page(
        request,
        supplier,
        form,
        title=_("Edit the profile"),
        intro=_(
            "The RUC and the legal name come from SUNAT: ask the administrators to correct them."
        ),
        submit=_("Save"),
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def declare_size(request, ruc):
    supplier = _member_supplier(request, ruc)
    form = SizeDeclarationForm(_posted(request), supplier=supplier)
    if request.method == "POST" and form.is_valid():
        try:
            classification = services.declare_size(
                actor=request.user, supplier=supplier, **form.cleaned_data
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("Classified as %(size)s under %(rule)s.")
                % {
                    "size": classification.get_size_class_display(),
                    "rule": classification.rule.name,
                },
            )
            return redirect("suppliers:account", supplier.ruc)
    return _form_page(
        request,
        supplier,
        form,
        title=_("Declare a year's sales and workers"),
        intro=_(
            "The portal classifies your size under the SME rule of that year; earlier "
            "classifications stay in the history. Each year is declared once."
        ),
        submit=_("Declare"),
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_renewal(request, ruc):
    supplier = _member_supplier(request, ruc)
    form = RenewalRequestForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.request_renewal(actor=request.user, supplier=supplier)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Your renewal request was sent to the administrators."))
            return redirect("suppliers:account", supplier.ruc)
    return _form_page(
        request,
        supplier,
        form,
        title=_("Request the registry's renewal"),
        intro=_(
            "The administrators check the request; once approved, the registry is in force for "
            "one more year and you can bid again."
        ),
        submit=_("Request the renewal"),
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def invite(request, ruc):
    supplier = _member_supplier(request, ruc)
    form = InvitationForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite_user(
                actor=request.user, supplier=supplier, email=form.cleaned_data["email"]
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request, _("An invitation was sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("suppliers:account", supplier.ruc)
    return _form_page(
        request,
        supplier,
        form,
        title=_("Invite a colleague"),
        intro=_(
            "Your colleague gets a link by e-mail, valid for seven days and usable once, to act "
            "for this supplier. An address that already has an account accepts by logging in."
        ),
        submit=_("Send the invitation"),
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def revoke_invitation(request, ruc, invitation_id):
    supplier = _member_supplier(request, ruc)
    invitation = get_object_or_404(SupplierInvitation, pk=invitation_id, supplier=supplier)
    try:
        services.revoke_invitation(actor=request.user, invitation=invitation)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The invitation was withdrawn."))
    return redirect("suppliers:account", supplier.ruc)


@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """Accept an invitation: logged in as the invited address, or, for an address without
    an account, by choosing a password. Never by taking over an existing account."""
    try:
        invitation = services.open_invitation(token)
    except DomainError as error:
        return render(
            request, "suppliers/invitation_failed.html", {"message": error.message}, status=400
        )
    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    user = request.user
    if user.is_authenticated:
        form = AcceptAsMemberForm(_posted(request))
    elif has_account:
        form = None
    else:
        form = AcceptInvitationForm(_posted(request), email=invitation.email)
    status = 200
    if request.method == "POST":
        status = 400
        if form is not None and form.is_valid():
            try:
                if user.is_authenticated:
                    services.accept_invitation(token=token, user=user)
                else:
                    services.accept_invitation_with_new_account(
                        token=token,
                        full_name=form.cleaned_data["full_name"],
                        password=form.cleaned_data["password1"],
                    )
            except DomainError as error:
                error.add_to(form)
            else:
                if user.is_authenticated:
                    messages.success(request, _("You now act for this supplier."))
                    return redirect("suppliers:account", invitation.supplier.ruc)
                messages.success(request, _("Your account is ready: log in with your password."))
                return redirect("accounts:login")
    context = {
        "invitation": invitation,
        "form": form,
        "has_account": has_account,
        "wrong_account": user.is_authenticated and user.email.lower() != invitation.email,
        "login_url": f"{reverse('accounts:login')}?{urlencode({'next': request.path})}",
    }
    return render(request, "suppliers/invitation.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def dispute(request, ruc):
    """Dispute the claim on a RUC (issue 7 item 8): the admins review it."""
    supplier = get_object_or_404(Supplier.objects.public(), ruc=ruc)
    try:
        services.require_may_dispute(request.user, supplier)
    except DomainError as error:
        refusal = error.message
    else:
        refusal = None
    form = OwnershipDisputeForm(_posted(request)) if refusal is None else None
    status = 200
    if request.method == "POST":
        status = 400
        if form is not None and form.is_valid():
            try:
                services.dispute_ownership(
                    actor=request.user, supplier=supplier, statement=form.cleaned_data["statement"]
                )
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(
                    request,
                    _("Your dispute was sent to the administrators; they will contact you."),
                )
                return redirect("suppliers:supplier_detail", supplier.ruc)
    context = {"supplier": supplier, "form": form, "refusal": refusal}
    return render(request, "suppliers/dispute_form.html", context, status=status)
