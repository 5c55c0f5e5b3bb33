"""Loads the reference data shipped in core/data/ (idempotent: only missing rows are added,
so an admin's later edits survive; --update rewrites rows from the files)."""

import csv
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from core import reference_versions
from core.codelists import CatalogLevel
from core.models import (
    CatalogItem,
    Department,
    District,
    FiscalYear,
    ProcedureStage,
    ProcedureThreshold,
    Province,
    Sector,
    SmeRule,
    StageMinimum,
)
from core.text import ascii_fold

DATA = Path(__file__).resolve().parents[2] / "data"
_LOWER_WORDS = {"de", "del", "la", "las", "los", "el", "y", "en", "e"}
_PARENT_PREFIX = {"family": 2, "class": 4, "commodity": 6}
UBIGEO_TABLES = ("ubigeo_departamento.csv", "ubigeo_provincia.csv", "ubigeo_distrito.csv")
# The departments whose official names carry accents (the source's capitals do not name them).
OFFICIAL_DEPARTMENT_NAMES = ["Áncash", "Apurímac", "Huánuco", "Junín", "San Martín"]


def place_name(raw: str, spellings: dict[str, str] | None = None) -> str:
    """'JESUS MARIA' -> 'Jesús María': the source writes names in capitals without accents;
    each word takes its accented spelling from `spellings` (see accented_spellings)."""
    words = raw.strip().lower().split()
    spellings = spellings or {}
    return " ".join(
        w if (i and w in _LOWER_WORDS) else spellings.get(ascii_fold(w), w[:1].upper() + w[1:])
        for i, w in enumerate(words)
    )


def accented_spellings(names: list[str]) -> dict[str, str]:
    """Accented spellings of words, learnt from names the source does write with accents
    (the towns' names: 'Jesús María', 'Apurímac'): folded word -> its most frequent written
    form, kept only when that form carries an accent and is written so more often than
    without."""
    seen: dict[str, Counter] = {}
    for name in names:
        for word in name.split():
            seen.setdefault(ascii_fold(word).lower(), Counter())[word[:1].upper() + word[1:]] += 1
    spellings = {}
    for folded, forms in seen.items():
        best, count = forms.most_common(1)[0]
        plain_count = sum(n for form, n in forms.items() if ascii_fold(form) == form)
        if ascii_fold(best) != best and count > plain_count:
            spellings[folded] = best
    return spellings


def in_inei_table(row: dict[str, str]) -> bool:
    """The source appends 19 districts created after INEI's table was compiled (no INEI
    statistics, one without an INEI code); the portal loads INEI's 1,874."""
    return row["inei"].isdigit() and len(row["inei"]) == 6 and row["superficie"] != "NA"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def suppliable_rules() -> list[tuple[str, bool]]:
    rows = read_csv(DATA / "sme_suppliable_exceptions.csv")
    rules = [(r["prefix"], r["sme_suppliable"].strip().lower() == "true") for r in rows]
    return sorted(rules, key=lambda rule: len(rule[0]), reverse=True)


def is_sme_suppliable(code: str, rules: list[tuple[str, bool]]) -> bool:
    """The longest matching prefix rule decides; goods and services default to suppliable."""
    for prefix, flag in rules:
        if code.startswith(prefix):
            return flag
    return True


def bound(value: str) -> tuple[Decimal | None, Decimal | None]:
    """A threshold bound as written in the data: (soles, None), (None, UITs) or (None, None).
    A bound in UIT stays in UIT: it is computed from the year's UIT when used."""
    value = value.strip()
    if not value:
        return None, None
    if value.upper().endswith("UIT"):
        return None, Decimal(value[:-3].strip())
    return Decimal(value), None


@dataclass(frozen=True)
class Loaded:
    """What a run did with one kind of reference row."""

    created: int
    present: int
    updated: bool = False

    def __str__(self) -> str:
        others = "rewritten from the files" if self.updated else "already present"
        return f"{self.created} created, {self.present} {others}"


