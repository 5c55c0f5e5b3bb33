"""The red flags of the demo data (issue 15): the situations that raise them are made through
the data, never by writing flag rows, and then procurement.red_flags computes every flag with
its rule functions, as the beat task does.

Most situations arise from the seed itself: single bidders, awards above the estimate,
amendments above 25%, cover bids priced 0.2% above another (procurement.demo.bids.
COVER_BID_EVERY); rushed Adjudicaciones Simplificadas, called with a bid window below the
legal minimum and awarded days after the call, a purchase split under the Licitación
Pública threshold and three direct contracts in a year of one entity
(procurement.demo.processes: RUSHED_PROCESSES, SPLIT_SHARES, DIRECT_CONTRACTS); one SME the
sole bidder of every awarded process of an entity and year (procurement.demo.bids,
_load_captured). Here, in the supplier registry: a few pairs of firms that bid against each
other in an opened process are given the same legal representative, address and phone, or
e-mail, as related companies are.
"""

from collections import defaultdict

from django.db.models import Count, Q

from suppliers.models import Supplier

from .. import red_flags
from ..models import BidOpening, OpenedBid

# How many pairs of competing bidders share each kind of registry data.
SHARED_PAIRS = {"representative": 2, "address": 1, "email": 1}


def _competing_pairs(limit: int) -> list[tuple[int, int]]:
    """Pairs of firms (RUC 20) that were two valid bids of one completed opening, the first
    openings by id, each firm in one pair at most."""
    openings = (
        BidOpening.objects.filter(status=BidOpening.Status.COMPLETED)
        .annotate(
            firms=Count(
                "bids",
                filter=Q(bids__status=OpenedBid.Status.VALID, bids__lead_ruc__startswith="20"),
            )
        )
        .filter(firms__gte=2)
        .order_by("pk")
        .values_list("pk", flat=True)[: limit * 4]
    )
    leads = defaultdict(list)
    for opening, supplier in (
        OpenedBid.objects.filter(
            opening_id__in=list(openings),
            status=OpenedBid.Status.VALID,
            lead_ruc__startswith="20",
            lead_supplier__isnull=False,
        )
        .order_by("opening_id", "position")
        .values_list("opening_id", "lead_supplier_id")
    ):
        leads[opening].append(supplier)
    pairs, used = [], set()
    for suppliers in leads.values():
        first, second = suppliers[0], next((s for s in suppliers[1:] if s != suppliers[0]), None)
        if second is None or {first, second} & used:
            continue
        pairs.append((first, second))
        used.update((first, second))
        if len(pairs) == limit:
            break
    return pairs


def related_bidders() -> int:
    """Give pairs of competing firms the same registry data; returns how many pairs."""
    kinds = [kind for kind, n in SHARED_PAIRS.items() for _i in range(n)]
    pairs = _competing_pairs(len(kinds))
    for kind, (first, second) in zip(kinds, pairs, strict=False):
        source = Supplier.objects.get(pk=first)
        if kind == "representative":
            fields = {
                "representative_name": source.representative_name or "Rosa Huamán Quispe",
                "representative_dni": source.representative_dni or "41234567",
            }
        elif kind == "address":
            fields = {
                "address": source.address or "Jr. Los Olivos 245, oficina 3",
                "phone": source.phone or "01-4259876",
            }
        else:
            fields = {"email": source.email or "gerencia@consorcioandino.pe"}
        Supplier.objects.filter(pk__in=[first, second]).update(**fields)
    return len(pairs)


def build() -> int:
    """Shape the related bidders, then compute every flag; returns the flagged processes."""
    related_bidders()
    return red_flags.refresh()
