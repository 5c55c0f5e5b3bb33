from django.contrib import admin, messages
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core import clock
from core.admin_audit import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline
from core.errors import DomainError

from . import services
from .models import (
    OwnershipDispute,
    RenewalRequest,
    Sanction,
    SizeClassification,
    Supplier,
    SupplierInvitation,
)


class OwnershipReviewFilter(admin.SimpleListFilter):
    """The review queue: confirmed self-registrations whose claim on the RUC waits for an
    admin, and suppliers whose claim another user disputes."""

    title = _("ownership review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("pending", _("Waiting for review"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            disputed = OwnershipDispute.objects.filter(
                supplier=OuterRef("pk"), status=OwnershipDispute.Status.OPEN
            )
            return queryset.filter(
                Q(ownership_provisional=True, awaiting_confirmation=False) | Q(Exists(disputed))
            )
        return queryset


class OwnershipDisputeInline(ReadOnlyInline):
    model = OwnershipDispute
    fk_name = "supplier"
    fields = ["created_at", "disputer", "statement", "status", "decided_by", "decided_at"]


class SizeClassificationInline(ReadOnlyInline):
    model = SizeClassification
    fields = [
        "classified_at",
        "rule",
        "sales_year",
        "annual_sales",
        "workers",
        "sales_uit",
        "size_class",
        "source",
    ]


class SanctionInline(ReadOnlyInline):
    model = Sanction
    fields = ["starts_on", "ends_on", "resolution", "reason", "recorded_by", "recorded_at"]


@admin.register(Supplier)
class SupplierAdmin(AuditedModelAdmin):
    list_display = [
        "ruc",
        "legal_name",
        "size_class",
        "size_rule",
        "domicile",
        "email_domain",
        "registry_valid_until",
        "ownership_provisional",
        "claimants",
        "open_disputes",
    ]
    list_filter = [
        OwnershipReviewFilter,
        "size_class",
        "size_rule",
        "domicile__province__department",
    ]
    actions = ["approve_ownership"]
    search_fields = ["ruc", "legal_name", "trade_name", "email"]
    raw_id_fields = ["domicile"]
    autocomplete_fields = ["categories"]
    readonly_fields = ["size_class", "size_rule", "awaiting_confirmation", "ownership_provisional"]
    list_select_related = ["domicile", "size_rule"]
    date_hierarchy = "registered_at"
    inlines = [SizeClassificationInline, SanctionInline, OwnershipDisputeInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_dispute_count=Count(
                    "ownership_disputes",
                    filter=Q(ownership_disputes__status=OwnershipDispute.Status.OPEN),
                    distinct=True,
                )
            )
        )

    @admin.display(description=_("e-mail domain"))
    def email_domain(self, supplier):
        return supplier.email.rpartition("@")[2]

    @admin.display(description=_("claimants"))
    def claimants(self, supplier):
        """The users' own addresses: the contact e-mail is theirs to edit, the login is not."""
        return ", ".join(supplier.memberships.values_list("user__email", flat=True)[:5])

    @admin.display(description=_("open disputes"), ordering="open_dispute_count")
    def open_disputes(self, supplier):
        return supplier.open_dispute_count

    @admin.action(description=_("Approve the ownership claim of the selected suppliers"))
    def approve_ownership(self, request, queryset):
        approved = 0
        for supplier in queryset:
            try:
                services.approve_ownership(supplier, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"{supplier}: {error.message}", messages.ERROR)
            else:
                approved += 1
        self.message_user(
            request,
            ngettext("%(count)d claim approved.", "%(count)d claims approved.", approved)
            % {"count": approved},
            messages.SUCCESS,
        )


@admin.register(SizeClassification)
class SizeClassificationAdmin(ReadOnlyAdmin):
    """History to read: classifications are made by suppliers.services.classify_supplier,
    which keeps the supplier's current class in step."""

    list_display = [
        "supplier",
        "rule",
        "sales_year",
        "annual_sales",
        "workers",
        "size_class",
        "classified_at",
    ]
    list_filter = ["rule", "size_class", "source", "sales_year"]
    search_fields = ["supplier__ruc", "supplier__legal_name"]
    raw_id_fields = ["supplier", "classified_by"]
    list_select_related = ["supplier"]


class SanctionInForceFilter(admin.SimpleListFilter):
    title = _("in force")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("In force today")), ("no", _("Not in force today"))]

    def queryset(self, request, queryset):
        in_force = Sanction.objects.in_force_on(clock.today()).values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=in_force)
        if self.value() == "no":
            return queryset.exclude(pk__in=in_force)
        return queryset


