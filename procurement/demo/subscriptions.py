"""Demo subscriptions: each demo supplier user follows what a company of its kind would, through
the same service as the subscription pages (procurement.subscriptions.services), so
`make run` shows notices, digests and the unsubscribe link from the start."""

from decimal import Decimal

from accounts.models import Membership, Role

from ..models import Entity
from ..subscriptions.matching import Criteria
from ..subscriptions.services import save_subscription
from .users import DEMO_DOMAIN

# (account, name, criteria, delivery): a micro enterprise watching SME-only purchases of
# computers in its department; a small one watching cleaning and maintenance services by
# keyword, in a daily digest; a medium one watching large purchases of the health ministry.
PLANS = [
    (
        "proveedor.micro",
        "Computadoras reservadas a MYPE en mi región",
        lambda supplier: Criteria(
            catalog=("4321",),
            regions=(str(supplier.domicile_id)[:2],),
            sme_only=True,
        ),
        "immediate",
    ),
    (
        "proveedor.pequena",
        "Servicios de limpieza y mantenimiento",
        lambda supplier: Criteria(
            keywords="servicio de limpieza, mantenimiento", object_types=("services",)
        ),
        "digest",
    ),
    (
        "proveedor.mediana",
        "Compras grandes del Ministerio de Salud",
        lambda supplier: Criteria(
            entities=tuple(Entity.objects.filter(acronym="MINSA").values_list("ruc", flat=True)),
            min_value=Decimal("100000"),
        ),
        "immediate",
    ),
]


def build_subscriptions() -> int:
    """Create the demo supplier users' subscriptions; returns how many."""
    count = 0
    for local, name, criteria, delivery in PLANS:
        membership = (
            Membership.objects.filter(user__email=f"{local}@{DEMO_DOMAIN}", role=Role.SUPPLIER_USER)
            .select_related("user", "supplier")
            .first()
        )
        if membership is None:
            continue
        save_subscription(
            actor=membership.user,
            criteria=criteria(membership.supplier),
            name=name,
            delivery=delivery,
            language="es",
        )
        count += 1
    return count
