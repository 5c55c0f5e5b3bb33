"""The demo's history in the audit trail: one entry per thing the seed says happened
(accounts created, suppliers registered and classified, plan versions published, processes
created, their committees, every status change, every document published), dated when it happened, in time
order, chained in bulk by core.audit.append_history. So the audit page shows the demo's history, `verify_audit` checks
it and the seed's final anchor signs it. Entries use the services' action names and payloads;
their actor is the import (`seed_demo`), not a person.
"""

import heapq
from collections.abc import Iterator
from datetime import datetime, time

from django.db import connection
from django.db.models import Count

from accounts.models import Membership
from core import audit, clock
from suppliers.models import SizeClassification, Supplier

from ..models import (
    Appeal,
    Award,
    BidOpening,
    CommitteeMember,
    Contract,
    ContractAmendment,
    Evaluation,
    OpenedBid,
    Participant,
    PlanVersion,
    ProcessDocument,
    ProcurementProcess,
    ReceiptLedgerEntry,
    StatusChange,
    SupplierEvaluation,
)
from .bulk_writers import Background, CopyText, send_copy

ACTOR = "seed_demo"
CHUNK = 20_000

Row = tuple[datetime, str, str, str, dict]


def _accounts() -> Iterator[Row]:
    # The printed demo accounts and the committee staff of the other entities.
    memberships = Membership.objects.filter(user__email__endswith="demo.portal.pe")
    rows = memberships.order_by("user__date_joined", "pk").values_list(
        "user__date_joined", "user_id", "user__email", "role", "entity__ruc", "supplier__ruc"
    )
    for joined, user_id, email, role, entity, supplier in rows:
        data = {"email": email, "role": role, "entity": entity, "supplier": supplier}
        yield joined, "account.created", "accounts.user", str(user_id), data


def _suppliers() -> Iterator[Row]:
    rows = Supplier.objects.order_by("registered_at", "pk").values_list(
        "registered_at", "pk", "ruc", "legal_name"
    )
    for registered, pk, ruc, name in rows.iterator(chunk_size=CHUNK):
        yield (
            registered,
            "supplier.registered",
            "suppliers.supplier",
            str(pk),
            {
                "ruc": ruc,
                "legal_name": name,
            },
        )


def _classifications() -> Iterator[Row]:
    rows = SizeClassification.objects.order_by("classified_at", "pk").values_list(
        "classified_at",
        "supplier_id",
        "rule_id",
        "sales_year_id",
        "annual_sales",
        "workers",
        "sales_uit",
        "size_class",
    )
    for at, supplier, rule, year, sales, workers, uit, size in rows.iterator(chunk_size=CHUNK):
        yield (
            at,
            "supplier.classified",
            "suppliers.supplier",
            str(supplier),
            {
                "rule": rule,
                "sales_year": year,
                "annual_sales": sales,
                "workers": workers,
                "sales_uit": uit,
                "size_class": size,
            },
        )


def _plan_versions() -> Iterator[Row]:
    versions = (
        PlanVersion.objects.filter(status=PlanVersion.Status.PUBLISHED)
        .annotate(item_count=Count("items"))
        .order_by("published_at", "pk")
        .values_list(
            "published_at",
            "pk",
            "plan__entity__ruc",
            "plan__fiscal_year_id",
            "number",
            "item_count",
            "total_value",
            "sme_share",
            "sme_compliant",
            "published_late",
        )
    )
    for at, pk, ruc, year, number, items, total, share, compliant, late in versions:
        yield (
            at,
            "plan.published",
            "procurement.planversion",
            str(pk),
            {
                "entity": ruc,
                "year": year,
                "version": number,
                "items": items,
                "total_value": total,
                "sme_share": share,
                "sme_compliant": compliant,
                "published_late": late,
            },
        )


def _processes() -> Iterator[Row]:
    rows = ProcurementProcess.objects.order_by("created_at", "pk").values_list(
        "created_at", "pk", "identifier", "estimated_value", "sme_only", "outside_plan_reason"
    )
    for at, pk, identifier, value, sme_only, outside in rows.iterator(chunk_size=CHUNK):
        yield (
            at,
            "process.created",
            "procurement.procurementprocess",
            str(pk),
            {
                "identifier": identifier,
                "value": value,
                "sme_only": sme_only,
                "from_plan": not outside,
            },
        )


