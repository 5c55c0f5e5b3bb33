"""OCDS 1.1 releases of a process, built from what the portal has published: one release per
published step, each written as it stood on its date, so that a release never changes once
out (only new ones are added) and ocdsmerge can compile them into the current state.

Steps: planning (the plan items the process comes from), tender (the call), one release per
document, per calendar amendment, per status change after the call (a deserted process is
tender status `unsuccessful`), the opening of bids (its tenderers), each award's decision,
consent and revocation, each contract's signing, amendments and end, and the after-sales
evaluation (implementation). Parties merge by id across releases.
"""

import functools
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time

from django.conf import settings
from django.db.models import Prefetch
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone, translation

from core.codelists import DirectCause, ObjectType, ProcedureType, Stage, Unit
from core.converters import IdentifierConverter

from ..models import (
    Award,
    BidOpening,
    CalendarAmendment,
    Contract,
    ContractAmendment,
    OpenedBid,
    OpenedBidMember,
    ProcessDocument,
    ProcessItem,
    ProcessStage,
    ProcessStatus,
    ProcurementProcess,
    StatusChange,
)
from .identifiers import PARTY_SCHEME, ocid, party_id

CURRENCY = "PEN"
LANGUAGE = "es"

# tender.procurementMethod of each procedure type (OCDS method codelist).
METHODS = {
    ProcedureType.LP: "open",
    ProcedureType.CP: "open",
    ProcedureType.AS: "open",
    ProcedureType.SIE: "open",
    ProcedureType.COMPRE: "open",
    ProcedureType.SCI: "selective",
    ProcedureType.CD: "direct",
}
# tender.mainProcurementCategory (and additionalProcurementCategories) of each object.
CATEGORIES = {
    ObjectType.GOODS: ("goods", []),
    ObjectType.SERVICES: ("services", []),
    ObjectType.WORKS: ("works", []),
    ObjectType.CONSULTING_WORKS: ("services", ["consultingServices"]),
}
# tender.status of each process status (the status itself goes in statusDetails).
TENDER_STATUS = {
    ProcessStatus.DRAFT: "planned",
    ProcessStatus.CALLED: "active",
    ProcessStatus.SUSPENDED: "active",
    ProcessStatus.VOID: "active",  # declared void: the process restarts from a stage
    ProcessStatus.AWARDED: "complete",
    ProcessStatus.CONSENTED: "complete",
    ProcessStatus.CONTRACTED: "complete",
    ProcessStatus.DESERTED: "unsuccessful",
    ProcessStatus.CANCELLED: "cancelled",
}
DOCUMENT_TYPES = {
    ProcessDocument.Kind.DRAFT_BASES: "biddingDocuments",
    ProcessDocument.Kind.BASES: "biddingDocuments",
    ProcessDocument.Kind.ANSWERS: "clarifications",
    ProcessDocument.Kind.INTEGRATED_BASES: "biddingDocuments",
    ProcessDocument.Kind.ACT: "evaluationReports",
    ProcessDocument.Kind.OTHER: "",
}


_ROWS = "release_rows_"  # prefix of the lists release_queryset() prefetches


