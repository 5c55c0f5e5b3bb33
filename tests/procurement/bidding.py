"""Builders for the sealed-bid tests: a called Licitación Pública whose bid stage is open at
a pinned moment, registered participants, PDFs with a marker inside."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from core import clock
from procurement.models import ProcessStage, ProcurementProcess
from procurement.services import bids, participation
from suppliers.services import classify_supplier
from tests.factories import (
    SupplierFactory,
    last_working_day_until_today,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    user_of,
)


def pdf(text: str = "oferta tecnica", name: str = "oferta.pdf") -> SimpleUploadedFile:
    body = f"%PDF-1.7\n1 0 obj << /Contents ({text}) >> endobj\n%%EOF\n".encode()
    return SimpleUploadedFile(name, body, content_type="application/pdf")


# Annual sales (S/) that classify a supplier in each size under the rules in force.
SALES_OF_SIZE = {
    "micro": Decimal("300000"),
    "small": Decimal("1000000"),
    "medium": Decimal("9000000"),
    "medium_or_large": Decimal("90000000"),
}


def classify(supplier, size: str, sales_year: int, source: str = "declaration"):
    """Classify `supplier` as `size` from sales of `sales_year` (suppliers.services)."""
    return classify_supplier(
        supplier,
        sales_year=sales_year,
        annual_sales=SALES_OF_SIZE[size],
        workers=10,
        source=source,
    )


@dataclass
class Tender:
    process: ProcurementProcess
    staff: object
    bids_stage: ProcessStage

    @property
    def during(self):
        """A moment inside the bid stage (noon of its first day)."""
        return clock.local(self.bids_stage.start)

    @property
    def deadline(self):
        return self.bids_stage.closes_at

    def bidder(self, **supplier_fields):
        """A supplier registered as participant, and one of its users. A size class given is
        backed by a classification of last year's sales, as the SME rule requires."""
        size = supplier_fields.get("size_class")
        supplier = SupplierFactory(**supplier_fields)
        if size in SALES_OF_SIZE:
            classify(supplier, size, self.during.year - 1)
        user = user_of(supplier)
        with clock.pinned(self.during):
            participation.register_participant(user, self.process, supplier)
        return supplier, user

    def consent(self, member, lead, user=None):
        """A user of `member` confirms it takes part in `lead`'s consortium (inside the bid
        stage); returns that user."""
        user = user or user_of(member)
        with clock.pinned(self.during):
            bids.give_consortium_consent(user, self.process, member, lead)
        return user

    def prices(self, unit=Decimal("10.00")) -> dict:
        return {item.pk: unit for item in self.process.items.all()}

    def submit(self, user, supplier, *, prices=None, marker="oferta", members=None, at=None):
        with clock.pinned(at or self.during):
            document = bids.upload_draft_document(
                user, self.process, supplier, pdf(marker), title="Propuesta técnica"
            )
            return bids.submit_bid(
                user,
                self.process,
                supplier,
                prices=prices or self.prices(),
                documents=[document.pk],
                members=members,
            )


def called_tender(*, sme_only: bool = False, items: int = 2) -> Tender:
    """A called process with `items` items, its bid stage still ahead of today."""
    version, staff = published_plan(
        items=[
            {
                "description": f"Bienes {n}",
                "catalog_item": "44121701",
                "estimated_value": Decimal("450000"),
            }
            for n in range(items)
        ]
    )
    process = process_from_plan(staff, version, procedure_type="LP", description="Compra")
    if sme_only:  # an LP reserved for SMEs by its items would exceed no threshold here
        ProcurementProcess.objects.filter(pk=process.pk).update(sme_only=True)
        process.refresh_from_db()
    process = publish_with_lp_calendar(staff, process, call=last_working_day_until_today())
    return Tender(process, staff, process.stages.get(stage="ofertas"))
