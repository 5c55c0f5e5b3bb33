"""Sealed bids (issue 9): what the database holds of a bid before its opening.

Nothing here names a bidder or holds an amount in plaintext. A bid is found by a blind tag
(HMAC-SHA256 of the supplier id under the process's data key, procurement.sealing.tag); its
content (prices, members, user, documents' names and hashes) is AES-GCM ciphertext under the
process's data key, which is stored only wrapped by BID_MASTER_KEY (outside the database).
Bid versions and ledger entries are append-only (PostgreSQL triggers, migration).
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .processes import ProcurementProcess


class ProcessSealKey(models.Model):
    """The process's data key: 32 random bytes, stored only as a Fernet token under the
    master key (procurement.sealing.process_key unwraps it)."""

    process = models.OneToOneField(
        ProcurementProcess, models.PROTECT, related_name="seal_key", primary_key=True
    )
    wrapped_key = models.TextField(_("wrapped key"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("process seal key")
        verbose_name_plural = _("process seal keys")

    def __str__(self) -> str:
        return f"seal key of process {self.process_id}"


class Bid(models.Model):
    """One bidder's bid in a process, across its versions. Identified by `bidder_tag`, the
    blind tag of the lead supplier: never a supplier or user foreign key."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="bids")
    bidder_tag = models.CharField(_("bidder tag"), max_length=64)
    paper = models.BooleanField(_("received on paper"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    current_version = models.OneToOneField(
        "BidVersion", models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["process", "created_at"]
        verbose_name = _("bid")
        verbose_name_plural = _("bids")
        constraints = [
            models.UniqueConstraint(fields=["process", "bidder_tag"], name="bid_one_per_bidder")
        ]

    def __str__(self) -> str:
        return f"bid {self.pk}"


class BidMemberTag(models.Model):
    """One row per supplier taking part in a live bid (the lead and each consortium member):
    the unique constraint is the database's rule that a supplier cannot bid twice in a
    process, alone and in a consortium."""

    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="+")
    bid = models.ForeignKey(Bid, models.CASCADE, related_name="member_tags")
    tag = models.CharField(_("member tag"), max_length=64)

    class Meta:
        verbose_name = _("bid member tag")
        verbose_name_plural = _("bid member tags")
        constraints = [
            models.UniqueConstraint(fields=["process", "tag"], name="bid_member_once_per_process")
        ]

    def __str__(self) -> str:
        return self.tag


class ConsortiumConsent(models.Model):
    """A supplier's confirmation that it takes part in the consortium another supplier leads
    in a process, given by its own users before the lead may name it. Holds only the blind
    tags of the member and of the lead (procurement.sealing.tag) and when it was given: the
    unique constraint means a supplier consents to one lead per process. Withdrawing the
    consent deletes the row (the audit log keeps both actions, without identities)."""

    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="+")
    member_tag = models.CharField(_("member tag"), max_length=64)
    lead_tag = models.CharField(_("lead tag"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("consortium consent")
        verbose_name_plural = _("consortium consents")
        constraints = [
            models.UniqueConstraint(
                fields=["process", "member_tag"], name="consortium_consent_once_per_process"
            )
        ]

    def __str__(self) -> str:
        return f"consent {self.pk}"


class BidVersion(models.Model):
    """One submission or withdrawal of a bid, as received: its instant, its receipt hash and
    its sealed canonical content (with the receipt's nonce). Immutable."""

    class Kind(models.TextChoices):
        SUBMISSION = "submission", _("Submission")
        WITHDRAWAL = "withdrawal", _("Withdrawal")

    bid = models.ForeignKey(Bid, models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    received_at = models.DateTimeField(_("received"))
    receipt_hash = models.CharField(_("receipt hash"), max_length=64, unique=True)
    sealed = models.BinaryField(_("sealed content"))

    class Meta:
        ordering = ["bid", "number"]
        verbose_name = _("bid version")
        verbose_name_plural = _("bid versions")
        constraints = [
            models.UniqueConstraint(fields=["bid", "number"], name="bid_version_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.bid_id} v{self.number}"


def sealed_document_path(process_id: int, document_id) -> str:
    return f"sealed/{process_id}/{document_id}.bin"


class SealedDocument(models.Model):
    """A document of a bid's technical envelope, stored only as ciphertext (chunked AES-GCM,
    procurement.sealing.seal_file) with its metadata sealed too. A draft (no bid yet) belongs
    to the supplier whose blind tag is `owner_tag`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="+")
    bid = models.ForeignKey(Bid, models.PROTECT, null=True, blank=True, related_name="documents")
    owner_tag = models.CharField(_("owner tag"), max_length=64, db_index=True)
    file = models.CharField(_("stored file"), max_length=255)
    sealed_meta = models.BinaryField(_("sealed metadata"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("sealed document")
        verbose_name_plural = _("sealed documents")

    def __str__(self) -> str:
        return str(self.pk)


class ReceiptLedgerEntry(models.Model):
    """The public, hash-chained ledger of bid receipts: one entry per received version,
    without the bidder. Append-only (trigger), appended under an advisory lock."""

    class Kind(models.TextChoices):
        BID = "bid", _("Bid")
        WITHDRAWAL = "withdrawal", _("Withdrawal")

    position = models.PositiveBigIntegerField(_("position"), unique=True)
    receipt_hash = models.CharField(_("receipt hash"), max_length=64, unique=True)
    process = models.ForeignKey(ProcurementProcess, models.PROTECT, related_name="receipts")
    received_at = models.DateTimeField(_("received"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    paper = models.BooleanField(_("on paper"), default=False)
    signature = models.TextField(_("signature"))
    previous_hash = models.CharField(_("previous chain hash"), max_length=64)
    chain_hash = models.CharField(_("chain hash"), max_length=64)

    class Meta:
        ordering = ["position"]
        verbose_name = _("receipt ledger entry")
        verbose_name_plural = _("receipt ledger entries")

    def __str__(self) -> str:
        return f"#{self.position} {self.receipt_hash}"