def release_queryset():
    """Published processes with everything their releases read, in a fixed number of
    queries however many processes (the export walks it in chunks). Each relation is
    prefetched into a plain list (`to_attr`, read by `_rows`): a prefetch into the related
    manager clones a queryset per process and relation, most of a large export's time."""
    return (
        ProcurementProcess.objects.published()
        .select_related("entity__ubigeo__province__department")
        .prefetch_related(
            Prefetch(
                "items",
                ProcessItem.objects.select_related(
                    "catalog_item", "plan_item__catalog_item", "plan_item__version__plan"
                ).order_by("id"),
                to_attr=_ROWS + "items",
            ),
            Prefetch("stages", ProcessStage.objects.all(), to_attr=_ROWS + "stages"),
            Prefetch(
                "documents",
                ProcessDocument.objects.order_by("published_at", "id"),
                to_attr=_ROWS + "documents",
            ),
            Prefetch("amendments", CalendarAmendment.objects.all(), to_attr=_ROWS + "amendments"),
            Prefetch(
                "history", StatusChange.objects.order_by("at", "id"), to_attr=_ROWS + "history"
            ),
            Prefetch(
                "openings",
                BidOpening.objects.filter(status=BidOpening.Status.COMPLETED).prefetch_related(
                    Prefetch(
                        "bids",
                        OpenedBid.objects.order_by("position").prefetch_related(
                            Prefetch(
                                "members",
                                OpenedBidMember.objects.select_related(
                                    "supplier__domicile__province__department"
                                ),
                                to_attr=_ROWS + "members",
                            )
                        ),
                        to_attr=_ROWS + "bids",
                    )
                ),
                to_attr="completed_openings",
            ),
            Prefetch(
                "awards",
                Award.objects.select_related("item", "supplier__domicile__province__department")
                .prefetch_related(
                    Prefetch(
                        "opened_bid__members",
                        OpenedBidMember.objects.select_related(
                            "supplier__domicile__province__department"
                        ),
                        to_attr=_ROWS + "members",
                    )
                )
                .order_by("decided_at", "id"),
                to_attr=_ROWS + "awards",
            ),
            Prefetch(
                "contracts",
                Contract.objects.select_related("item", "evaluation")
                .prefetch_related(
                    Prefetch(
                        "amendments",
                        ContractAmendment.objects.all(),
                        to_attr=_ROWS + "amendments",
                    )
                )
                .order_by("created_at", "id"),
                to_attr=_ROWS + "contracts",
            ),
        )
        .order_by("id")
    )


# --- Small builders ------------------------------------------------------------------------


def _rows(instance, name: str) -> list:
    """The rows of a relation as release_queryset() prefetched them (a query otherwise)."""
    rows = getattr(instance, _ROWS + name, None)
    return list(getattr(instance, name).all()) if rows is None else rows


def _zone():
    return timezone.get_default_timezone()  # Lima: dates read as people in Peru read them


def _when(moment: datetime) -> str:
    return moment.astimezone(_zone()).isoformat(timespec="seconds")


def _day_start(day: date) -> str:
    return datetime.combine(day, time.min, tzinfo=_zone()).isoformat()


def _day_end(day: date, closing: time | None = None) -> str:
    end = datetime.combine(day, closing or time(23, 59, 59), tzinfo=_zone())
    return end.isoformat(timespec="seconds")


def _money(amount) -> dict:
    return {"amount": float(amount), "currency": CURRENCY}


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _address(district) -> dict:
    return {
        "locality": district.name,
        "region": district.province.department.name,
        "countryName": "Perú",
    }


def entity_party(entity) -> dict:
    address = _address(entity.ubigeo)
    if entity.address:
        address["streetAddress"] = entity.address
    party = {
        "id": party_id(entity.ruc),
        "name": entity.name,
        "identifier": {"scheme": PARTY_SCHEME, "id": entity.ruc, "legalName": entity.name},
        "address": address,
        "roles": ["buyer", "procuringEntity"],
    }
    if entity.website:
        party["contactPoint"] = {"url": entity.website}
    return party


def supplier_party(supplier, roles: list[str]) -> dict:
    """A supplier as a party: its RUC, address and size class under its rule (extension)."""
    return {
        "id": party_id(supplier.ruc),
        "name": supplier.legal_name,
        "identifier": {
            "scheme": PARTY_SCHEME,
            "id": supplier.ruc,
            "legalName": supplier.legal_name,
        },
        "address": _address(supplier.domicile),
        "roles": roles,
        "details": {
            "sizeClass": supplier.size_class or None,
            "sizeRule": supplier.size_rule_id,
            "sme": supplier.is_sme,
        },
    }


def _parties(process, suppliers=(), roles=()) -> list[dict]:
    """The entity (buyer) and the given suppliers with `roles`, one party per RUC: an entity
    that is also a supplier here (a contract between entities) keeps all its roles, since
    compiling replaces a party's roles with the latest release's."""
    buyer = entity_party(process.entity)
    parties = {buyer["id"]: buyer}
    for supplier in suppliers:
        party = supplier_party(supplier, list(roles))
        if party["id"] in parties:
            party["roles"] = [*parties[party["id"]]["roles"], *roles]
        parties[party["id"]] = party
    return list(parties.values())


def _classification(catalog_item) -> dict:
    return {"scheme": "UNSPSC", "id": catalog_item.code, "description": catalog_item.name_es}