def _committees() -> Iterator[Row]:
    """Each process's committee designation, with the payload
    procurement.services.committee.designate_committee writes (a first designation: nobody
    before)."""
    rows = CommitteeMember.objects.order_by("designated_at", "process_id", "user_id").values_list(
        "designated_at", "process_id", "process__identifier", "user_id", "role"
    )
    current, identifier, at, members = None, "", None, []
    for designated, process, name, user, role in rows.iterator(chunk_size=CHUNK):
        if process != current:
            if current is not None:
                yield _designation(at, current, identifier, members)
            current, identifier, at, members = process, name, designated, []
        members.append({"user": user, "role": role})
    if current is not None:
        yield _designation(at, current, identifier, members)


def _designation(at, process: int, identifier: str, members: list[dict]) -> Row:
    data = {"identifier": identifier, "before": [], "after": members}
    return at, "process.committee_designated", "procurement.procurementprocess", str(process), data


def _status_changes() -> Iterator[Row]:
    rows = StatusChange.objects.order_by("at", "pk").values_list(
        "at",
        "process_id",
        "process__identifier",
        "action",
        "from_status",
        "to_status",
        "reason",
        "return_stage",
    )
    for at, process, identifier, action, before, after, reason, back in rows.iterator(
        chunk_size=CHUNK
    ):
        yield (
            at,
            f"process.{action}",
            "procurement.procurementprocess",
            str(process),
            {
                "identifier": identifier,
                "action": action,
                "from": before,
                "to": after,
                "reason": reason,
                "return_stage": back,
            },
        )


def _documents() -> Iterator[Row]:
    """Each published document, then (for the answers and the integrated bases) the process's
    own entry, with the payloads procurement.services write."""
    rows = ProcessDocument.objects.order_by("published_at", "pk").values_list(
        "published_at", "pk", "process_id", "process__identifier", "title", "kind", "sha256"
    )
    for at, pk, process, identifier, title, kind, sha256 in rows.iterator(chunk_size=CHUNK):
        yield (
            at,
            "process.document_published",
            "procurement.processdocument",
            str(pk),
            {
                "identifier": identifier,
                "title": title,
                "kind": kind,
                "sha256": sha256,
                "replaces": None,
            },
        )
        target = "procurement.procurementprocess", str(process)
        if kind == ProcessDocument.Kind.ANSWERS:
            data = {"identifier": identifier, "questions": 0, "document": pk}
            yield at, "process.answers_published", *target, data
        elif kind == ProcessDocument.Kind.INTEGRATED_BASES:
            data = {"identifier": identifier, "document": pk}
            yield at, "process.integrated_bases_published", *target, data


def _participants() -> Iterator[Row]:
    rows = Participant.objects.order_by("registered_at", "pk").values_list(
        "registered_at", "pk", "process__identifier", "supplier__ruc"
    )
    for at, pk, identifier, ruc in rows.iterator(chunk_size=CHUNK):
        data = {"identifier": identifier, "supplier": ruc}
        yield at, "process.participant_registered", "procurement.participant", str(pk), data


def _receipts() -> Iterator[Row]:
    """Each receipt as procurement.services.bids audits it: no actor, no bidder, no content."""
    rows = ReceiptLedgerEntry.objects.order_by("position").values_list(
        "received_at", "pk", "process__identifier", "receipt_hash", "kind"
    )
    for at, pk, identifier, receipt, kind in rows.iterator(chunk_size=CHUNK):
        action = "bid.withdrawn" if kind == ReceiptLedgerEntry.Kind.WITHDRAWAL else "bid.received"
        data = {"identifier": identifier, "receipt_hash": receipt, "kind": kind}
        yield at, action, "procurement.receiptledgerentry", str(pk), data


def _openings_started() -> Iterator[Row]:
    """Each completed opening as started by the committee's president."""
    rows = (
        BidOpening.objects.filter(status=BidOpening.Status.COMPLETED)
        .order_by("started_at", "pk")
        .values_list("started_at", "confirm_by", "pk", "process__identifier")
    )
    for started, confirm_by, pk, identifier in rows.iterator(chunk_size=CHUNK):
        data = {"identifier": identifier, "observer": "", "confirm_by": confirm_by}
        yield started, "process.opening_started", "procurement.bidopening", str(pk), data


