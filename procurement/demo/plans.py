"""Demo annual plans: one per entity for the current and the previous fiscal year, some
with published modifications; about one in five below the 40% SME reservation."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from core.codelists import ObjectType
from core.models import CatalogItem, FiscalYear, ProcedureThreshold
from core.workdays import WorkingCalendar

from ..models import Entity, PlanItem, PlanVersion, ProcurementPlan
from ..rules import plan_published_late, procedures_for
from ..sme import SNAPSHOT_FIELDS, planned_shares_by_version, record_snapshot
from .names import SME_FAMILIES
from .process_profile import UNITS

BATCH = 5000
OBJECT_MIX = [
    (ObjectType.GOODS, 0.5),
    (ObjectType.SERVICES, 0.35),
    (ObjectType.WORKS, 0.1),
    (ObjectType.CONSULTING_WORKS, 0.05),
]
COMPETITIVE = {"LP", "CP", "AS", "COMPRE"}
NON_COMPLIANT_RATE = 0.2
JUSTIFICATIONS = [
    "No existe oferta MYPE suficiente en la región para los bienes programados.",
    "La mayor parte del presupuesto corresponde a equipamiento especializado.",
    "Compras corporativas obligatorias a través de Perú Compras.",
]
# A modification adds, removes and/or revalues items; its reason says what it did.
CHANGE_KINDS = [
    ("add",),
    ("remove",),
    ("revalue",),
    ("add", "revalue"),
    ("add", "remove"),
    ("remove", "revalue"),
    ("add", "remove", "revalue"),
]
_ADDED = (
    "incorporación de un procedimiento no previsto",
    "incorporación de {n} procedimientos no previstos",
)
_REMOVED = (
    "exclusión de un procedimiento que ya no se ejecutará",
    "exclusión de {n} procedimientos que ya no se ejecutarán",
)
_REVALUED = (
    "ajuste del valor estimado de un procedimiento por modificación presupuestal",
    "ajuste del valor estimado de {n} procedimientos por modificación presupuestal",
)


def modification_reason(added: int, removed: int, revalued: int) -> str:
    """The published reason of a modification, from what it actually changed."""
    parts = [
        (one if n == 1 else many.format(n=n))
        for n, (one, many) in [(added, _ADDED), (removed, _REMOVED), (revalued, _REVALUED)]
        if n
    ]
    text = ", ".join(parts[:-1]) + (" y " if len(parts) > 1 else "") + parts[-1]
    return text[0].upper() + text[1:] + "."


def _pick(rng, weighted):
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


class PlanBuilder:
    def __init__(self, rng: random.Random, today: date, *, until: datetime):
        self.rng = rng
        self.today = today
        self.until = until  # nothing is published after it
        self.calendar = WorkingCalendar()
        commodities = CatalogItem.objects.filter(level="commodity").values_list(
            "code", "name_es", "sme_suppliable"
        )
        families: dict[str, list[tuple[str, str]]] = {}
        for code, name, suppliable in commodities.order_by("code"):
            if suppliable:
                families.setdefault(code[:4], []).append((code, name))
        goods = [f for f in SME_FAMILIES if f in families and int(f[:2]) < 70]
        services = [f for f in SME_FAMILIES if f in families and int(f[:2]) >= 70]
        self.codes = {
            ObjectType.GOODS: [c for f in goods for c in families[f]],
            ObjectType.SERVICES: [c for f in services for c in families[f]],
            ObjectType.WORKS: list(
                CatalogItem.objects.filter(code__startswith="7213", level="commodity").values_list(
                    "code", "name_es"
                )
            ),
            ObjectType.CONSULTING_WORKS: list(
                CatalogItem.objects.filter(code__startswith="8110", level="commodity").values_list(
                    "code", "name_es"
                )
            ),
        }
        self.thresholds = {
            year.year: list(ProcedureThreshold.objects.filter(fiscal_year=year))
            for year in FiscalYear.objects.all()
        }
        self.uits = dict(FiscalYear.objects.values_list("year", "uit"))

    def _value(self, object_type, scale: float) -> Decimal:
        low, high = {
            ObjectType.GOODS: (46_000, 900_000),
            ObjectType.SERVICES: (46_000, 700_000),
            ObjectType.WORKS: (300_000, 9_000_000),
            ObjectType.CONSULTING_WORKS: (60_000, 600_000),
        }[object_type]
        value = self.rng.uniform(0, 1) ** 2.2 * (high - low) * scale + low
        return Decimal(round(value, -2)).quantize(Decimal("0.01"))

    def _item(self, year: int, scale: float) -> dict:
        object_type = _pick(self.rng, OBJECT_MIX)
        code, name = self.rng.choice(self.codes[object_type])
        value = self._value(object_type, scale)
        options = procedures_for(self.thresholds[year], object_type, value, self.uits[year])
        competitive = [p for p in options if p in COMPETITIVE] or options
        procedure = self.rng.choice(competitive) if competitive else "AS"
        if object_type == ObjectType.GOODS and "SIE" in options and self.rng.random() < 0.15:
            procedure = "SIE"
        quantity = (
            Decimal(1)
            if object_type != ObjectType.GOODS
            else Decimal(self.rng.choice([10, 50, 100, 500, 1200]))
        )
        return {
            "object_type": object_type,
            "catalog_item_id": code,
            "description": name[:500],
            "quantity": quantity,
            "unit": self.rng.choice(UNITS[object_type]),
            "estimated_value": value,
            "procedure_type": procedure,
            "planned_month": self.rng.randint(1, 12),
            "sme_reserved": False,
        }

    def _reserve(self, items: list[dict], target: float) -> None:
        """Flag eligible items as SME-reserved until the reserved share approaches `target`."""
        eligible = [i for i in items if i["object_type"] in (ObjectType.GOODS, ObjectType.SERVICES)]
        total = sum(i["estimated_value"] for i in eligible)
        reserved = Decimal(0)
        for item in self.rng.sample(eligible, len(eligible)):
            if total and (reserved + item["estimated_value"]) / total > Decimal(
                str(target)
            ) + Decimal("0.15"):
                continue
            if total and reserved / total >= Decimal(str(target)):
                break
            item["sme_reserved"] = True
            reserved += item["estimated_value"]

    def _modify(
        self, items: list[dict], year: int, scale: float, compliant: bool, next_reference: int
    ) -> tuple[list[dict], str, int]:
        """A modified copy of `items`, the reason that says what changed and the next free
        item reference."""
        kinds = set(self.rng.choice(CHANGE_KINDS))
        if len(items) <= 3:
            kinds.discard("remove")
            kinds.add("add")
        modified = [dict(i) for i in items]
        added = removed = revalued = 0
        if "remove" in kinds:
            modified.pop(self.rng.randrange(len(modified)))
            removed = 1
        if "revalue" in kinds:
            changed = self.rng.choice(modified)
            changed["estimated_value"] = (changed["estimated_value"] * Decimal("1.15")).quantize(
                Decimal("0.01")
            )
            revalued = 1
        if "add" in kinds:
            for _ in range(self.rng.randint(1, 3)):
                extra = self._item(year, scale)
                extra["reference"] = next_reference
                extra["sme_reserved"] = compliant and self.rng.random() < 0.6
                next_reference += 1
                modified.append(extra)
                added += 1
        return modified, modification_reason(added, removed, revalued), next_reference

    def _approval_and_publication(self, approval: date) -> tuple[date, datetime]:
        approval = self.calendar.next_working_day(approval)
        delay = self.rng.choice([1, 2, 3, 5, 8, 10, 12, 14, 15, 18, 25])
        published = min(self.calendar.add_working_days(approval, delay), self.today)
        moment = timezone.make_aware(
            datetime.combine(published, time(self.rng.randint(8, 17), self.rng.randint(0, 59)))
        )
        return approval, min(moment, self.until)

    def build(self, entities: list[Entity], years: list[int]) -> tuple[int, int, int]:
        """Create plans, versions and items in bulk; returns (plans, versions, items)."""
        plans, versions, item_rows = [], [], []
        for entity in entities:
            scale = {"national": 3.0, "regional": 1.5, "local": 0.6}[entity.level]
            for year in years:
                plan = ProcurementPlan(entity=entity, fiscal_year_id=year)
                plans.append(plan)
                compliant = self.rng.random() >= NON_COMPLIANT_RATE
                target = self.rng.uniform(0.42, 0.7) if compliant else self.rng.uniform(0.08, 0.33)
                items = [self._item(year, scale) for _ in range(self.rng.randint(6, 24))]
                for reference, item in enumerate(items, start=1):
                    item["reference"] = reference
                self._reserve(items, target)
                approval, published = self._approval_and_publication(
                    date(year, 1, self.rng.randint(2, 20))
                )
                if approval > self.today:
                    plans.pop()
                    continue
                chain = [(approval, published, items, "")]
                next_reference = len(items) + 1
                for _ in range(self.rng.choice([0, 0, 0, 1, 1, 2])):
                    previous_approval = chain[-1][0]
                    approval, published = self._approval_and_publication(
                        previous_approval + timedelta(days=self.rng.randint(30, 120))
                    )
                    if published.date() >= self.today or approval > self.today:
                        break
                    modified, reason, next_reference = self._modify(
                        chain[-1][2], year, scale, compliant, next_reference
                    )
                    chain.append((approval, published, modified, reason))
                for number, (approval, published, items, reason) in enumerate(chain):
                    version = PlanVersion(
                        plan=plan,
                        entity=entity,
                        number=number,
                        status=PlanVersion.Status.PUBLISHED,
                        reason=reason,
                        approval_date=approval,
                        approval_document=(
                            f"Resolución N.° {self.rng.randint(1, 400):03d}-{year}-{entity.acronym}"
                        ),
                        published_at=published,
                        published_late=plan_published_late(
                            approval, published.date(), self.calendar
                        ),
                    )
                    versions.append(version)
                    item_rows.append((version, items))
        ProcurementPlan.objects.bulk_create(plans, batch_size=BATCH)
        for version in versions:
            version.plan_id = version.plan.pk
        PlanVersion.objects.bulk_create(versions, batch_size=BATCH)
        PlanItem.objects.bulk_create(
            (
                PlanItem(version_id=version.pk, entity_id=version.entity_id, **item)
                for version, items in item_rows
                for item in items
            ),
            batch_size=BATCH,
        )
        self._snapshot(versions)
        return len(plans), len(versions), sum(len(items) for _v, items in item_rows)

    def _snapshot(self, versions: list[PlanVersion]) -> None:
        """Record each version's planned share, computed by the one SME-share function."""
        per_year = dict(FiscalYear.objects.values_list("year", "sme_reserved_min_share"))
        minimums = {version.pk: per_year[version.plan.fiscal_year_id] for version in versions}
        shares = planned_shares_by_version(
            PlanItem.objects.filter(version_id__in=minimums), minimums
        )
        for version in versions:
            share = shares[version.pk]
            record_snapshot(version, share)
            if not share.compliant:
                version.sme_justification = self.rng.choice(JUSTIFICATIONS)
        PlanVersion.objects.bulk_update(
            versions,
            [*SNAPSHOT_FIELDS, "sme_justification"],
            batch_size=2000,
        )
