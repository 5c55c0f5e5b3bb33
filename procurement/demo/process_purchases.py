"""What demo processes buy and where: the procedure type that fits the year's thresholds,
items taken from the plan in force or bought outside it, and the description and place of
delivery. Reference data is read once."""

import random
from decimal import Decimal

from core.codelists import ObjectType, ProcedureType
from core.models import CatalogItem, District, FiscalYear, ProcedureThreshold

from ..rules import procedures_for
from .names import SME_FAMILIES
from .process_profile import (
    DESCRIPTIONS,
    DIRECT_CAUSES,
    DIRECT_SHARE,
    OBJECT_MIX,
    QUANTITIES,
    SCALE,
    UNITS,
    lower_first,
    pick,
)
from .process_timeline import choose


class Purchases:
    """The catalogue, thresholds and places the demo buys from, and the choices it makes."""

    def __init__(self, rng: random.Random, years: list[int]):
        self.rng = rng
        self.years = years
        self.thresholds = {
            y: list(ProcedureThreshold.objects.filter(fiscal_year_id=y).order_by("id"))
            for y in self.years
        }
        uit = dict(FiscalYear.objects.filter(year__in=self.years).values_list("year", "uit"))
        self.floor = {y: float(uit[y]) * 8 * 1.01 for y in self.years}  # above 8 UIT
        self.uit = {y: float(uit[y]) for y in self.years}
        self.uit_exact = {y: uit[y] for y in self.years}
        commodities = CatalogItem.objects.filter(level="commodity").order_by("code")
        families: dict[str, list[tuple[str, str]]] = {}
        for code, name in commodities.filter(sme_suppliable=True).values_list("code", "name_es"):
            families.setdefault(code[:4], []).append((code, name))
        self.codes = {
            ObjectType.GOODS: [
                c for f in SME_FAMILIES if int(f[:2]) < 70 for c in families.get(f, [])
            ],
            ObjectType.SERVICES: [
                c for f in SME_FAMILIES if int(f[:2]) >= 70 for c in families.get(f, [])
            ],
            ObjectType.WORKS: list(
                commodities.filter(code__startswith="7213").values_list("code", "name_es")
            ),
            ObjectType.CONSULTING_WORKS: list(
                commodities.filter(code__startswith="8110").values_list("code", "name_es")
            ),
        }
        # Specialised goods SMEs rarely supply (outside the 40% base).
        self.special_goods = list(
            commodities.filter(sme_suppliable=False, code__lt="7").values_list("code", "name_es")
        )
        districts = list(
            District.objects.order_by("code").values_list("code", "name", "province__name")
        )
        self.district = {code: (name, province) for code, name, province in districts}
        self.all_districts = [code for code, _n, _p in districts]
        self.by_department: dict[str, list[str]] = {}
        for code in self.all_districts:
            self.by_department.setdefault(code[:2], []).append(code)

    def procedure(self, year: int, object_type: str, value: Decimal, planned: str = "") -> str:
        rng = self.rng
        options = procedures_for(self.thresholds[year], object_type, value, self.uit_exact[year])
        if ProcedureType.CD in options and rng.random() < DIRECT_SHARE:
            return ProcedureType.CD
        options = [p for p in options if p != ProcedureType.CD]
        if planned in options and rng.random() < 0.85:
            return planned
        if "COMPRE" in options and rng.random() < 0.5:
            return "COMPRE"
        if "SCI" in options and rng.random() < 0.3:
            return "SCI"
        if "SIE" in options and rng.random() < (0.2 if object_type == ObjectType.GOODS else 0.05):
            return "SIE"
        main = [p for p in options if p in ("LP", "CP", "AS")] or options
        return main[0] if main else ProcedureType.CD

    def take_plan_items(self, pool: list[tuple]) -> list[tuple]:
        rng = self.rng
        first = pool.pop(int(rng.random() * len(pool)))
        chosen = [first]
        while pool and rng.random() < 0.3 and len(chosen) < 4:
            same = [i for i, row in enumerate(pool) if row[1] == first[1] and row[8] == first[8]]
            if not same:
                break
            chosen.append(pool.pop(choose(rng, same)))
        return chosen

    def outside_items(self, entity, year: int) -> tuple[str, list[tuple]]:
        rng = self.rng
        object_type = pick(rng, OBJECT_MIX)
        count = (
            1
            if object_type in (ObjectType.WORKS, ObjectType.CONSULTING_WORKS)
            else (pick(rng, [(1, 0.7), (2, 0.2), (3, 0.1)]))
        )
        low, high = {
            ObjectType.GOODS: (46_000, 900_000),
            ObjectType.SERVICES: (46_000, 700_000),
            ObjectType.WORKS: (300_000, 9_000_000),
            ObjectType.CONSULTING_WORKS: (60_000, 600_000),
        }[object_type]
        scale = SCALE.get(entity.level, 1.0)
        items = []
        for _ in range(count):
            if object_type == ObjectType.GOODS and self.special_goods and rng.random() < 0.1:
                code, name = choose(rng, self.special_goods)
            else:
                code, name = choose(rng, self.codes[object_type])
            if rng.random() < 0.3 and object_type != ObjectType.WORKS:
                value = rng.uniform(self.floor[year], 40 * self.uit[year])  # small purchases
            else:
                value = max(self.floor[year], rng.random() ** 2.2 * (high - low) * scale + low)
            quantity = choose(rng, QUANTITIES) if object_type == ObjectType.GOODS else 1
            items.append(
                (
                    None,
                    code,
                    name[:500],
                    Decimal(quantity),
                    choose(rng, UNITS[object_type]),
                    Decimal(f"{value:.2f}"),
                )
            )
        return object_type, items

    def describe(self, process, entity, first_name: str, items: int) -> None:
        rng = self.rng
        object_type = process.object_type
        ubigeo = entity.ubigeo
        if object_type in (ObjectType.WORKS, ObjectType.CONSULTING_WORKS):
            if entity.level == "national" and rng.random() < 0.6:
                ubigeo = choose(rng, self.all_districts)
            elif rng.random() < 0.6:
                ubigeo = choose(rng, self.by_department[entity.ubigeo[:2]])
        district, province = self.district[ubigeo]
        name = lower_first(first_name)
        template = choose(rng, DESCRIPTIONS[object_type])
        if name.startswith("servicio"):  # "servicios de limpieza" reads without a prefix
            template = "Contratación de {x}"
        text = template.format(x=name, a=entity.acronym, d=district)
        if items > 1:
            text += f" y otros ({items} ítems)"
        if process.procedure_type == ProcedureType.CD:
            cause, words = pick(rng, [((c, words), w) for c, w, words in DIRECT_CAUSES])
            process.direct_cause = cause
            text += f" (contratación directa por {words})"
        process.description = text[:500]
        process.ubigeo = ubigeo
        if object_type == ObjectType.GOODS:
            place = f"Almacén central de la {entity.acronym}, {district}, {province}"
        elif object_type == ObjectType.SERVICES:
            place = f"Sede institucional de la {entity.acronym}, {district}, {province}"
        else:
            place = f"Distrito de {district}, provincia de {province}"
        process.place = place[:255]
