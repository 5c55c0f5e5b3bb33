"""The opening of sealed bids (issue 9) and the plaintext it reveals.

A committee member starts the opening; a second member confirms it within
OPENING_CONFIRM_MINUTES; only then does procurement.services.opening decrypt every bid and
record here what the act publishes: per bid its receipt, paper or electronic, whether it is
valid, withdrawn or unreadable, its lead supplier and consortium members with their shares,
its prices, and its documents (stored in the content-addressed document store; confidential
ones served only to the committee). Everything under an opening is written once, at the
confirmation, and never changes (PostgreSQL triggers refuse UPDATE and DELETE).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .bids import Bid
from .processes import ProcessDocument, ProcessItem, ProcurementProcess


class BidOpening(models.Model):
    """One attempt to open a process's bids: started by one committee member, confirmed by
    another before `confirm_by`. A pending attempt past `confirm_by` is expired (the status
    is written when a new attempt starts); at most one is pending or completed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a second committee member")
        COMPLETED = "completed", _("Completed")
        EXPIRED = "expired", _("Expired without confirmation")

    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="openings")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("started"))
    confirm_by = models.DateTimeField(_("to be confirmed by"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("opened"), null=True, blank=True)
    observer = models.CharField(_("observer or notary"), max_length=200, blank=True)
    # Set for a type with no opening stage (COMPRE, SCI, CD): the act calls it the unsealing
    # at the start of the evaluation.
    at_evaluation = models.BooleanField(_("unsealed at the start of evaluation"), default=False)
    act = models.OneToOneField(
        ProcessDocument, models.PROTECT, null=True, blank=True, related_name="opening"
    )

    class Meta:
        ordering = ["process", "started_at", "id"]
        verbose_name = _("bid opening")
        verbose_name_plural = _("bid openings")
        constraints = [
            models.UniqueConstraint(
                fields=["process"],
                condition=models.Q(status__in=["pending", "completed"]),
                name="opening_one_live_per_process",
            ),
            models.CheckConstraint(
                name="opening_completed_is_confirmed",
                condition=~models.Q(status="completed")
                | models.Q(confirmed_by__isnull=False, confirmed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"opening of {self.process_id} ({self.status})"


class OpenedBid(models.Model):
    """A bid as its opening revealed it: its current version's receipt and content."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        UNREADABLE = "unreadable", _("Unreadable")
        # The supplier is also in a bid received later (on paper and electronically, say):
        # the last received counts (procurement.services.opening.superseded_bids).
        SUPERSEDED = "superseded", _("Superseded by a later bid")

    opening = models.ForeignKey(BidOpening, models.PROTECT, related_name="bids")
    bid = models.ForeignKey(Bid, models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(_("number"))
    receipt_hash = models.CharField(_("receipt hash"), max_length=64)
    version = models.PositiveIntegerField(_("version"))
    received_at = models.DateTimeField(_("received"))
    paper = models.BooleanField(_("received on paper"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    problem = models.CharField(_("why it is unreadable"), max_length=200, blank=True)
    superseded_by = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("superseded by"),
    )
    # After the opening who bid is public: the lead supplier, and its name and RUC as the
    # bid stated them.
    lead_supplier = models.ForeignKey(
        "suppliers.Supplier", models.PROTECT, null=True, blank=True, related_name="opened_bids"
    )
    lead_ruc = models.CharField(_("RUC"), max_length=11, blank=True)
    lead_name = models.CharField(_("bidder"), max_length=255, blank=True)
    total = models.DecimalField(
        _("total (S/)"), max_digits=20, decimal_places=2, null=True, blank=True
    )
    # The bidder's standing on the opening day, as the act recorded it (a readable bid), for
    # the local SME bonus (procurement.services.opening.standing_at_opening): {ruc: size
    # class} and {ruc: domicile UBIGEO} of the lead and each consortium member. Empty for an
    # act opened before it was recorded.
    size_classes = models.JSONField(
        _("size classes at the opening"),
        default=dict,
        db_default=models.Value({}, models.JSONField()),
    )
    domiciles = models.JSONField(
        _("domiciles at the opening"), default=dict, db_default=models.Value({}, models.JSONField())
    )

    class Meta:
        ordering = ["opening", "position"]
        verbose_name = _("opened bid")
        verbose_name_plural = _("opened bids")
        constraints = [
            models.UniqueConstraint(fields=["opening", "bid"], name="opened_bid_once"),
            models.UniqueConstraint(fields=["opening", "position"], name="opened_bid_position"),
        ]

    def __str__(self) -> str:
        return f"{self.opening_id} #{self.position}"

    @property
    def consortium(self) -> bool:
        return len(self.members.all()) > 1


class OpenedBidMember(models.Model):
    """A supplier taking part in an opened bid (the lead, or a consortium member)."""

    opened_bid = models.ForeignKey(OpenedBid, models.PROTECT, related_name="members")
    supplier = models.ForeignKey("suppliers.Supplier", models.PROTECT, related_name="+")
    ruc = models.CharField(_("RUC"), max_length=11)
    legal_name = models.CharField(_("legal name"), max_length=255)
    share = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)
    is_lead = models.BooleanField(_("lead member"), default=False)

    class Meta:
        ordering = ["opened_bid", "-is_lead", "id"]
        verbose_name = _("opened bid member")
        verbose_name_plural = _("opened bid members")

    def __str__(self) -> str:
        return f"{self.ruc} {self.share}%"


class OpenedBidLine(models.Model):
    """One priced item of an opened bid: unit price, quantity and line total."""

    opened_bid = models.ForeignKey(OpenedBid, models.PROTECT, related_name="lines")
    item = models.ForeignKey(ProcessItem, models.PROTECT, related_name="+")
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=2)
    unit_price = models.DecimalField(_("unit price (S/)"), max_digits=16, decimal_places=2)
    line_total = models.DecimalField(_("line total (S/)"), max_digits=20, decimal_places=2)

    class Meta:
        ordering = ["opened_bid", "item_id"]
        verbose_name = _("opened bid line")
        verbose_name_plural = _("opened bid lines")

    def __str__(self) -> str:
        return f"{self.description}: {self.unit_price}"


class OpenedBidDocument(models.Model):
    """A document of an opened bid, decrypted at the opening, checked against the SHA-256
    its receipt binds and stored in the content-addressed store (procurement.document_store).
    Served to the public unless confidential; confidential ones only to the committee."""

    opened_bid = models.ForeignKey(OpenedBid, models.PROTECT, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    confidential = models.BooleanField(_("confidential"), default=False)
    file = models.CharField(_("stored file"), max_length=255)

    class Meta:
        ordering = ["opened_bid", "id"]
        verbose_name = _("opened bid document")
        verbose_name_plural = _("opened bid documents")

    def __str__(self) -> str:
        return self.filename