class Command(BaseCommand):
    help = "Loads UBIGEO, the UNSPSC catalog, sectors, SME rules and fiscal-year parameters."

    def add_arguments(self, parser):
        parser.add_argument(
            "--update", action="store_true", help="Overwrite existing rows with the files' values."
        )

    def _save(self, model, objects, fields) -> Loaded:
        """Add the rows missing by primary key (with --update, rewrite the others too)."""
        pk = model._meta.pk.name
        present = set(model.objects.values_list(pk, flat=True))
        created = sum(1 for o in objects if o.pk not in present)
        if self.update and fields:
            model.objects.bulk_create(
                objects,
                batch_size=2000,
                update_conflicts=True,
                unique_fields=[pk],
                update_fields=fields,
            )
        else:
            model.objects.bulk_create(objects, batch_size=2000, ignore_conflicts=True)
        return Loaded(created, len(objects) - created, self.update)

    @transaction.atomic
    def handle(self, *args, update=False, verbosity=1, **options):
        self.update = update
        counts = {}
        ubigeo = DATA / "ubigeo"
        spellings = accented_spellings(
            [r["capital"] for table in UBIGEO_TABLES for r in read_csv(ubigeo / table)]
        )
        spellings.update(
            {ascii_fold(w).lower(): w for name in OFFICIAL_DEPARTMENT_NAMES for w in name.split()}
        )
        counts["departments"] = self._save(
            Department,
            [
                Department(code=r["inei"][:2], name=place_name(r["departamento"], spellings))
                for r in read_csv(ubigeo / "ubigeo_departamento.csv")
            ],
            ["name"],
        )
        counts["provinces"] = self._save(
            Province,
            [
                Province(
                    code=r["inei"][:4],
                    department_id=r["inei"][:2],
                    name=place_name(r["provincia"], spellings),
                )
                for r in read_csv(ubigeo / "ubigeo_provincia.csv")
            ],
            ["name", "department"],
        )
        counts["districts"] = self._save(
            District,
            [
                District(
                    code=r["inei"],
                    province_id=r["inei"][:4],
                    name=place_name(r["distrito"], spellings),
                )
                for r in read_csv(ubigeo / "ubigeo_distrito.csv")
                if in_inei_table(r)
            ],
            ["name", "province"],
        )
        counts["catalog items"] = self._load_catalog()
        counts["sectors"] = self._save(
            Sector,
            [Sector(**row) for row in read_csv(DATA / "sectors.csv")],
            ["name_es", "name_en"],
        )
        rules = []
        for row in read_csv(DATA / "sme_rules.csv"):
            rules.append(
                SmeRule(
                    code=row["code"],
                    name=row["name"],
                    law=row["law"],
                    micro_max_workers=int(row["micro_max_workers"])
                    if row["micro_max_workers"]
                    else None,
                    micro_max_sales_uit=Decimal(row["micro_max_sales_uit"]),
                    small_max_workers=int(row["small_max_workers"])
                    if row["small_max_workers"]
                    else None,
                    small_max_sales_uit=Decimal(row["small_max_sales_uit"]),
                    medium_max_sales_uit=Decimal(row["medium_max_sales_uit"])
                    if row["medium_max_sales_uit"]
                    else None,
                )
            )
        counts["SME rules"] = self._save(
            SmeRule,
            rules,
            [
                "name",
                "law",
                "micro_max_workers",
                "micro_max_sales_uit",
                "small_max_workers",
                "small_max_sales_uit",
                "medium_max_sales_uit",
            ],
        )
        years = [
            FiscalYear(
                year=int(r["year"]),
                uit=Decimal(r["uit"]),
                uit_source=r["uit_source"],
                sme_rule_id=r["sme_rule"],
                sme_reserved_min_share=Decimal(r["sme_reserved_min_share"]),
                provisional=r["provisional"] == "true",
            )
            for r in read_csv(DATA / "fiscal_years.csv")
        ]
        counts["fiscal years"] = self._save(
            FiscalYear,
            years,
            ["uit", "uit_source", "sme_rule", "sme_reserved_min_share", "provisional"],
        )
        counts["procedure thresholds"] = self._load_thresholds()
        counts["procedure stages"], counts["stage minimums"] = self._load_stages()
        for model in reference_versions.watched_models():  # written in bulk: no signals
            reference_versions.changed(model)
        if verbosity:
            self.stdout.write("Reference data in place:")
            for label, loaded in counts.items():
                self.stdout.write(f"  {label}: {loaded}")

    def _load_catalog(self) -> Loaded:
        rows = read_csv(DATA / "unspsc" / "unspsc_v7_es_en.csv")
        codes = {r["code"] for r in rows}
        rules = suppliable_rules()
        items = []
        for r in rows:
            code, level = r["code"], r["level"]
            parent = None
            if level in _PARENT_PREFIX:
                # Walk up to the nearest ancestor present in the catalog.
                for length in (6, 4, 2):
                    if length > _PARENT_PREFIX[level]:
                        continue
                    candidate = code[:length].ljust(8, "0")
                    if candidate in codes and candidate != code:
                        parent = candidate
                        break
            items.append(
                CatalogItem(
                    code=code,
                    level=CatalogLevel(level),
                    parent_id=parent,
                    name_es=r["name_es"].strip() or r["name_en"].strip(),
                    name_en=r["name_en"].strip(),
                    sme_suppliable=is_sme_suppliable(code, rules),
                )
            )
        # Parents first, so the foreign keys hold at every batch.
        order = {"segment": 0, "family": 1, "class": 2, "commodity": 3}
        items.sort(key=lambda item: (order[item.level], item.code))
        return self._save(
            CatalogItem, items, ["level", "parent", "name_es", "name_en", "sme_suppliable"]
        )

    def _load_stages(self) -> tuple[Loaded, Loaded]:
        stages = [
            ProcedureStage(procedure_type=row["procedure_type"], stage=stage, position=position)
            for row in read_csv(DATA / "procedure_stages.csv")
            for position, stage in enumerate(row["stages"].split(), start=1)
        ]
        present = ProcedureStage.objects.count()
        if self.update:
            ProcedureStage.objects.all().delete()
        elif present:
            stages = []  # an admin's arrangement stays
        ProcedureStage.objects.bulk_create(stages)
        if not present:
            loaded_stages = Loaded(len(stages), 0)
        else:
            loaded_stages = Loaded(0, len(stages) if self.update else present, self.update)
        minimums = [
            StageMinimum(
                procedure_type=r["procedure_type"],
                stage=r["stage"],
                edge=r["edge"],
                from_stage=r["from_stage"],
                from_edge=r["from_edge"],
                working_days=int(r["working_days"]),
                note=r["note"],
            )
            for r in read_csv(DATA / "stage_minimums.csv")
        ]
        keys = {(m.procedure_type, m.stage, m.edge, m.from_stage, m.from_edge) for m in minimums}
        already = set(
            StageMinimum.objects.values_list(
                "procedure_type", "stage", "edge", "from_stage", "from_edge"
            )
        )
        loaded_minimums = Loaded(len(keys - already), len(keys & already), self.update)
        if not self.update:
            StageMinimum.objects.bulk_create(minimums, ignore_conflicts=True)
        else:
            for m in minimums:
                StageMinimum.objects.update_or_create(
                    procedure_type=m.procedure_type,
                    stage=m.stage,
                    edge=m.edge,
                    from_stage=m.from_stage,
                    from_edge=m.from_edge,
                    defaults={"working_days": m.working_days, "note": m.note},
                )
        return loaded_stages, loaded_minimums

    def _load_thresholds(self) -> Loaded:
        rows = read_csv(DATA / "procedure_thresholds.csv")
        existing = set(
            ProcedureThreshold.objects.values_list(
                "fiscal_year_id", "procedure_type", "object_type"
            )
        )
        created = present = 0
        for year in FiscalYear.objects.all():
            for r in rows:
                key = (year.year, r["procedure_type"], r["object_type"])
                min_amount, min_uit = bound(r["min"])
                max_amount, max_uit = bound(r["max"])
                values = {
                    "min_amount": min_amount,
                    "min_uit": min_uit,
                    "max_amount": max_amount,
                    "max_uit": max_uit,
                    "note": r["note"],
                }
                if key not in existing:
                    ProcedureThreshold.objects.create(
                        fiscal_year=year, procedure_type=key[1], object_type=key[2], **values
                    )
                    created += 1
                else:
                    present += 1
                    if self.update:
                        ProcedureThreshold.objects.filter(
                            fiscal_year=year, procedure_type=key[1], object_type=key[2]
                        ).update(**values)
        return Loaded(created, present, self.update)
