"""Contracts written straight to the database for the actual SME share: the share is a read
of what contracts recorded (amounts, amendments, the winner's classes at the award), so the
tests set exactly those figures. The award behind each contract is a bare row (status
"revocado", the one status the database lets exist without an opened bid): the share never
reads the award. Rows written here bypass the services, so each helper then refreshes the
entity's SME summary (sme.refresh_summary) as the services' commit hook does."""

from datetime import date, datetime
from decimal import Decimal
from itertools import count

from django.utils import timezone

from core.codelists import ObjectType, ProcedureType
from core.models import CatalogItem
from procurement.models import (
    Award,
    Contract,
    ContractAmendment,
    ProcessItem,
    ProcessStage,
    ProcurementProcess,
)
from procurement.sme import refresh_summary
from tests.factories import UserFactory

_numbers = count(1)


def catalog(code: str, *, suppliable: bool = True) -> CatalogItem:
    item, _ = CatalogItem.objects.update_or_create(
        code=code,
        defaults={
            "level": "commodity",
            "name_es": f"Código {code}",
            "name_en": f"Code {code}",
            "sme_suppliable": suppliable,
        },
    )
    return item


def process(
    entity,
    *,
    object_type=ObjectType.GOODS,
    items=(),
    sme_only=False,
    year=2026,
    call=None,
    deadline=None,
):
    """A called process with `items` [(catalog code, estimated value, suppliable)], and its
    call and bid stages when given."""
    n = next(_numbers)
    called = timezone.make_aware(datetime(year, 1, 5, 9))
    proc = ProcurementProcess.objects.create(
        entity=entity,
        fiscal_year_id=year,
        identifier=f"AS-SM-{n}-{year}-{entity.acronym}-1",
        procedure_type=ProcedureType.AS,
        sequence=n,
        object_type=object_type,
        description=f"Proceso {n}",
        delivery_place="Lima",
        delivery_ubigeo_id="150101",
        estimated_value=sum((Decimal(v) for _c, v, _s in items), Decimal(0)) or Decimal(1),
        sme_only=sme_only,
        status="contratado",
        published_at=called,
    )
    for code, value, suppliable in items:
        ProcessItem.objects.create(
            process=proc,
            entity=entity,
            catalog_item=catalog(code, suppliable=suppliable),
            description=f"Item {code}",
            quantity=1,
            unit="NIU",
            estimated_value=Decimal(value),
        )
    if call and deadline:
        ProcessStage.objects.create(
            process=proc, stage="convocatoria", position=1, start=call, end=call
        )
        ProcessStage.objects.create(
            process=proc, stage="ofertas", position=6, start=deadline, end=deadline
        )
    refresh_summary(entity_id=entity.pk)
    return proc


def contract(
    proc,
    supplier,
    amount,
    *,
    classes: dict | None = None,
    sme: bool | None = None,
    item=None,
    signed_on=date(2026, 3, 10),
    status=Contract.Status.ACTIVE,
    amendments=(),
):
    """A contract of `proc` (or of one of its items) with the winner's classes at the award
    {ruc: class}; `sme` defaults to "every member micro or small"."""
    classes = {supplier.ruc: "micro"} if classes is None else classes
    if sme is None:
        sme = bool(classes) and all(c in ("micro", "small") for c in classes.values())
    user = UserFactory()
    award = Award.objects.create(
        process=proc,
        item=item,
        status=Award.Status.REVOKED,
        supplier=supplier,
        amount=Decimal(amount),
        winner_sme=sme,
        winner_size_classes=classes,
        decided_at=timezone.now(),
    )
    extra = {}
    if status == Contract.Status.COMPLETED:
        extra = {"ended_on": signed_on, "final_amount": Decimal(amount)}
    c = Contract.objects.create(
        award=award,
        process=proc,
        item=item,
        entity=proc.entity,
        supplier=supplier,
        number=f"C-{next(_numbers)}",
        signed_on=signed_on,
        amount=Decimal(amount),
        term_days=30,
        winner_sme=sme,
        size_class=classes.get(supplier.ruc, ""),
        size_classes=classes,
        guarantee=Contract.Guarantee.PERFORMANCE_BOND,
        status=status,
        created_at=timezone.now(),
        created_by=user,
        **extra,
    )
    for kind, value in amendments:
        ContractAmendment.objects.create(
            contract=c,
            kind=kind,
            amount=Decimal(value),
            percentage=Decimal(value) * 100 / Decimal(amount),
            cumulative_percentage=Decimal(value) * 100 / Decimal(amount),
            above_limit=False,
            reason="Prestaciones adicionales",
            signed_on=signed_on,
            created_at=timezone.now(),
            created_by=user,
        )
    refresh_summary(entity_id=proc.entity_id)
    return c


GOODS = [("43211503", 1000, True)]  # one eligible commodity line


def entity_with_two_contracts(sme_amount=1000, other_amount=3000, **entity_fields):
    """An entity (tests.factories.EntityFactory with `entity_fields`) with one contract of
    `sme_amount` won by a micro firm (3 February 2026) and one of `other_amount` won by a
    large one (9 April 2026), both of eligible goods. Returns (entity, micro, large)."""
    from tests.factories import EntityFactory, SupplierFactory

    entity, micro, large = EntityFactory(**entity_fields), SupplierFactory(), SupplierFactory()
    contract(process(entity, items=GOODS), micro, sme_amount, signed_on=date(2026, 2, 3))
    contract(
        process(entity, items=GOODS),
        large,
        other_amount,
        classes={large.ruc: "large"},
        signed_on=date(2026, 4, 9),
    )
    return entity, micro, large
