"""Demo entities, suppliers and their size classifications, built in bulk (no per-row save)."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from core.codelists import GovernmentLevel, SizeClass
from core.models import CatalogItem, District, FiscalYear, Province, round_uit
from core.ruc import with_check_digit
from suppliers.models import SizeClassification, Supplier

from ..models import Entity
from .names import (
    FIRM_CORES,
    FIRM_PREFIXES,
    FIRM_SUFFIXES,
    FIRM_TRADES,
    FIRST_NAMES,
    MINISTRIES,
    NATIONAL_AGENCIES,
    SME_FAMILIES,
    SURNAMES,
    acronym_slug,
)

BATCH = 5000
# The size mix of the registry of state suppliers: most are micro and small, as in Peru's
# economy (seed 000, Table 1: ~92% micro, ~7% small, ~1% medium and large), but medium and
# large firms, which sell to the state far more often than their number in the economy
# suggests, are about one in ten registered suppliers (so the demo's open processes have
# them bidding and winning, and some entities fall under the 40% SME share).
SIZE_MIX = [("micro", 0.72), ("small", 0.18), ("above", 0.10)]


class RucFactory:
    """Unique, valid RUCs drawn from a seeded stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def make(self, prefix: str) -> str:
        while True:
            body = prefix + "".join(str(self.rng.randrange(10)) for _ in range(10 - len(prefix)))
            ruc = with_check_digit(body)
            if ruc not in self.used:
                self.used.add(ruc)
                return ruc


def build_entities(rng: random.Random, district_municipalities: int) -> list[Entity]:
    rucs = RucFactory(rng)
    entities: list[Entity] = []
    acronyms: set[str] = set()

    def add(name, acronym, sector, level, ubigeo):
        base, n = acronym, 2
        while acronym in acronyms:
            acronym, n = f"{base}-{n}", n + 1
        acronyms.add(acronym)
        entities.append(
            Entity(
                ruc=rucs.make("20"),
                name=name,
                acronym=acronym,
                sector_id=sector,
                level=level,
                ubigeo_id=ubigeo,
            )
        )

    lima = "150101"
    for name, acronym, sector in MINISTRIES + NATIONAL_AGENCIES:
        add(name, acronym, sector, GovernmentLevel.NATIONAL, lima)

    provinces = list(Province.objects.select_related("department").order_by("code"))
    capitals = {p.code: f"{p.code}01" for p in provinces}
    departments = {p.department_id: p.department for p in provinces}
    for code, department in sorted(departments.items()):
        article = "del" if department.name == "Callao" else "de"
        capital = capitals[f"{code}01"]
        slug = acronym_slug(department.name, 12)
        add(
            f"Gobierno Regional {article} {department.name}",
            f"GORE-{slug}",
            "gobiernos-regionales",
            GovernmentLevel.REGIONAL,
            capital,
        )
        add(
            f"Hospital Regional {article} {department.name}",
            f"HR-{slug}",
            "salud",
            GovernmentLevel.REGIONAL,
            capital,
        )
    for province in provinces:
        if province.code == "1501":
            add(
                "Municipalidad Metropolitana de Lima",
                "MML",
                "gobiernos-locales",
                GovernmentLevel.LOCAL,
                lima,
            )
            continue
        add(
            f"Municipalidad Provincial de {province.name}",
            f"MP-{acronym_slug(province.name)}",
            "gobiernos-locales",
            GovernmentLevel.LOCAL,
            capitals[province.code],
        )
    non_capital = [
        d
        for d in District.objects.order_by("code").values_list("code", "name")
        if not d[0].endswith("01")
    ]
    for code, name in rng.sample(non_capital, min(district_municipalities, len(non_capital))):
        add(
            f"Municipalidad Distrital de {name}",
            f"MD-{acronym_slug(name)}",
            "gobiernos-locales",
            GovernmentLevel.LOCAL,
            code,
        )
    return entities


def _firm_name(rng: random.Random) -> str:
    parts = [rng.choice(FIRM_PREFIXES)]
    if rng.random() < 0.6:
        parts.append(rng.choice(FIRM_TRADES))
    parts.append(rng.choice(FIRM_CORES))
    parts.append(rng.choice(FIRM_SUFFIXES))
    return " ".join(parts)


def _person_name(rng: random.Random) -> str:
    return " ".join(
        [rng.choice(SURNAMES), rng.choice(SURNAMES), rng.choice(FIRST_NAMES)]
        + ([rng.choice(FIRST_NAMES)] if rng.random() < 0.5 else [])
    ).upper()