@functools.cache
def _unit(code: str) -> dict:
    """An item's unit: its UN/ECE Recommendation 20 code (OCDS scheme UNCEFACT) and the
    Spanish name the portal shows."""
    return {"scheme": "UNCEFACT", "id": code, "name": _spanish(Unit(code).label)}


def _organization_reference(entity) -> dict:
    return {"id": party_id(entity.ruc), "name": entity.name}


@functools.lru_cache(maxsize=8)
def _document_path_parts(script_prefix: str, urlconf) -> tuple[str, str]:
    """The path of a process's documents around its identifier, reversed once (a reverse
    per process was a tenth of a large export's time)."""
    path = reverse(
        "procurement:process_document",
        urlconf=urlconf,
        kwargs={"identifier": _PLACEHOLDER, "document_id": 1},
    )
    before, placeholder, after = path.partition(_PLACEHOLDER)
    assert placeholder and after.endswith("/1/"), path  # noqa: S101
    return before, after[: -len("1/")]


_PLACEHOLDER = "IDENTIFIER0"
_IDENTIFIER = re.compile(IdentifierConverter.regex)  # what the URL pattern accepts as is


def _document_url_prefix(process) -> str:
    """The absolute URL of a process's documents without the document's id."""
    if not _IDENTIFIER.fullmatch(process.identifier):
        path = reverse(  # raises NoReverseMatch, as any link to it would
            "procurement:process_document",
            kwargs={"identifier": process.identifier, "document_id": 1},
        )
        return _absolute(path[: -len("1/")])
    before, after = _document_path_parts(get_script_prefix(), get_urlconf())
    return _absolute(f"{before}{process.identifier}{after}")


def _document(document: ProcessDocument, url_prefix: str) -> dict:
    data = {
        "id": str(document.pk),
        "title": document.title,
        "url": f"{url_prefix}{document.pk}/",
        "datePublished": _when(document.published_at),
        "format": document.content_type,
        "language": LANGUAGE,
        "sha256": document.sha256,
    }
    if kind := DOCUMENT_TYPES.get(document.kind):
        data["documentType"] = kind
    if document.replaces_id:
        data["description"] = document.amendment_reason
    return data


def _spanish(label) -> str:
    with translation.override("es"):
        return str(label)


@functools.cache
def _spanish_label(choices, value) -> str:
    """The Spanish label of a choice, translated once (an override per release was a tenth
    of a large export's time)."""
    return _spanish(choices(value).label)


# --- The process's calendar as it stood ---------------------------------------------------


def _calendar_after(process, amendment_count: int) -> dict:
    """Stage dates after the first `amendment_count` amendments: today's calendar with the
    later amendments undone (each amendment records every stage's dates before and after)."""
    stages = {s.stage: (s.start, s.end, s.closing_time) for s in _rows(process, "stages")}
    amendments = sorted(_rows(process, "amendments"), key=lambda a: (a.at, a.id))
    for amendment in reversed(amendments[amendment_count:]):
        for change in amendment.changes:
            closing = stages.get(change["stage"], (None, None, None))[2]
            if change["before"] is None:
                stages.pop(change["stage"], None)
            else:
                start, end = (date.fromisoformat(d) for d in change["before"])
                stages[change["stage"]] = (start, end, closing)
    return stages


def _periods(stages: dict) -> dict:
    def period(first: str, last: str | None = None) -> dict | None:
        if first not in stages or (last or first) not in stages:
            return None
        start, _end, _closing = stages[first]
        _start, end, closing = stages[last or first]
        return {"startDate": _day_start(start), "endDate": _day_end(end, closing)}

    periods = {
        "tenderPeriod": period(Stage.CALL, Stage.BIDS),
        "enquiryPeriod": period(Stage.QUESTIONS),
        "awardPeriod": period(Stage.AWARD),
    }
    return {name: value for name, value in periods.items() if value}


# --- Release steps --------------------------------------------------------------------------


def _release(process, suffix: str, moment: datetime, tags: list[str], **sections) -> dict:
    identifier = ocid(process)
    return {
        "ocid": identifier,
        "id": f"{identifier}-{suffix}",
        "date": _when(moment),
        "tag": tags,
        "initiationType": "tender",
        "language": LANGUAGE,
        "buyer": _organization_reference(process.entity),
        **sections,
    }


