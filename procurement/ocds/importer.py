"""Loading OCDS 1.1 release or record packages published by other portals, first of all Peru's
OECE (SEACE v3), used by `manage.py import_ocds`.

The OECE shape: the buyer is `PE-CONSUCODE-<n>` with its RUC in `additionalIdentifiers`
(scheme `PE-RUC`); suppliers and tenderers are `PE-RUC-<ruc>`; items are classified by CUBSO
(16 digits) with UNSPSC in `additionalClassifications`; the nomenclature (e.g.
`AS-SM-55-2024-ESSALUD-GCL-1`) is `tender.title`; the procedure's Spanish name is
`procurementMethodDetails`; amounts in PEN.

Two steps, as plan_import does: `iter_package` streams a file's releases, each with the
line it starts on (a package's `releases` or `records` array element by element, JSON lines
line by line; bad JSON or a file that is no package is UnreadablePackage naming the line);
`load_release` loads one release in its own transaction: it is checked against the shipped
schema, every RUC by its check digit and every code against ours, and any problem rolls back
the whole release (nothing half-imported) and is reported naming the release and its line.
A release already loaded (same ocid and release id, ImportedRelease) is skipped: loading the
same file twice changes nothing. Entities and suppliers are matched by RUC (created when new),
processes by their source and ocid, awards and contracts by their id at the source.

Releases are updates, as OCDS merges them: an award or contract release for one already here
states what changed (a consent or revocation only the award's status; a contract amendment
or the supplier's evaluation no status at all), and what it does not state is kept. A
contract's amendments, its termination (by the party the extension's `terminatedBy` names)
and the supplier's evaluation are checked by the contract services' rules and stored. A
deserted process or lot is an award `unsuccessful` with no supplier. `loading_order` puts
each process's releases in the order they happened (by date, then stage), the release that
calls the process first (a planning release, dated before it, cannot create the process: it
is recorded once the process is here), so the order of the files and lines does not
matter (`streamed_loading_order` does it over files read twice, never held whole).
"""

import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TextIO

from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from core.codelists import GovernmentLevel, ObjectType, ProcedureType, Unit, unit_from_text
from core.errors import DomainError
from core.models import CatalogItem, Department, District, FiscalYear
from core.ruc import is_valid_ruc
from core.text import plain
from suppliers.models import Supplier

from .. import red_flags, search, sme
from ..models import (
    Award,
    Contract,
    ContractAmendment,
    Entity,
    ImportedRelease,
    ProcessItem,
    ProcessStatus,
    ProcurementProcess,
    StatusChange,
    SupplierEvaluation,
)
from ..models.contracts import STANDING_STATUSES
from ..services import contracts
from ..services.evaluation import clean_reason
from ..services.processes.status import every_lot_contracted
from . import schema
from .releases import TENDER_STATUS

SOURCE = "oece"
RUC_SCHEME = "PE-RUC"
FALLBACK_DISTRICT = "150101"  # Lima, when a party's address names no district we know

# procurementMethodDetails as OECE writes it (folded), to our procedure types.
PROCEDURES = {
    "licitacion publica": ProcedureType.LP,
    "concurso publico": ProcedureType.CP,
    "adjudicacion simplificada": ProcedureType.AS,
    "subasta inversa electronica": ProcedureType.SIE,
    "comparacion de precios": ProcedureType.COMPRE,
    "contratacion directa": ProcedureType.CD,
    "seleccion de consultores individuales": ProcedureType.SCI,
}
CATEGORIES = {
    "goods": ObjectType.GOODS,
    "services": ObjectType.SERVICES,
    "works": ObjectType.WORKS,
}
TENDER_STATUSES = {
    "active": ProcessStatus.CALLED,
    "complete": ProcessStatus.AWARDED,
    "unsuccessful": ProcessStatus.DESERTED,
    "cancelled": ProcessStatus.CANCELLED,
}
# The statuses a release can state only in tender.statusDetails (OCDS has no code for them);
# the others follow from the awards and contracts the releases carry, never from a word.
STATED_ONLY_IN_DETAILS = {ProcessStatus.SUSPENDED, ProcessStatus.VOID}
AWARD_STATUSES = {
    "pending": Award.Status.AWARDED,
    "active": Award.Status.CONSENTED,
    "unsuccessful": Award.Status.DESERTED,
    "cancelled": Award.Status.REVOKED,
}
CONTRACT_STATUSES = {
    "active": Contract.Status.ACTIVE,
    "terminated": Contract.Status.COMPLETED,
    "cancelled": Contract.Status.VOID,
}
# Entities: the sector and level the name tells (OCDS states neither).
SECTOR_WORDS = [
    ("municipalidad", "gobiernos-locales", GovernmentLevel.LOCAL),
    ("gobierno regional", "gobiernos-regionales", GovernmentLevel.REGIONAL),
    ("salud", "salud", GovernmentLevel.NATIONAL),
    ("educacion", "educacion", GovernmentLevel.NATIONAL),
    ("universidad", "educacion", GovernmentLevel.NATIONAL),
    ("transportes", "transportes", GovernmentLevel.NATIONAL),
    ("interior", "interior", GovernmentLevel.NATIONAL),
    ("policia", "interior", GovernmentLevel.NATIONAL),
    ("defensa", "defensa", GovernmentLevel.NATIONAL),
    ("ejercito", "defensa", GovernmentLevel.NATIONAL),
]
DEFAULT_SECTOR = ("pcm", GovernmentLevel.NATIONAL)
NOMENCLATURE = re.compile(
    r"^(?P<type>[A-Z]+)-[A-Z]+-(?P<sequence>\d+)-(?P<year>\d{4})-(?P<acronym>[A-Z0-9-]+?)-(?P<call>\d+)$"
)