def _declared_size(rng: random.Random, uit: Decimal) -> tuple[Decimal, int]:
    """Annual sales (S/) and workers typical of a firm drawn from Peru's size mix."""
    roll, band = rng.random(), "above"
    cumulative = 0.0
    for name, share in SIZE_MIX:
        cumulative += share
        if roll < cumulative:
            band = name
            break
    if band == "micro":
        sales_uit, workers = rng.uniform(2, 150), rng.randint(1, 10)
    elif band == "small":
        sales_uit, workers = rng.uniform(151, 850), rng.randint(5, 50)
    else:
        sales_uit, workers = rng.uniform(851, 12000), rng.randint(51, 900)
    return (Decimal(str(round(sales_uit, 2))) * uit).quantize(Decimal("0.01")), workers


def _representative(index: int, natural: bool, name: str, ruc: str) -> dict[str, str]:
    """The legal representative in the registry: a person with RUC 10 represents itself (its
    RUC is 10 + its DNI + a check digit); a firm's is a person named from its index, with a
    DNI unique among the seed's suppliers (7919 is prime to 10^8). Drawn without the seed's
    random stream, so the rest of the data stays as it was."""
    if natural:
        return {"representative_name": name, "representative_dni": ruc[2:10]}
    given = FIRST_NAMES[index % len(FIRST_NAMES)]
    first = SURNAMES[(index * 7) % len(SURNAMES)]
    second = SURNAMES[(index * 13 + 5) % len(SURNAMES)]
    return {
        "representative_name": f"{given} {first} {second}",
        "representative_dni": f"{(40000000 + index * 7919) % 100000000:08d}",
    }


def build_suppliers(
    rng: random.Random, count: int, today: date, sales_year: FiscalYear, *, until: datetime
):
    """Suppliers with domicile, categories and a size classified by the year's SME rule;
    nothing dated after `until`."""
    rucs = RucFactory(rng)
    districts = list(District.objects.order_by("code").values_list("code", flat=True))
    lima_metro = [d for d in districts if d.startswith("1501")]
    commodities = list(
        CatalogItem.objects.filter(level="commodity", sme_suppliable=True)
        .order_by("code")
        .values_list("code", flat=True)
    )
    by_family: dict[str, list[str]] = {}
    for code in commodities:
        by_family.setdefault(code[:4], []).append(code)
    families = [f for f in SME_FAMILIES if f in by_family]
    rule = sales_year.sme_rule
    registered = timezone.make_aware(datetime.combine(today - timedelta(days=900), time(9)))
    # A year's sales are declared once that year is over: in the first weeks of the next one.
    declared_from = min(date(sales_year.year + 1, 1, 2), today)
    declaring_days = max(1, min(90, (today - declared_from).days + 1))

    suppliers, classifications, categories = [], [], []
    for index in range(count):
        natural = rng.random() < 0.4
        ruc = rucs.make("10" if natural else "20")
        domicile = rng.choice(lima_metro) if rng.random() < 0.45 else rng.choice(districts)
        sales, workers = _declared_size(rng, sales_year.uit)
        sales_uit = sales_year.to_uit(sales)
        size = rule.classify(sales_uit, workers)
        name = _person_name(rng) if natural else _firm_name(rng)
        suppliers.append(
            Supplier(
                ruc=ruc,
                legal_name=name,
                domicile_id=domicile,
                email="" if natural else f"ventas{index}@{acronym_slug(name, 14).lower()}.pe",
                **_representative(index, natural, name, ruc),
                registry_valid_until=today + timedelta(days=rng.randint(-120, 720)),
                registered_at=min(registered + timedelta(minutes=index), until),
                size_class=size,
                size_rule=rule,
            )
        )
        classifications.append(
            {
                "rule": rule,
                "sales_year": sales_year,
                "annual_sales": sales,
                "workers": workers,
                "sales_uit": round_uit(sales_uit),
                "size_class": size,
                "source": SizeClassification.Source.IMPORT,
                "classified_at": min(
                    timezone.make_aware(
                        datetime.combine(declared_from, time(9))
                        + timedelta(days=index % declaring_days, minutes=index % 480)
                    ),
                    until,
                ),
            }
        )
        family_count = 1 if rng.random() < 0.6 else 2
        chosen = set()
        for family in rng.sample(families, family_count):
            chosen.update(
                rng.sample(by_family[family], min(len(by_family[family]), rng.randint(1, 3)))
            )
        categories.append(sorted(chosen))

    Supplier.objects.bulk_create(suppliers, batch_size=BATCH)
    SizeClassification.objects.bulk_create(
        [
            SizeClassification(supplier_id=s.pk, **c)
            for s, c in zip(suppliers, classifications, strict=True)
        ],
        batch_size=BATCH,
    )
    through = Supplier.categories.through
    through.objects.bulk_create(
        [
            through(supplier_id=s.pk, catalogitem_id=code)
            for s, codes in zip(suppliers, categories, strict=True)
            for code in codes
        ],
        batch_size=BATCH,
    )
    return suppliers


def size_counts(suppliers: list[Supplier]) -> dict[str, int]:
    counts = dict.fromkeys(SizeClass.values, 0)
    for supplier in suppliers:
        counts[supplier.size_class] += 1
    return counts