def planning_releases(process) -> Iterable[dict]:
    """The plan items the process comes from, as the published plan version stated them.
    Each is given the id of the process item it became, so that the tender's items update
    them (and keep whether the plan reserved them for SMEs). No tender status here: the
    call's release says it."""
    planned = [item for item in _rows(process, "items") if item.plan_item]
    if not planned:
        return
    version = min((i.plan_item.version for i in planned), key=lambda v: v.published_at)
    yield _release(
        process,
        "planning",
        version.published_at,
        ["planning"],
        parties=_parties(process),
        planning={
            "budget": {
                "description": f"PAC {version.plan.fiscal_year_id} v{version.number}",
                "amount": _money(sum(i.plan_item.estimated_value for i in planned)),
            }
        },
        tender={
            "id": process.identifier,
            "items": [
                {
                    "id": str(item.pk),
                    "description": item.plan_item.description,
                    "classification": _classification(item.plan_item.catalog_item),
                    "quantity": float(item.plan_item.quantity),
                    "unit": _unit(item.plan_item.unit),
                    "smeReserved": item.plan_item.sme_reserved,
                }
                for item in planned
            ],
        },
    )


def tender_releases(process) -> Iterable[dict]:
    """The call: the process as published, with its calendar before any amendment."""
    main, additional = CATEGORIES[process.object_type]
    tender = {
        "id": process.identifier,
        "title": process.identifier,
        "description": process.description,
        "status": "active",
        "statusDetails": ProcessStatus.CALLED.value,
        "procuringEntity": _organization_reference(process.entity),
        "items": [
            {
                "id": str(item.pk),
                "description": item.description,
                "classification": _classification(item.catalog_item),
                "quantity": float(item.quantity),
                "unit": _unit(item.unit),
            }
            for item in _rows(process, "items")
        ],
        "value": _money(process.estimated_value),
        "procurementMethod": METHODS[process.procedure_type],
        "procurementMethodDetails": _spanish_label(ProcedureType, process.procedure_type),
        "mainProcurementCategory": main,
        "submissionMethod": ["electronicSubmission"],
        "smeOnly": process.sme_only,
        **_periods(_calendar_after(process, 0)),
    }
    if additional:
        tender["additionalProcurementCategories"] = additional
    if process.direct_cause:
        tender["procurementMethodRationale"] = _spanish_label(DirectCause, process.direct_cause)
    yield _release(
        process,
        "tender",
        process.published_at,
        ["tender"],
        parties=_parties(process),
        tender=tender,
    )


def document_releases(process) -> Iterable[dict]:
    """One release per published document (documents merge by id into the tender's)."""
    documents = _rows(process, "documents")
    url_prefix = _document_url_prefix(process) if documents else ""
    for document in documents:
        tags = ["tenderAmendment"] if document.replaces_id else ["tenderUpdate"]
        yield _release(
            process,
            f"document-{document.pk}",
            document.published_at,
            tags,
            tender={"id": process.identifier, "documents": [_document(document, url_prefix)]},
        )


def amendment_releases(process) -> Iterable[dict]:
    """One release per calendar amendment: the periods after it, and why."""
    amendments = sorted(_rows(process, "amendments"), key=lambda a: (a.at, a.id))
    labels = dict(Stage.choices) if amendments else {}
    for number, amendment in enumerate(amendments, start=1):
        changed = ", ".join(_spanish(labels.get(c["stage"], c["stage"])) for c in amendment.changes)
        yield _release(
            process,
            f"amendment-{amendment.pk}",
            amendment.at,
            ["tenderAmendment"],
            tender={
                "id": process.identifier,
                **_periods(_calendar_after(process, number)),
                "amendments": [
                    {
                        "id": str(amendment.pk),
                        "date": _when(amendment.at),
                        "rationale": amendment.reason,
                        "description": changed,
                    }
                ],
            },
        )


def status_releases(process) -> Iterable[dict]:
    """One release per status change after the call (suspension, cancellation, desertion,
    annulment, restart...): the tender's status then, and the reason."""
    for change in _rows(process, "history"):
        if change.from_status == ProcessStatus.DRAFT:
            continue  # the call itself: the tender release
        cancelled = change.to_status == ProcessStatus.CANCELLED
        yield _release(
            process,
            f"status-{change.pk}",
            change.at,
            ["tenderCancellation"] if cancelled else ["tenderUpdate"],
            tender={
                "id": process.identifier,
                "status": TENDER_STATUS[change.to_status],
                "statusDetails": change.to_status,
            },
        )