class UnreadablePackage(Exception):
    """A file that cannot be read at all (bad JSON, not a package)."""


class ReleaseRefused(Exception):
    """A release that is not loaded, and why."""


@dataclass
class SourceRelease:
    data: dict
    line: int
    file: str = ""  # the file it was read from, when the caller says

    @property
    def label(self) -> str:
        release_id = self.data.get("id") if isinstance(self.data, dict) else None
        return f"line {self.line}, release {release_id or '(no id)'}"


@dataclass
class Outcome:
    loaded: bool
    notes: list[str] = field(default_factory=list)
    # The (entity id, year) pairs of the SME summary the release moved.
    summary_years: set[tuple[int, int]] = field(default_factory=set)
    # The (entity id, fiscal year) pairs whose red flags the release changed.
    red_flag_scopes: set[tuple[int, int]] = field(default_factory=set)


# --- Reading ----------------------------------------------------------------------------------


CHUNK = 1 << 20  # characters read at a time from a JSON package
# The longest single value (a release, a record) read whole: a file whose one value goes on
# beyond it, or that is bad JSON near its start, is refused before it fills the memory.
MAX_VALUE_CHARS = 64 << 20


class _JSONStream:
    """A JSON text read a chunk at a time, one value after another (json's C scanner on a
    buffer that keeps only what is not read yet), each value with the line it starts on."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.buffer = ""
        self.position = 0
        self.line = 1  # the line of self.position
        self.ended = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.ended:
            return False
        chunk = self.stream.read(max(CHUNK, len(self.buffer) - self.position))
        if not chunk:
            self.ended = True
            return False
        self.buffer = self.buffer[self.position :] + chunk  # what was read is let go
        self.position = 0
        return True

    def _advance(self, to: int) -> None:
        self.line += self.buffer.count("\n", self.position, to)
        self.position = to

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position] in " \t\r\n":
                self._advance(self.position + 1)
            if self.position < len(self.buffer) or not self._more():
                return self.buffer[self.position : self.position + 1]

    def take(self, expected: str) -> None:
        found = self.peek()
        if found != expected:
            raise UnreadablePackage(
                f"line {self.line}: bad JSON: expecting {expected!r}, found {found or 'the end'!r}"
            )
        self._advance(self.position + 1)

    def value(self):
        """The next JSON value, whole (a release, a record, a key...), at most
        MAX_VALUE_CHARS long."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as error:
                if len(self.buffer) - self.position < MAX_VALUE_CHARS and self._more():
                    continue  # cut by the chunk's end: read on
                line = self.line + self.buffer.count("\n", self.position, error.pos)
                raise UnreadablePackage(f"line {line}: bad JSON: {error.msg}") from error
            except RecursionError as error:
                raise UnreadablePackage(f"line {self.line}: bad JSON: nested too deep") from error
            # A number may go on past the chunk's end ("1" then "e2", or "1." then "5").
            if len(self.buffer) - end <= 2 and self._more():
                continue
            self._advance(end)
            return value


def _record_releases(entry, at: int) -> list[SourceRelease]:
    if not isinstance(entry, dict):
        raise UnreadablePackage(f"line {at}: a record is not an object")
    full = [r for r in entry.get("releases") or [] if isinstance(r, dict) and "tag" in r]
    if full:  # the record's releases themselves
        return [SourceRelease(release, at) for release in full]
    if isinstance(entry.get("compiledRelease"), dict):  # only linked releases
        return [SourceRelease(entry["compiledRelease"], at)]
    raise UnreadablePackage(f"line {at}: a record has neither releases nor a compiled release")


def _from_package(package, line: int) -> list[SourceRelease]:
    """The releases of a package read whole (one line of JSON lines)."""
    if not isinstance(package, dict) or not (
        isinstance(package.get("releases"), list) or isinstance(package.get("records"), list)
    ):
        raise UnreadablePackage(f"line {line}: not an OCDS release or record package")
    if isinstance(package.get("releases"), list):
        return [SourceRelease(release, line) for release in package["releases"]]
    return [found for entry in package["records"] for found in _record_releases(entry, line)]


def _stream_package(stream: TextIO) -> Iterator[SourceRelease]:
    """The releases of a release or record package, one at a time: its `releases` (or
    `records`) array is read element by element, never whole; the other members (publisher,
    extensions...) are read and let go."""
    reader = _JSONStream(stream)
    if reader.peek() != "{":
        reader.value()  # bad JSON is said so; any other value is no package
        raise UnreadablePackage("line 1: not an OCDS release or record package")
    reader.take("{")
    found = False
    while reader.peek() != "}":
        key = reader.value()
        reader.take(":")
        if key in ("releases", "records") and reader.peek() == "[" and not found:
            found = True
            reader.take("[")
            while reader.peek() != "]":
                at = reader.line
                element = reader.value()
                if key == "releases":
                    yield SourceRelease(element, at)
                else:
                    yield from _record_releases(element, at)
                if reader.peek() != "]":
                    reader.take(",")
            reader.take("]")
        else:
            reader.value()
        if reader.peek() != "}":
            reader.take(",")
    reader.take("}")
    if reader.peek():
        raise UnreadablePackage(f"line {reader.line}: bad JSON: extra data after the package")
    if not found:
        raise UnreadablePackage("line 1: not an OCDS release or record package")