def _openings_confirmed() -> Iterator[Row]:
    """Each completed opening as confirmed by the other member, with the payload
    procurement.services.opening writes."""
    rows = (
        BidOpening.objects.filter(status=BidOpening.Status.COMPLETED)
        .order_by("confirmed_at", "pk")
        .values_list("confirmed_at", "pk", "process__identifier", "started_by_id", "act__sha256")
    )
    for chunk in _chunked(rows.iterator(chunk_size=CHUNK)):
        counts: dict[int, dict[str, int]] = {}
        for opening, status in OpenedBid.objects.filter(
            opening_id__in=[row[1] for row in chunk]
        ).values_list("opening_id", "status"):
            counts.setdefault(opening, {}).setdefault(status, 0)
            counts[opening][status] += 1
        for confirmed, pk, identifier, starter, sha256 in chunk:
            seen = counts.get(pk, {})
            data = {
                "identifier": identifier,
                "started_by": starter,
                "bids": sum(seen.values()),
                "valid": seen.get(OpenedBid.Status.VALID, 0),
                "withdrawn": seen.get(OpenedBid.Status.WITHDRAWN, 0),
                "unreadable": seen.get(OpenedBid.Status.UNREADABLE, 0),
                "act_sha256": sha256,
            }
            yield confirmed, "process.bids_opened", "procurement.bidopening", str(pk), data


def _evaluations() -> Iterator[Row]:
    rows = Evaluation.objects.order_by("published_at", "pk").values_list(
        "published_at", "pk", "process__identifier", "version", "document__sha256"
    )
    for at, pk, identifier, version, sha256 in rows.iterator(chunk_size=CHUNK):
        data = {"identifier": identifier, "version": version, "sha256": sha256}
        yield at, "process.evaluation_published", "procurement.evaluation", str(pk), data


def _lot(identifier, item, status, amount, reason) -> dict:
    # procurement.services.awards._lot_payload
    return {
        "identifier": identifier,
        "item": item,
        "status": status,
        "amount": amount,
        "reason": reason,
    }


def _awards() -> Iterator[Row]:
    """Each lot's award (or desert) as it was decided; the consent and the revocation come
    from their own streams."""
    rows = Award.objects.order_by("decided_at", "pk").values_list(
        "decided_at", "pk", "process__identifier", "item_id", "status", "amount", "reason",
        "supplier_id", "standstill_ends",
    )  # fmt: skip
    for at, pk, identifier, item, status, amount, reason, winner, ends in rows.iterator(
        chunk_size=CHUNK
    ):
        if status == Award.Status.DESERTED:
            data = _lot(identifier, item, status, amount, reason)
            yield at, "process.lot_deserted", "procurement.award", str(pk), data
            continue
        data = _lot(identifier, item, Award.Status.AWARDED, amount, reason)
        data.update(standstill_ends=ends, winner=winner)
        yield at, "process.lot_awarded", "procurement.award", str(pk), data


def _consents() -> Iterator[Row]:
    """Consented by the periodic task (no actor) early on the day of the consent."""
    rows = (
        Award.objects.filter(consented_on__isnull=False)
        .order_by("consented_on", "pk")
        .values_list("consented_on", "pk", "process__identifier", "item_id", "amount")
    )
    for day, pk, identifier, item, amount in rows.iterator(chunk_size=CHUNK):
        data = _lot(identifier, item, Award.Status.CONSENTED, amount, "")
        data["consented_on"] = day
        yield (
            clock.local(day, time(0, 5)),
            "process.lot_consented",
            "procurement.award",
            str(pk),
            data,
        )


def _revocations() -> Iterator[Row]:
    rows = (
        Award.objects.filter(revoked_at__isnull=False)
        .order_by("revoked_at", "pk")
        .values_list("revoked_at", "pk", "process__identifier", "item_id")
    )
    for at, pk, identifier, item in rows.iterator(chunk_size=CHUNK):
        data = {"identifier": identifier, "item": item}
        yield at, "process.lot_award_revoked", "procurement.award", str(pk), data


APPEAL_DECISIONS = {
    Appeal.Status.FOUNDED: "founded",
    Appeal.Status.UNFOUNDED: "unfounded",
    Appeal.Status.INADMISSIBLE: "inadmissible",
}


