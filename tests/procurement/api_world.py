"""A small public record for the API and OCDS tests: a called tender with published bases, a
sealed bid carrying a marker, a draft process, a draft plan version and an unconfirmed
supplier; `open_bids` opens the tender's bids the way the committee does."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from core import clock
from core.ruc import with_check_digit
from procurement.models import CommitteeMember, PlanVersion, ProcessDocument, ProcurementProcess
from procurement.services import opening, processes
from suppliers.models import Supplier
from tests.factories import SupplierFactory, draft_plan, process_from_plan, published_plan
from tests.procurement.bidding import Tender, called_tender

MARKER = "MARCADOR-SECRETO-7f3a9c"
PRICE = Decimal("98765.43")
PRICE_TEXTS = ["98765.43", "98765,43", "9876543"]
PDF = b"%PDF-1.7\n1 0 obj << /Contents (bases) >> endobj\n%%EOF\n"


@dataclass
class ApiWorld:
    tender: Tender
    bases: ProcessDocument
    bidder: Supplier
    draft: ProcurementProcess
    draft_version: PlanVersion
    unconfirmed: Supplier

    @property
    def secrets(self) -> list[str]:
        """What nobody may read before the opening: the bid's marker, its price, its bidder."""
        return [MARKER, *PRICE_TEXTS, self.bidder.ruc, self.bidder.legal_name]


def publish_bases(tender: Tender) -> ProcessDocument:
    return processes.publish_document(
        tender.staff,
        tender.process,
        kind="bases",
        title="Bases administrativas",
        upload=SimpleUploadedFile("bases.pdf", PDF),
    )


def build_api_world() -> ApiWorld:
    tender = called_tender()
    bases = publish_bases(tender)
    # A RUC of its own: the factories' entity and supplier sequences can share one.
    bidder, user = tender.bidder(
        legal_name="Postor Sellado S.A.C.", ruc=with_check_digit("2061234567")
    )
    tender.submit(user, bidder, prices=tender.prices(PRICE), marker=MARKER)
    version, staff = published_plan(
        items=[{"description": "Borrador", "estimated_value": Decimal("450000")}]
    )
    draft = process_from_plan(staff, version, description="Proceso en borrador")
    draft_version, _staff = draft_plan(items=[{"description": "Plan no publicado"}])
    unconfirmed = SupplierFactory(awaiting_confirmation=True, legal_name="Sin Confirmar S.A.C.")
    return ApiWorld(tender, bases, bidder, draft, draft_version, unconfirmed)


def open_bids(tender: Tender):
    """Two committee members open the bids on the calendar's opening day."""
    first = tender.staff
    second = CommitteeMember.objects.exclude(user=first).get(process=tender.process).user
    day = opening.opening_day_stage(tender.process).opens_at
    with clock.pinned(max(tender.deadline, day) + timedelta(seconds=1)):
        opening.start_opening(actor=first, process=tender.process)
        return opening.confirm_opening(actor=second, process=tender.process)