def _stream_lines(stream: TextIO) -> Iterator[SourceRelease]:
    """JSON lines, one line at a time: each a release, or a package of releases."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise UnreadablePackage(f"line {number}: bad JSON: {error.msg}") from error
        if isinstance(data, dict) and ("releases" in data or "records" in data):
            yield from _from_package(data, number)
        else:
            yield SourceRelease(data, number)


def iter_package(stream: TextIO, *, jsonl: bool = False) -> Iterator[SourceRelease]:
    """The releases of a release or record package (JSON), or of JSON lines holding releases
    or packages, each with the line it starts on, read incrementally (memory bounded by the
    largest release, not the file); UnreadablePackage for bad JSON naming the line (raised
    when the reading reaches it: the releases before it have been yielded)."""
    return _stream_lines(stream) if jsonl else _stream_package(stream)


def read_package(text: str, *, jsonl: bool = False) -> list[SourceRelease]:
    """iter_package of a text held whole, as a list."""
    return list(iter_package(io.StringIO(text), jsonl=jsonl))


# --- Order -----------------------------------------------------------------------------------

# Where each release tag stands in a process's life: the order of releases of the same date.
TAG_STAGES = {
    "planning": 0,
    "planningUpdate": 0,
    "tender": 1,
    "tenderAmendment": 2,
    "tenderUpdate": 2,
    "tenderCancellation": 2,
    "award": 3,
    "awardUpdate": 4,
    "awardCancellation": 4,
    "contract": 5,
    "contractAmendment": 6,
    "contractUpdate": 6,
    "implementation": 7,
    "implementationUpdate": 7,
    "contractTermination": 7,
}
PLANNING_TAGS = {"planning", "planningUpdate"}


def _opens_process(release: dict) -> bool:
    """A release that can create its process here: it carries the call (the tender's
    title, the nomenclature), not just the plan."""
    tags = release.get("tag") if isinstance(release.get("tag"), list) else []
    tender = release.get("tender") if isinstance(release.get("tender"), dict) else {}
    return bool(tender.get("title")) and not set(tags) <= PLANNING_TAGS


def _order_key(position: int, source: SourceRelease) -> tuple:
    release = source.data
    try:
        moment = _moment(release.get("date")).timestamp()
    except (TypeError, ValueError, AttributeError):
        moment = float("inf")  # refused by the schema check anyway, in its place
    tags = release.get("tag") if isinstance(release.get("tag"), list) else []
    stage = min((TAG_STAGES.get(tag, 8) for tag in tags if isinstance(tag, str)), default=8)
    return (moment, stage, position)


def loading_order(sources: list[SourceRelease]) -> list[SourceRelease]:
    """The releases in the order they are loaded: by ocid (in the order ocids first
    appear), each ocid's first the release that calls its process (the first, by date, with
    a tender.title: a planning release dated before it cannot create the process), then
    the rest as they happened (by date, then by stage for releases of the same date), so
    that the order in the files does not matter, as when compiling a record."""
    by_ocid: dict[object, list[tuple[int, SourceRelease]]] = {}
    for position, source in enumerate(sources):
        data = source.data
        ocid = data.get("ocid") if isinstance(data, dict) else None
        key = ocid if isinstance(ocid, str) else ("unreadable", position)
        by_ocid.setdefault(key, []).append((position, source))
    ordered = []
    for group in by_ocid.values():
        if len(group) == 1:
            ordered.append(group[0][1])
            continue
        group.sort(key=lambda entry: _order_key(*entry))
        opening = next((e for e in group if _opens_process(e[1].data)), None)
        if opening is not None:
            group.remove(opening)
            group.insert(0, opening)
        ordered.extend(source for _position, source in group)
    return ordered


def _ocid_of(source: SourceRelease) -> str | None:
    ocid = source.data.get("ocid") if isinstance(source.data, dict) else None
    return ocid if isinstance(ocid, str) else None


def streamed_loading_order(read: Callable[[], Iterable[SourceRelease]]) -> Iterator[SourceRelease]:
    """loading_order over files read twice, never held whole: `read()` streams every
    release of the files. The first reading counts each ocid's releases (and finds bad JSON
    before anything is loaded); the second keeps each ocid's releases until the last one
    is read, then gives them in loading_order. Memory: a count per ocid, and the releases
    of the ocids not complete yet: one process's at a time for a file that keeps them
    together (as export_ocds writes them), more for a file that scatters them."""
    counts = Counter(ocid for source in read() if (ocid := _ocid_of(source)) is not None)
    waiting: dict[str, list[SourceRelease]] = {}
    for source in read():
        ocid = _ocid_of(source)
        if ocid is None:  # refused by the schema check, in its place
            yield source
            continue
        group = waiting.setdefault(ocid, [])
        group.append(source)
        if len(group) >= counts[ocid]:
            del waiting[ocid]
            yield from loading_order(group)
    for group in waiting.values():  # a file that changed between the readings
        yield from loading_order(group)


# --- Small readers ----------------------------------------------------------------------------


def _cancelled(contract) -> bool:
    return isinstance(contract, dict) and contract.get("status") == "cancelled"


def _amount(value, what: str, *, zero: bool = False) -> Decimal:
    if not isinstance(value, dict) or value.get("amount") is None:
        raise ReleaseRefused(f"{what} has no amount")
    if value.get("currency", "PEN") != "PEN":
        raise ReleaseRefused(f"{what} is in {value.get('currency')}, not PEN")
    try:
        amount = Decimal(str(value["amount"])).quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise ReleaseRefused(f"{what} is not an amount") from error
    if amount < 0 or (amount == 0 and not zero):
        raise ReleaseRefused(f"{what} is not positive")
    return amount


def _reason(value, what: str, *, required: bool = True) -> str:
    """A reason or comment as the portal stores it (clean_reason), required unless not."""
    try:
        reason = clean_reason(value if isinstance(value, str) else "")
    except DomainError as error:
        raise ReleaseRefused(f"{what}: {error.message}") from error
    if required and not reason:
        raise ReleaseRefused(f"{what}: no reason stated (rationale or description)")
    return reason


IMPORT_USER_EMAIL = "importacion-ocds@portal.invalid"


def import_user():
    """Who signs what the import records and the portal's rows need a person for (contract
    amendments, supplier evaluations): an inactive account that cannot log in, created the
    first time."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        email=IMPORT_USER_EMAIL, defaults={"full_name": "Importación OCDS", "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif user.is_active or user.has_usable_password() or user.self_registered:
        # Someone registered the address first: what the import records is never signed
        # by a person's account.
        raise ReleaseRefused(
            f"the import's account {IMPORT_USER_EMAIL} is a person's account (active, with a "
            f"password or self-registered): an administrator must remove it first"
        )
    return user