@admin.register(Sanction)
class SanctionAdmin(AuditedModelAdmin):
    """The sanctions list (debarments by the Tribunal de Contrataciones del Estado), kept by
    the admins: every add, change and delete is audited (AuditedModelAdmin), and the
    eligibility check (suppliers.services.require_may_act_in_processes) reads it."""

    list_display = ["supplier", "resolution", "starts_on", "ends_on", "recorded_by", "recorded_at"]
    list_filter = [SanctionInForceFilter, "starts_on"]
    search_fields = ["supplier__ruc", "supplier__legal_name", "resolution"]
    raw_id_fields = ["supplier"]
    list_select_related = ["supplier", "recorded_by"]
    readonly_fields = ["recorded_by", "recorded_at"]
    date_hierarchy = "starts_on"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
            obj.recorded_at = clock.now()
        super().save_model(request, obj, form, change)


def _run_action(admin_site, request, queryset, decide, done_message):
    """Apply one service decision to each selected row; refusals are reported, not raised."""
    done = 0
    for obj in queryset:
        try:
            decide(obj)
        except DomainError as error:
            admin_site.message_user(request, f"{obj}: {error.message}", messages.ERROR)
        else:
            done += 1
    admin_site.message_user(request, done_message(done), messages.SUCCESS)


@admin.register(RenewalRequest)
class RenewalRequestAdmin(ReadOnlyAdmin):
    """Requests are made by the suppliers' users; admins decide them with the actions."""

    list_display = [
        "supplier",
        "status",
        "requested_at",
        "requested_by",
        "valid_until",
        "decided_by",
    ]
    list_filter = ["status"]
    search_fields = ["supplier__ruc", "supplier__legal_name"]
    list_select_related = ["supplier", "requested_by", "decided_by"]
    actions = ["approve", "reject"]

    @admin.action(description=_("Approve the selected renewal requests"))
    def approve(self, request, queryset):
        _run_action(
            self,
            request,
            queryset,
            lambda r: services.approve_renewal(actor=request.user, request=r),
            lambda n: (
                ngettext("%(count)d renewal approved.", "%(count)d renewals approved.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Reject the selected renewal requests"))
    def reject(self, request, queryset):
        _run_action(
            self,
            request,
            queryset,
            lambda r: services.reject_renewal(actor=request.user, request=r),
            lambda n: (
                ngettext("%(count)d request rejected.", "%(count)d requests rejected.", n)
                % {"count": n}
            ),
        )


@admin.register(SupplierInvitation)
class SupplierInvitationAdmin(ReadOnlyAdmin):
    list_display = [
        "supplier",
        "email",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    search_fields = ["supplier__ruc", "email"]
    list_select_related = ["supplier", "invited_by"]
    exclude = ["nonce"]


@admin.register(OwnershipDispute)
class OwnershipDisputeAdmin(ReadOnlyAdmin):
    """Disputes of a RUC claim, next to the claim in the supplier review queue. Keeping the
    claim can be done for many at once; a transfer is decided one dispute at a time."""

    list_display = ["supplier", "disputer", "disputer_domain", "status", "created_at", "decided_by"]
    list_filter = ["status"]
    search_fields = ["supplier__ruc", "supplier__legal_name", "disputer__email"]
    list_select_related = ["supplier", "disputer", "decided_by"]
    actions = ["keep_claim", "transfer"]

    @admin.display(description=_("disputer's e-mail domain"))
    def disputer_domain(self, dispute):
        return dispute.disputer.email.rpartition("@")[2]

    @admin.action(description=_("Keep the current claim (reject the selected disputes)"))
    def keep_claim(self, request, queryset):
        _run_action(
            self,
            request,
            queryset,
            lambda d: services.keep_ownership_claim(actor=request.user, dispute=d),
            lambda n: (
                ngettext("%(count)d dispute decided.", "%(count)d disputes decided.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Transfer the supplier to the disputer"))
    def transfer(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, _("Select exactly one dispute to transfer a supplier."), messages.ERROR
            )
            return
        _run_action(
            self,
            request,
            queryset,
            lambda d: services.transfer_ownership(actor=request.user, dispute=d),
            lambda n: (
                ngettext("%(count)d supplier transferred.", "%(count)d suppliers transferred.", n)
                % {"count": n}
            ),
        )