def opening_releases(process) -> Iterable[dict]:
    """The opening of bids: who bid (after the opening only, when the act is public). The
    prices go with the evaluation and award (bids extension), in their own step."""
    for opening in getattr(process, "completed_openings", []):
        suppliers = {}
        for bid in _rows(opening, "bids"):
            for member in _rows(bid, "members"):
                suppliers.setdefault(member.supplier.ruc, member.supplier)
        yield _release(
            process,
            "opening",
            opening.confirmed_at,
            ["tenderUpdate"],
            parties=_parties(process, suppliers.values(), ["tenderer"]),
            tender={
                "id": process.identifier,
                "numberOfTenderers": len(_rows(opening, "bids")),
                "tenderers": [
                    {"id": party_id(s.ruc), "name": s.legal_name} for s in suppliers.values()
                ],
            },
        )


# awards[].status of each award status; the portal's own goes in statusDetails (extension).
AWARD_STATUS = {
    Award.Status.AWARDED: "pending",  # granted, not in force until consented
    Award.Status.CONSENTED: "active",
    Award.Status.DESERTED: "unsuccessful",
    Award.Status.REVOKED: "cancelled",
}
CONTRACT_STATUS = {
    Contract.Status.ACTIVE: "active",
    Contract.Status.COMPLETED: "terminated",
    Contract.Status.TERMINATED: "terminated",
    Contract.Status.VOID: "cancelled",
}
CONTRACT_END_TAGS = {
    Contract.Status.COMPLETED: ["implementation"],
    Contract.Status.TERMINATED: ["contractTermination"],
    Contract.Status.VOID: ["contractUpdate"],
}


def _award_suppliers(award) -> list:
    """The winner's suppliers: every member of the winning bid (a consortium), lead first."""
    if award.opened_bid_id is None:
        return [award.supplier] if award.supplier_id else []
    members = sorted(_rows(award.opened_bid, "members"), key=lambda m: (not m.is_lead, m.id))
    return [member.supplier for member in members] or [award.supplier]


def _award(award, status: str, moment: datetime, **extra) -> dict:
    data = {
        "id": str(award.pk),
        "status": AWARD_STATUS[status],
        "statusDetails": status,
        "date": _when(moment),
        **extra,
    }
    if award.item_id:
        data["items"] = [{"id": str(award.item_id)}]
        data["title"] = award.item.description
    return data


def award_releases(process) -> Iterable[dict]:
    """Each lot's outcome when decided: the buena pro (pending until consented: the winner,
    its amount and its size classes as they were at the award), or the lot deserted with its
    reason; then its consent and, after a founded appeal, its revocation."""
    for award in _rows(process, "awards"):
        suppliers = _award_suppliers(award)
        if award.status == Award.Status.DESERTED:
            decided = _award(award, Award.Status.DESERTED, award.decided_at)
            decided["description"] = award.reason
            parties = _parties(process)
        else:
            decided = _award(
                award,
                Award.Status.AWARDED,
                award.decided_at,
                value=_money(award.amount),
                suppliers=[{"id": party_id(s.ruc), "name": s.legal_name} for s in suppliers],
            )
            if not award.source_ref:  # an imported award's source states no size class
                decided["smeWinner"] = award.winner_sme
                decided["sizeClassesAtAward"] = [
                    {"id": party_id(ruc), "sizeClass": size or None}
                    for ruc, size in sorted(award.winner_size_classes.items())
                ]
            parties = _parties(process, suppliers, ["supplier"])
        yield _release(
            process,
            f"award-{award.pk}",
            award.decided_at,
            ["award"],
            parties=parties,
            awards=[decided],
        )
        if award.consented_on:
            moment = datetime.combine(award.consented_on, time.min, tzinfo=_zone())
            yield _release(
                process,
                f"award-{award.pk}-consent",
                moment,
                ["awardUpdate"],
                awards=[_award(award, Award.Status.CONSENTED, moment)],
            )
        if award.revoked_at:
            yield _release(
                process,
                f"award-{award.pk}-revocation",
                award.revoked_at,
                ["awardCancellation"],
                awards=[_award(award, Award.Status.REVOKED, award.revoked_at)],
            )