class RunSigner:
    """import_user looked up once for a run of many releases (the first release that needs
    it), then reused. When new, the account is created inside that release's transaction:
    a refused release rolls it back, so the run calls forget() after each refusal."""

    def __init__(self):
        self.user = None

    def __call__(self):
        if self.user is None:
            self.user = import_user()  # a refusal is not kept: each release meets it
        return self.user

    def forget(self) -> None:
        self.user = None


def _moment(value: str | None, fallback: datetime | None = None) -> datetime | None:
    if not value:
        return fallback
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else timezone.make_aware(moment)


def _day(value: str | None, fallback: date | None = None) -> date | None:
    moment = _moment(value)
    return timezone.localtime(moment).date() if moment else fallback


def _ruc_of(party: dict) -> str:
    """The party's RUC: `PE-RUC-<ruc>` or an identifier or additional identifier in scheme
    PE-RUC (OECE's buyers are PE-CONSUCODE-<n>); refused unless its check digit holds."""
    candidates = [party.get("identifier") or {}, *(party.get("additionalIdentifiers") or [])]
    ruc = next((str(i.get("id")) for i in candidates if i.get("scheme") == RUC_SCHEME), None)
    party_id = str(party.get("id", ""))
    if ruc is None and party_id.startswith(f"{RUC_SCHEME}-"):
        ruc = party_id[len(RUC_SCHEME) + 1 :]
    if ruc is None:
        raise ReleaseRefused(f"party {party_id} has no RUC (scheme PE-RUC)")
    if not is_valid_ruc(ruc):
        raise ReleaseRefused(f"party {party_id} has a bad RUC {ruc} (check digit or format)")
    return ruc


def _district(address: dict | None, notes: list[str], who: str) -> District:
    """The district an address names (region = department, locality = district), else the
    department's first, else Lima; what could not be matched is noted."""
    address = address or {}
    region = plain(address.get("region") or "")
    department = next((d for d in Department.objects.all() if plain(d.name) == region), None)
    if department is not None:
        locality = plain(address.get("locality") or "")
        districts = District.objects.filter(province__department=department).order_by("code")
        match = next((d for d in districts if plain(d.name) == locality), None)
        if match is not None:
            return match
        notes.append(f"{who}: district {address.get('locality')!r} not found, using the region's")
        return districts.first()
    notes.append(f"{who}: region {address.get('region')!r} not found, using Lima")
    return District.objects.get(code=FALLBACK_DISTRICT)


# --- Loading ----------------------------------------------------------------------------------