def _appeals() -> Iterator[Row]:
    """Each appeal filed, admitted and resolved (procurement.services.appeals payloads)."""
    rows = Appeal.objects.values_list(
        "pk", "process__identifier", "award_id", "award__item_id", "subject", "status",
        "resolver", "due_on", "supplier_id", "filed_at", "admitted_at", "resolved_at",
    )  # fmt: skip
    steps = []
    for (
        pk,
        identifier,
        award,
        item,
        subject,
        status,
        resolver,
        due,
        appellant,
        filed,
        admitted,
        resolved,
    ) in rows:  # noqa: E501
        base = {
            "identifier": identifier, "appeal": pk, "award": award, "item": item,
            "against": subject, "resolver": resolver, "due_on": due,
        }  # fmt: skip
        steps.append(
            (filed, "appeal.filed", pk, {**base, "status": "presentado", "appellant": appellant})
        )
        if admitted is not None:
            steps.append((admitted, "appeal.admit", pk, {**base, "status": "admitido"}))
        if resolved is not None and status in APPEAL_DECISIONS:
            steps.append(
                (resolved, f"appeal.{APPEAL_DECISIONS[status]}", pk, {**base, "status": status})
            )
    for at, action, pk, data in sorted(steps, key=lambda step: (step[0], step[2])):
        yield at, action, "procurement.appeal", str(pk), data


def _contracts() -> Iterator[Row]:
    """Each contract signed, amended, ended and its supplier evaluated, in time order."""
    steps = []
    for pk, identifier, number, amount, winner, at, status, ended, final in Contract.objects.values_list(
        "pk", "process__identifier", "number", "amount", "supplier_id", "created_at", "status",
        "ended_on", "final_amount",
    ):  # fmt: skip
        base = {"identifier": identifier, "contract": pk, "number": number, "amount": amount}
        steps.append(
            (
                at,
                "contract.signed",
                "procurement.contract",
                pk,
                {**base, "status": "vigente", "winner": winner},
            )
        )
        if ended is not None:
            action = "completed" if status == Contract.Status.COMPLETED else "terminated"
            data = {**base, "status": status, "ended_on": ended, "final_amount": final}
            steps.append(
                (
                    clock.local(ended, time(18)),
                    f"contract.{action}",
                    "procurement.contract",
                    pk,
                    data,
                )
            )
    for pk, contract, identifier, kind, amount, percent, cumulative, above, at in ContractAmendment.objects.values_list(
        "pk", "contract_id", "contract__process__identifier", "kind", "amount", "percentage",
        "cumulative_percentage", "above_limit", "created_at",
    ):  # fmt: skip
        data = {
            "identifier": identifier, "contract": contract, "kind": kind, "amount": amount,
            "percentage": percent, "cumulative_percentage": cumulative, "above_limit": above,
        }  # fmt: skip
        steps.append((at, "contract.amended", "procurement.contractamendment", pk, data))
    for pk, contract, identifier, on_time, quality, penalties, at in SupplierEvaluation.objects.values_list(
        "pk", "contract_id", "contract__process__identifier", "on_time", "quality", "penalties",
        "evaluated_at",
    ):  # fmt: skip
        data = {
            "identifier": identifier, "contract": contract, "on_time": on_time,
            "quality": quality, "penalties": penalties,
        }  # fmt: skip
        steps.append((at, "contract.evaluated", "procurement.supplierevaluation", pk, data))
    for at, action, model, pk, data in sorted(steps, key=lambda step: (step[0], step[1], step[3])):
        yield at, action, model, str(pk), data


def _chunked(rows, size: int = CHUNK):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def history() -> Iterator[Row]:
    """Every stream merged by time; at equal times, in the order the streams are listed (an
    account before what it does, a process's creation before its first change)."""
    streams = [
        _accounts(),
        _suppliers(),
        _classifications(),
        _plan_versions(),
        _processes(),
        _committees(),
        _status_changes(),
        _participants(),
        _receipts(),
        _openings_started(),
        _documents(),
        _openings_confirmed(),
        _evaluations(),
        _awards(),
        _appeals(),
        _revocations(),
        _consents(),
        _contracts(),
    ]
    # heapq.merge is stable: at equal keys the earlier stream's row comes first.
    return heapq.merge(*streams, key=lambda row: row[0])


def write_audit_history() -> int:
    """Chain the demo's history into the audit trail; returns the number of entries. On
    PostgreSQL a thread sends each batch (COPY) while the next one is read and chained."""
    if connection.vendor != "postgresql":
        return audit.append_history(history(), actor_label=ACTOR)
    with Background() as background:

        def send(sql: str, data: bytes) -> None:
            background.submit(lambda raw: send_copy(raw, sql, CopyText(data, 1)))

        written = audit.append_history(history(), actor_label=ACTOR, send=send)
        background.wait()
    return written