def _contract_ref(contract) -> dict:
    return {"id": str(contract.pk), "awardID": str(contract.award_id)}  # both required


def _contract_head(contract, status: str) -> dict:
    return {**_contract_ref(contract), "status": CONTRACT_STATUS[status], "statusDetails": status}


def contract_releases(process) -> Iterable[dict]:
    """Each contract when signed (its award, amount, term), each amendment with the amount
    after it, its end (completion with the final amount, termination or annulment) and the
    after-sales evaluation of the supplier (implementation)."""
    for contract in _rows(process, "contracts"):
        signed = {
            **_contract_head(contract, Contract.Status.ACTIVE),
            "title": contract.number,
            "value": _money(contract.amount),
            "dateSigned": _day_start(contract.signed_on),
            "period": {
                "startDate": _day_start(contract.signed_on),
                "durationInDays": contract.term_days,
            },
        }
        if contract.item_id:
            signed["items"] = [{"id": str(contract.item_id)}]
        yield _release(
            process,
            f"contract-{contract.pk}",
            contract.created_at,
            ["contract"],
            contracts=[signed],
        )
        amount = contract.amount
        for amendment in _rows(contract, "amendments"):
            sign = 1 if amendment.kind == ContractAmendment.Kind.ADDITIONAL else -1
            amount += sign * amendment.amount
            yield _release(
                process,
                f"contract-{contract.pk}-amendment-{amendment.pk}",
                amendment.created_at,
                ["contractAmendment"],
                contracts=[
                    {
                        **_contract_ref(contract),
                        "value": _money(amount),
                        "amendments": [
                            {
                                "id": str(amendment.pk),
                                "date": _day_start(amendment.signed_on),
                                "rationale": amendment.reason,
                                "description": (
                                    f"{_spanish_label(ContractAmendment.Kind, amendment.kind)}: "
                                    f"{amendment.amount} PEN ({amendment.percentage}%, "
                                    f"acumulado {amendment.cumulative_percentage}%)"
                                ),
                            }
                        ],
                    }
                ],
            )
        if contract.status != Contract.Status.ACTIVE and contract.ended_on:
            ended = {
                **_contract_head(contract, contract.status),
                "period": {"endDate": _day_end(contract.ended_on)},
            }
            if contract.final_amount is not None:
                ended["finalValue"] = _money(contract.final_amount)
            if contract.end_reason:
                ended["description"] = contract.end_reason
            if contract.terminated_by:  # who terminated it (extension)
                ended["terminatedBy"] = contract.terminated_by
            # The end is dated by its day; never before what it ends was recorded.
            moment = max(
                datetime.combine(contract.ended_on, time.min, tzinfo=_zone()),
                contract.created_at,
                *(amendment.created_at for amendment in _rows(contract, "amendments")),
            )
            yield _release(
                process,
                f"contract-{contract.pk}-end",
                moment,
                CONTRACT_END_TAGS[contract.status],
                contracts=[ended],
            )
        evaluation = getattr(contract, "evaluation", None)
        if evaluation is not None:
            assessment = {
                "date": _when(evaluation.evaluated_at),
                "onTime": evaluation.on_time,
                "quality": evaluation.quality,
                "penalties": _money(evaluation.penalties),
            }
            if evaluation.comment:
                assessment["comment"] = evaluation.comment
            yield _release(
                process,
                f"contract-{contract.pk}-evaluation",
                evaluation.evaluated_at,
                ["implementationUpdate"],
                contracts=[
                    {
                        **_contract_ref(contract),
                        "implementation": {"supplierEvaluation": assessment},
                    }
                ],
            )


RELEASE_STEPS: list[Callable[[ProcurementProcess], Iterable[dict]]] = [
    planning_releases,
    tender_releases,
    document_releases,
    amendment_releases,
    status_releases,
    opening_releases,
    award_releases,
    contract_releases,
]


def process_releases(process: ProcurementProcess) -> list[dict]:
    """Every release of a published process (from release_queryset()), oldest first."""
    releases = [release for step in RELEASE_STEPS for release in step(process)]
    return sorted(releases, key=lambda r: r["date"])