class _Loader:
    def __init__(self, release: dict, notes: list[str], signer: Callable[[], object]):
        self.release = release
        self.notes = notes
        self.signer = signer  # who signs what the import records (import_user)
        self.red_flag_scopes: set[tuple[int, int]] = set()  # refreshed at the end
        self.parties = {str(p.get("id")): p for p in release.get("parties") or []}
        self.date = _moment(release.get("date"))

    @property
    def day(self) -> date:
        """The release's date as a day in Lima (a release dated 01:30Z is the evening before
        there), the fallback of the days a release leaves out."""
        return timezone.localtime(self.date).date()

    def party(self, reference: dict | None, what: str) -> dict:
        party_id = str((reference or {}).get("id", ""))
        party = self.parties.get(party_id)
        if party is None:
            raise ReleaseRefused(f"{what} {party_id or '(none)'} is not in parties")
        return party

    def entity(self, party: dict, acronym: str) -> Entity:
        ruc = _ruc_of(party)
        if not ruc.startswith("20"):
            raise ReleaseRefused(f"buyer {party.get('id')}: RUC {ruc} is not an entity's (20...)")
        found = Entity.objects.filter(ruc=ruc).first()
        if found is not None:
            return found
        name = party.get("name") or (party.get("identifier") or {}).get("legalName") or ruc
        folded = plain(name)
        sector, level = next(
            ((s, lv) for word, s, lv in SECTOR_WORDS if word in folded), DEFAULT_SECTOR
        )
        if Entity.objects.filter(acronym=acronym).exists():
            acronym = f"{acronym}-{ruc[-4:]}"
        district = _district(party.get("address"), self.notes, f"entity {ruc}")
        self.notes.append(f"entity {ruc}: created (sector {sector}, level {level}: review)")
        return Entity.objects.create(
            ruc=ruc,
            name=name[:255],
            acronym=acronym[:30],
            sector_id=sector,
            level=level,
            ubigeo=district,
            address=((party.get("address") or {}).get("streetAddress") or "")[:255],
        )

    def supplier(self, reference: dict) -> Supplier:
        party = self.party(reference, "supplier")
        ruc = _ruc_of(party)
        found = Supplier.objects.filter(ruc=ruc).first()
        if found is not None:
            return found
        district = _district(party.get("address"), self.notes, f"supplier {ruc}")
        return Supplier.objects.create(
            ruc=ruc,
            legal_name=(party.get("name") or ruc)[:255],
            domicile=district,
            address=((party.get("address") or {}).get("streetAddress") or "")[:255],
        )

    def catalog_item(self, item: dict) -> CatalogItem:
        classifications = [
            item.get("classification") or {},
            *(item.get("additionalClassifications") or []),
        ]
        codes = [str(c.get("id")) for c in classifications if c.get("scheme") == "UNSPSC"]
        found = CatalogItem.objects.filter(code__in=codes).first() if codes else None
        if found is None:
            shown = ", ".join(f"{c.get('scheme')} {c.get('id')}" for c in classifications)
            raise ReleaseRefused(f"item {item.get('id')}: unknown UNSPSC code ({shown})")
        return found

    @staticmethod
    def item_description(item: dict, process: ProcurementProcess, unit_code: str) -> str:
        """The item's description; a unit outside the codelist is kept at its end."""
        text = str(item.get("description") or process.description)
        unit = item.get("unit") or {}
        if unit.get("name") and unit_code == Unit.OTHER:
            suffix = f" [{str(unit['name'])[:100]}]"
            return text[: 500 - len(suffix)] + suffix
        return text[:500]

    def unit(self, item: dict) -> str:
        """The item's unit in our codelist: by its UNCEFACT code, else by its name."""
        unit = item.get("unit") or {}
        if not unit:
            self.notes.append(f"item {item.get('id')}: no unit of measure, using 'unidad'")
            return Unit.UNIT.value
        if unit.get("scheme") == "UNCEFACT" and str(unit.get("id")) in Unit.values:
            return str(unit["id"])
        found = unit_from_text(unit.get("name") or "")
        if found is None:
            self.notes.append(
                f"item {item.get('id')}: unit of measure {unit.get('name')!r} "
                f"({unit.get('scheme')} {unit.get('id')}) is not in the codelist: recorded as "
                f"'other unit', its name kept in the description, out of price statistics"
            )
            return Unit.OTHER.value
        return found

    # -- the process

    def procedure(self, tender: dict, nomenclature: dict) -> str:
        details = plain(tender.get("procurementMethodDetails") or "")
        for name, procedure in PROCEDURES.items():
            if details.startswith(name):
                return procedure
        if not details and nomenclature["type"] in ProcedureType.values:
            return nomenclature["type"]
        raise ReleaseRefused(
            f"unknown procedure {tender.get('procurementMethodDetails')!r} "
            f"(procurementMethodDetails)"
        )

    def create_process(self, ocid: str, tender: dict) -> ProcurementProcess:
        title = str(tender.get("title") or "")
        nomenclature = NOMENCLATURE.match(title)
        if nomenclature is None:
            raise ReleaseRefused(f"tender.title {title!r} is not a SEACE nomenclature")
        if ProcurementProcess.objects.filter(identifier=title).exists():
            raise ReleaseRefused(f"identifier {title} is already another process's")
        year = FiscalYear.objects.filter(year=int(nomenclature["year"])).first()
        if year is None:
            raise ReleaseRefused(f"fiscal year {nomenclature['year']} is not in our reference data")
        category = tender.get("mainProcurementCategory")
        if category not in CATEGORIES:
            raise ReleaseRefused(f"unknown mainProcurementCategory {category!r}")
        buyer = self.party(self.release.get("buyer") or tender.get("procuringEntity"), "buyer")
        entity = self.entity(buyer, nomenclature["acronym"])
        published = _moment((tender.get("tenderPeriod") or {}).get("startDate"), self.date)
        process = ProcurementProcess.objects.create(
            entity=entity,
            fiscal_year=year,
            identifier=title,
            procedure_type=self.procedure(tender, nomenclature),
            sequence=int(nomenclature["sequence"]),
            call_number=int(nomenclature["call"]),
            object_type=CATEGORIES[category],
            description=(tender.get("description") or title)[:500],
            delivery_place=entity.address or entity.ubigeo.name,
            delivery_ubigeo=entity.ubigeo,
            estimated_value=_amount(tender.get("value"), "tender.value"),
            status=ProcessStatus.DRAFT,
            published_at=published,
            source=SOURCE,
            ocid=ocid,
        )
        self.set_status(process, ProcessStatus.CALLED, published)
        return process

    def add_items(self, process: ProcurementProcess, tender: dict) -> None:
        known = set(process.items.values_list("source_ref", flat=True))
        items = [i for i in tender.get("items") or [] if str(i.get("id")) not in known]
        for item in items:
            stated = item.get("quantity")
            quantity = Decimal(str(1 if stated is None else stated))
            unit = item.get("unit") or {}
            if unit.get("value"):
                value = _amount(unit["value"], f"item {item.get('id')} unit value") * quantity
            else:
                value = process.estimated_value / max(len(tender.get("items")), 1)
            unit_code = self.unit(item)
            ProcessItem.objects.create(
                process=process,
                entity=process.entity,
                catalog_item=self.catalog_item(item),
                description=self.item_description(item, process, unit_code),
                quantity=quantity,
                unit=unit_code,
                estimated_value=value.quantize(Decimal("0.01")),
                source_ref=str(item.get("id")),
            )

    def set_status(self, process: ProcurementProcess, status: str, moment: datetime) -> None:
        if process.status == status:
            return
        previous, process.status = process.status, status
        process.save(update_fields=["status"])  # first: the change reads the new status
        StatusChange.objects.create(
            process=process,
            action="import",
            from_status=previous,
            to_status=status,
            reason=f"OCDS {self.release.get('id')}",
            at=moment,
        )

    # -- awards and contracts

    def award(self, process: ProcurementProcess, data: dict) -> Award:
        """An award, new or an update of one loaded before (matched by its id at the source).
        An update states what changed (OCDS releases merge by id): a consent or revocation
        carries only the new status, so the winner and amount already here are kept. A
        granted award must end up with a winner and an amount; a deserted one (`unsuccessful`,
        a deserted process or lot) has neither."""
        ref = str(data.get("id"))
        award = process.awards.filter(source_ref=ref).first()
        stated = data.get("status")
        status = AWARD_STATUSES.get(stated)
        if stated is not None and status is None:
            raise ReleaseRefused(f"award {ref}: unknown status {stated!r}")
        if award is None:
            if status is None:
                raise ReleaseRefused(f"award {ref}: new here and the release states no status")
            award = Award(process=process, source_ref=ref)
        before = (award.status, award.supplier_id, award.amount) if award.pk else None
        award.status = status or award.status
        award.decided_at = award.decided_at or _moment(data.get("date"), self.date)
        item_ids = [str(i.get("id")) for i in data.get("items") or []]
        if item_ids and process.items.count() > 1:
            award.item = process.items.filter(source_ref=item_ids[0]).first()
        if award.status == Award.Status.DESERTED:
            award.reason = data.get("description") or award.reason or "Desierto (OCDS)"
            award.supplier, award.amount = None, None
        else:
            suppliers = data.get("suppliers") or []
            if suppliers:
                award.supplier = self.supplier(suppliers[0])
            if data.get("value") is not None:
                award.amount = _amount(data.get("value"), f"award {ref} value")
            if award.supplier_id is None or award.amount is None:
                raise ReleaseRefused(
                    f"award {ref} ({stated}): no supplier and value, neither in this release "
                    f"nor loaded before"
                )
        signed = before is not None and (Contract.objects.standing().filter(award=award).exists())
        if signed and (award.supplier_id, award.amount) != before[1:]:
            raise ReleaseRefused(
                f"award {ref}: its contract is signed here; its winner and amount cannot change"
            )
        if signed and award.status in (Award.Status.DESERTED, Award.Status.REVOKED):
            raise ReleaseRefused(
                f"award {ref}: its contract is signed here; it cannot become {stated!r}"
            )
        if award.status == Award.Status.CONSENTED:
            award.consented_on = award.consented_on or _day(data.get("date"), self.day)
        if award.status == Award.Status.REVOKED:
            award.revoked_at = award.revoked_at or _moment(data.get("date"), self.date)
        award.save()
        return award

    def contract(self, process: ProcurementProcess, data: dict) -> Contract | None:
        """A contract when signed, or an update of one loaded before (matched by its id at
        the source): its amendments (while active), its end (completion, termination by a
        party, annulment) and the supplier's evaluation once it ended, each checked by the
        rules the portal's own contract services apply. An update with no status keeps the
        contract's status."""
        ref = str(data.get("id"))
        contract = process.contracts.filter(source_ref=ref).first()
        stated = data.get("status")
        if stated == "pending":
            self.notes.append(f"contract {ref}: pending (not signed), not loaded")
            return None
        if stated is None and contract is None:
            raise ReleaseRefused(
                f"contract {ref}: not loaded before and the release states no status "
                f"(an update of a contract that is not here)"
            )
        status = CONTRACT_STATUSES.get(stated) if stated is not None else contract.status
        if status is None:
            raise ReleaseRefused(f"contract {ref}: unknown status {stated!r}")
        party = data.get("terminatedBy")
        if status == Contract.Status.COMPLETED and (
            data.get("statusDetails") == Contract.Status.TERMINATED or party
        ):
            if party:  # the portal's extension states who terminated it
                status = Contract.Status.TERMINATED
            else:
                self.notes.append(
                    f"contract {ref}: terminated early, recorded as ended (culminado): the "
                    f"release does not say which party terminated it (terminatedBy)"
                )
        elif status == Contract.Status.COMPLETED and "contractTermination" in self.release["tag"]:
            self.notes.append(
                f"contract {ref}: terminated early, recorded as ended (culminado): the release "
                f"does not say which party terminated it (terminatedBy)"
            )
        period = data.get("period") or {}
        created_here = contract is None
        if not created_here and not contracts.status_change_allowed(contract.status, status):
            # As the portal's own contracts move (CONTRACT_TRANSITIONS): only from active.
            raise ReleaseRefused(
                f"contract {ref}: is {contract.get_status_display().lower()} here and cannot "
                f"become {Contract.Status(status).label.lower()}"
            )
        if created_here:
            contract = self.new_contract(process, data, ref, period)
            self.check_standing(contract, ref)
            contract.save()
        self.amend(contract, data, ref, created_here=created_here)
        if status == Contract.Status.TERMINATED:
            self.terminate(contract, data, ref, party, period)
        else:
            contract.status = status
        if status == Contract.Status.COMPLETED and stated is not None:
            # Its end as this release states it; an update with no status (the supplier's
            # evaluation, after the end) keeps the end loaded before.
            contract.ended_on = _day(period.get("endDate"), self.day)
            if data.get("finalValue") is not None:
                contract.final_amount = _amount(data["finalValue"], f"contract {ref} finalValue")
            contract.final_amount = contract.final_amount or contract.amount
        if status == Contract.Status.VOID:
            contract.ended_on = contract.ended_on or self.day
        if status in STANDING_STATUSES and not created_here:  # a new one was checked above
            self.check_standing(contract, ref)
        contract.save()
        self.evaluate(contract, data, ref)
        return contract

    @staticmethod
    def check_standing(contract: Contract, ref: str) -> None:
        if (
            Contract.objects.standing()
            .filter(award_id=contract.award_id)
            .exclude(pk=contract.pk)
            .exists()
        ):
            raise ReleaseRefused(
                f"contract {ref}: its award has a contract here that is not cancelled; an "
                f"award has one contract at a time (a cancelled one may be replaced)"
            )

    def terminate(self, contract: Contract, data: dict, ref: str, party, period: dict) -> None:
        """Terminated (resuelto) by the party the release names, with its reason and date:
        the checks of contracts.terminate_contract (only an active contract, then
        contracts.clean_termination: a party, a reason, a date from the signing to today).
        A repeated termination release of one terminated here changes nothing."""
        if contract.status == Contract.Status.TERMINATED:
            return
        refusal = contracts.contract_action_refusal(contract, "terminate")
        if refusal is not None:
            raise ReleaseRefused(f"contract {ref}: cannot be terminated: {refusal.message}")
        try:
            party, reason, ended_on = contracts.clean_termination(
                contract,
                party,
                data.get("description"),
                _day(period.get("endDate"), self.day),
            )
        except DomainError as error:
            raise ReleaseRefused(f"contract {ref}: termination: {error.message}") from error
        contract.status = Contract.Status.TERMINATED
        contract.terminated_by, contract.end_reason, contract.ended_on = party, reason, ended_on

    def amend(self, contract: Contract, data: dict, ref: str, *, created_here: bool) -> None:
        """Each amendment the release states that is not here yet (same date and reason): an
        additional work or a reduction by what the contract's value after it (`value`)
        differs from its amount now, with its percentages as contracts.amend_contract
        computes them, checked as it checks them (an active contract, a reason, a date
        from the signing on)."""
        stated = [a for a in data.get("amendments") or [] if isinstance(a, dict)]
        if not stated:
            return
        # Here already: one with the same id at the source, or, for the portal's own ones
        # and an amendment stated with no id, the same date and reason.
        here = contract.amendments.values_list("source_ref", "signed_on", "reason")
        known_refs = {source_ref for source_ref, _day_, _reason in here if source_ref}
        known = {(day, reason) for source_ref, day, reason in here if not source_ref}
        new = []
        for amendment in stated:
            source_ref = str(amendment.get("id") or "")
            signed_on = _day(amendment.get("date"), self.day)
            reason = _reason(amendment.get("rationale"), f"contract {ref}: amendment")
            if source_ref in known_refs or (signed_on, reason) in known:
                continue
            new.append((source_ref, signed_on, reason))
        if not new:
            return
        if len(new) > 1 or created_here:
            # A compiled release (a record with no releases) states the contract's value
            # after all of them: what each changed cannot be told, nor the signed amount.
            self.notes.append(
                f"contract {ref}: amendment {', '.join(a[0] for a in new)} not stored: the "
                f"value after each cannot be told apart (one release per amendment, with the "
                f"value after it, as the releases of a record state them)"
            )
            return
        source_ref, signed_on, reason = new[0]
        what = f"contract {ref}: amendment {source_ref}"
        if data.get("value") is None:
            raise ReleaseRefused(f"{what}: the release states no value after it")
        after = _amount(data["value"], f"{what}: value")
        change = after - contracts.current_amount(contract)
        if not change:
            raise ReleaseRefused(f"{what}: the value after it is the value before it")
        kind = ContractAmendment.Kind.ADDITIONAL if change > 0 else ContractAmendment.Kind.REDUCTION
        try:  # checked and stored as the portal's own amendments are
            contracts.new_amendment(
                contract,
                kind,
                abs(change),
                reason,
                signed_on,
                created_by=self.signer(),
                created_at=self.date,
                source_ref=source_ref,
            )
        except DomainError as error:
            raise ReleaseRefused(f"{what}: {error.message}") from error
        # An amendment moves the flags of its entity's year (red_flags.refresh_process).
        self.red_flag_scopes.add((contract.process.entity_id, contract.process.fiscal_year_id))

    def evaluate(self, contract: Contract, data: dict, ref: str) -> None:
        """The supplier's after-sales evaluation (the extension's
        implementation.supplierEvaluation): once, after the contract ended, as
        contracts.evaluate_supplier checks it. The same evaluation stated again (a compiled
        release) changes nothing."""
        stated = (data.get("implementation") or {}).get("supplierEvaluation")
        if not stated:
            return
        what = f"contract {ref}: supplier evaluation"
        evaluated_at = _moment(stated.get("date"), self.date)
        existing = SupplierEvaluation.objects.filter(contract=contract).first()
        if existing is not None and existing.evaluated_at == evaluated_at:
            return
        refusal = contracts.evaluation_refusal(contract)
        if refusal is not None:
            raise ReleaseRefused(f"{what}: {refusal.message}")
        if contract.ended_on and timezone.localdate(evaluated_at) < contract.ended_on:
            raise ReleaseRefused(
                f"{what}: dated {timezone.localdate(evaluated_at)}, before the contract ended "
                f"({contract.ended_on}); the supplier is evaluated once it ended"
            )
        penalties = Decimal(0)
        if stated.get("penalties") is not None:
            penalties = _amount(stated["penalties"], f"{what}: penalties", zero=True)
        comment = stated.get("comment")
        try:
            on_time, quality, penalties, comment = contracts.clean_evaluation(
                stated.get("onTime"),
                stated.get("quality"),
                penalties,
                comment if isinstance(comment, str) else "",
            )
        except DomainError as error:
            raise ReleaseRefused(f"{what}: {error.message}") from error
        SupplierEvaluation.objects.create(
            contract=contract,
            on_time=on_time,
            quality=quality,
            penalties=penalties,
            comment=comment,
            evaluated_at=evaluated_at,
            evaluated_by=self.signer(),
        )

    def new_contract(self, process: ProcurementProcess, data: dict, ref: str, period: dict):
        award = process.awards.filter(source_ref=str(data.get("awardID"))).first()
        if award is None or award.supplier is None:
            raise ReleaseRefused(
                f"contract {ref}: awardID {data.get('awardID')} is no granted award"
            )
        signed_on = _day(data.get("dateSigned") or period.get("startDate"), self.day)
        end = _day(period.get("endDate"))
        term = period.get("durationInDays") or ((end - signed_on).days if end else 0)
        if not term or term <= 0:
            self.notes.append(f"contract {ref}: no term stated, recorded as 1 day")
        return Contract(
            award=award,
            process=process,
            item=award.item,
            entity=process.entity,
            supplier=award.supplier,
            number=(data.get("title") or f"OCDS-{ref}")[:60],
            signed_on=signed_on,
            amount=_amount(data.get("value"), f"contract {ref} value"),
            term_days=max(int(term or 1), 1),
            winner_sme=False,
            guarantee=Contract.Guarantee.PERFORMANCE_BOND,
            created_at=self.date,
            source_ref=ref,
        )

    def outcome_status(self, process: ProcurementProcess, tender: dict) -> str:
        """The process's status after this release: the tender's statusDetails when it names
        one of our statuses and agrees with tender.status (the portal's own export says so
        for a suspension or a process declared void, which OCDS has no code for), else what
        its contracts and awards make it, else the tender status."""
        stated = tender.get("status")
        details = plain(str(tender.get("statusDetails") or ""))
        if details in STATED_ONLY_IN_DETAILS and TENDER_STATUS.get(details, "") == stated:
            return details
        if every_lot_contracted(process):
            return ProcessStatus.CONTRACTED
        live = list(process.awards.live().values_list("status", flat=True))
        if Award.Status.CONSENTED in live:
            return ProcessStatus.CONSENTED
        if Award.Status.AWARDED in live:
            return ProcessStatus.AWARDED
        if live and all(s == Award.Status.DESERTED for s in live):
            return ProcessStatus.DESERTED
        if stated in TENDER_STATUSES:
            return TENDER_STATUSES[stated]
        return process.status


def _checked(source: SourceRelease) -> tuple[dict, str, str]:
    release = source.data
    if not isinstance(release, dict):
        raise ReleaseRefused("not a JSON object")
    errors = schema.errors(release, "release-schema.json")
    if errors:
        raise ReleaseRefused("fails the OCDS schema: " + "; ".join(errors[:5]))
    return release, str(release["ocid"]), str(release["id"])


def load_release(
    source: SourceRelease,
    *,
    refresh_summary: bool = True,
    refresh_red_flags: bool = True,
    signer: Callable[[], object] | None = None,
) -> Outcome:
    """Load one release in one transaction; ReleaseRefused (with the reason, to be reported
    with source.label) leaves the database as it was. The SME summary of the years the
    release moved (Outcome.summary_years) is refreshed on commit, unless `refresh_summary`
    is False: a caller loading many releases refreshes each entity's year once at the end.
    So are the red flags of the entity-years it changed (Outcome.red_flag_scopes), at the
    end of its transaction unless `refresh_red_flags` is False. `signer` gives the import's account (a caller loading many releases looks it up once,
    RunSigner); by default it is looked up when needed."""
    release, ocid, release_id = _checked(source)
    if ImportedRelease.objects.filter(ocid=ocid, release_id=release_id).exists():
        return Outcome(loaded=False)
    notes: list[str] = []
    loader = _Loader(release, notes, signer or import_user)
    if loader.date is None:
        raise ReleaseRefused("no date")
    try:
        with transaction.atomic():
            process = ProcurementProcess.objects.filter(source=SOURCE, ocid=ocid).first()
            tender = release.get("tender") or {}
            if set(release["tag"]) <= PLANNING_TAGS:
                # The plan is not imported (its items are the call's, which the tender
                # release carries): the release is only recorded, once there is a process.
                if process is None:
                    raise ReleaseRefused(
                        f"planning release of ocid {ocid}, which is not here: a plan does not "
                        f"create a process; import it with or after the release of its call "
                        f"(tender.title)"
                    )
                ImportedRelease.objects.create(
                    source=SOURCE, ocid=ocid, release_id=release_id, process=process
                )
                return Outcome(loaded=True, notes=notes)
            if process is None:
                if not tender.get("title"):
                    raise ReleaseRefused(f"ocid {ocid} is new and the release has no tender.title")
                process = loader.create_process(ocid, tender)
            loader.add_items(process, tender)
            if not process.items.exists():
                raise ReleaseRefused("the process has no items")
            for award in release.get("awards") or []:
                loader.award(process, award)
            # Cancellations first: a release may list an award's new contract before the
            # cancellation of the old one, and an award has one standing contract at a time.
            stated = release.get("contracts") or []
            for contract in sorted(stated, key=lambda c: not _cancelled(c)):  # a stable sort
                loader.contract(process, contract)
            if tender.get("status") or release.get("awards") or release.get("contracts"):
                # A release that states none of them (a document, an amendment of the
                # calendar) leaves the status as the last one that did set it.
                loader.set_status(process, loader.outcome_status(process, tender), loader.date)
            search.refresh([process.pk])
            summary_years = {(process.entity_id, year) for year in sme.process_years(process)}
            if refresh_summary:
                sme.refresh_process_on_commit(process)
            ImportedRelease.objects.create(
                source=SOURCE, ocid=ocid, release_id=release_id, process=process
            )
            if refresh_red_flags:
                for entity_id, fiscal_year_id in sorted(loader.red_flag_scopes):
                    red_flags.refresh_entity_year(entity_id, fiscal_year_id)
    except IntegrityError as error:
        raise ReleaseRefused(f"conflicts with data already here ({error})") from error
    except DataError as error:
        # A number or text the database cannot hold (an amount of 10^25, a term of 10^20 days)
        raise ReleaseRefused(f"a value out of range here ({error})") from error
    except (ValueError, TypeError, AttributeError, InvalidOperation) as error:
        # Schema-valid but unreadable here (a quantity of 1e400, a list where we read one...)
        raise ReleaseRefused(f"cannot be read: {error!r}") from error
    return Outcome(
        loaded=True,
        notes=notes,
        summary_years=summary_years,
        red_flag_scopes=loader.red_flag_scopes,
    )
