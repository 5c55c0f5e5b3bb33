"""The demo's history in the audit trail: one entry per thing the seed says happened
(accounts created, suppliers registered and classified, plan versions published, processes
created, their committees, every status change, every document published), dated when it happened, in time
order, chained in bulk by core.audit.append_history. So the audit page shows the demo's history, `verify_audit` checks
it and the seed's final anchor signs it. Entries use the services' action names and payloads;
their actor is the import (`seed_demo`), not a person.

The streams below say what each entry is. On PostgreSQL the seed runs them as SQL instead
(`encoded_history`: the database writes each entry's instant and canonical JSON, this process
only merges and chains, core.audit.append_encoded_history), which gives the same entries, in
the same order, with the same text (tests/procurement/test_seed_history.py compares them).
"""

# The SQL below is assembled from this module's own constants and the models' codelists; no
# input reaches it.
# ruff: noqa: S608

import heapq
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from json.encoder import encode_basestring as json_quote
from operator import itemgetter

from django.conf import settings
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


# The same history written by PostgreSQL: each stream above as one query whose rows are
# already the text `core.audit.append_encoded_history` chains (the instant in UTC as the hash
# writes it, the data as canonical JSON, as `core.audit._encode_data` writes these values),
# each in its stream's order; this process only merges them and chains. Written by hand, key
# by key: tests/procurement/test_seed_history.py checks they give what the streams above give.


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _json_text(column: str) -> str:
    """A text column as a JSON string (PostgreSQL escapes as Python's json does), or null."""
    return f"coalesce(to_json({column})::text, 'null')"


def _json_constant(value: str) -> str:
    return _sql_text(json_quote(value))


def _json_number(column: str) -> str:
    """An integer or boolean column as JSON (true/false), or null."""
    return f"coalesce(({column})::text, 'null')"


def _json_decimal(column: str) -> str:
    """A numeric column as DjangoJSONEncoder writes a Decimal: its text, quoted."""
    return f"""coalesce('"' || ({column})::text || '"', 'null')"""


def _json_date(column: str) -> str:
    return f"""coalesce('"' || to_char({column}, 'YYYY-MM-DD') || '"', 'null')"""


def _json_moment(column: str) -> str:
    """An instant as DjangoJSONEncoder writes it: UTC, milliseconds if any, "Z"."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"""'"' || to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS') || CASE WHEN """
        f"""to_char({utc}, 'US') = '000000' THEN '' ELSE to_char({utc}, '.MS') END || 'Z"'"""
    )


def _json_object(**fields: str) -> str:
    """A JSON object of SQL expressions (each already JSON text), its keys sorted."""
    parts = [
        f"{_sql_text(('{' if i == 0 else ',') + json_quote(key) + ':')} || {fields[key]}"
        for i, key in enumerate(sorted(fields))
    ]
    return "(" + " || ".join(parts) + " || '}')"


def _instant(column: str) -> str:
    """An instant as core.audit hashes it: UTC, ISO 8601, microseconds, "+00:00"."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def _local(day: str, at: str) -> str:
    """clock.local(day, at) in SQL."""
    return f"(({day}) + time {_sql_text(at)}) AT TIME ZONE {_sql_text(settings.TIME_ZONE)}"


def _stream_sql(
    at: str, action: str, object_type: str, object_id: str, data: str, source: str, order: str
) -> str:
    return (
        f"SELECT {_instant(at)}, {{stream}}, {action}, {object_type}, ({object_id})::text, "
        f"{data} FROM {source} ORDER BY {order}"
    )


def _in(values) -> str:
    return "(" + ", ".join(_sql_text(str(value)) for value in values) + ")"


def _stream_queries() -> list[str]:
    """The queries of `history()`'s streams, in its order."""
    process = "JOIN procurement_procurementprocess p ON p.id = {}.process_id"
    identifier = _json_text("p.identifier")
    award_lot = {
        "identifier": identifier,
        "item": _json_number("w.item_id"),
        "amount": _json_decimal("w.amount"),
    }
    appeal = {
        "identifier": identifier,
        "appeal": "a.id::text",
        "award": "a.award_id::text",
        "item": _json_number("w.item_id"),
        "against": _json_text("a.subject"),
        "resolver": _json_text("a.resolver"),
        "due_on": _json_date("a.due_on"),
    }
    decisions = " ".join(
        f"WHEN {_sql_text(status)} THEN {_sql_text(f'appeal.{name}')}"
        for status, name in APPEAL_DECISIONS.items()
    )
    contract = {
        "identifier": identifier,
        "contract": "c.id::text",
        "number": _json_text("c.number"),
        "amount": _json_decimal("c.amount"),
    }
    completed = _sql_text(Contract.Status.COMPLETED)
    contract_steps = f"""(
        SELECT c.created_at AS at, 'contract.signed' AS action,
            'procurement.contract' AS object_type, c.id AS pk,
            {
        _json_object(
            **contract, status=_json_constant("vigente"), winner=_json_number("c.supplier_id")
        )
    } AS data
        FROM procurement_contract c {process.format("c")}
        UNION ALL
        SELECT {_local("c.ended_on", "18:00")},
            CASE WHEN c.status = {completed} THEN 'contract.completed'
            ELSE 'contract.terminated' END,
            'procurement.contract', c.id,
            {
        _json_object(
            **contract,
            status=_json_text("c.status"),
            ended_on=_json_date("c.ended_on"),
            final_amount=_json_decimal("c.final_amount"),
        )
    }
        FROM procurement_contract c {process.format("c")} WHERE c.ended_on IS NOT NULL
        UNION ALL
        SELECT m.created_at, 'contract.amended', 'procurement.contractamendment', m.id,
            {
        _json_object(
            identifier=identifier,
            contract=_json_number("m.contract_id"),
            kind=_json_text("m.kind"),
            amount=_json_decimal("m.amount"),
            percentage=_json_decimal("m.percentage"),
            cumulative_percentage=_json_decimal("m.cumulative_percentage"),
            above_limit=_json_number("m.above_limit"),
        )
    }
        FROM procurement_contractamendment m
        JOIN procurement_contract c ON c.id = m.contract_id {process.format("c")}
        UNION ALL
        SELECT e.evaluated_at, 'contract.evaluated', 'procurement.supplierevaluation', e.id,
            {
        _json_object(
            identifier=identifier,
            contract=_json_number("e.contract_id"),
            on_time=_json_number("e.on_time"),
            quality=_json_number("e.quality"),
            penalties=_json_decimal("e.penalties"),
        )
    }
        FROM procurement_supplierevaluation e
        JOIN procurement_contract c ON c.id = e.contract_id {process.format("c")}
    ) x"""  # noqa: E501
    answers, integrated = ProcessDocument.Kind.ANSWERS, ProcessDocument.Kind.INTEGRATED_BASES
    opened = {
        name: f"count(*) FILTER (WHERE status = {_sql_text(status)})"
        for name, status in (
            ("valid", OpenedBid.Status.VALID),
            ("withdrawn", OpenedBid.Status.WITHDRAWN),
            ("unreadable", OpenedBid.Status.UNREADABLE),
        )
    }
    return [
        _stream_sql(
            "u.date_joined",
            "'account.created'",
            "'accounts.user'",
            "u.id",
            _json_object(
                email=_json_text("u.email"),
                role=_json_text("m.role"),
                entity=_json_text("e.ruc"),
                supplier=_json_text("s.ruc"),
            ),
            "accounts_membership m JOIN accounts_user u ON u.id = m.user_id "
            "LEFT JOIN procurement_entity e ON e.id = m.entity_id "
            "LEFT JOIN suppliers_supplier s ON s.id = m.supplier_id "
            "WHERE u.email LIKE '%demo.portal.pe'",
            "u.date_joined, m.id",
        ),
        _stream_sql(
            "s.registered_at",
            "'supplier.registered'",
            "'suppliers.supplier'",
            "s.id",
            _json_object(ruc=_json_text("s.ruc"), legal_name=_json_text("s.legal_name")),
            "suppliers_supplier s",
            "s.registered_at, s.id",
        ),
        _stream_sql(
            "c.classified_at",
            "'supplier.classified'",
            "'suppliers.supplier'",
            "c.supplier_id",
            _json_object(
                rule=_json_text("c.rule_id"),
                sales_year=_json_number("c.sales_year_id"),
                annual_sales=_json_decimal("c.annual_sales"),
                workers=_json_number("c.workers"),
                sales_uit=_json_decimal("c.sales_uit"),
                size_class=_json_text("c.size_class"),
            ),
            "suppliers_sizeclassification c",
            "c.classified_at, c.id",
        ),
        _stream_sql(
            "v.published_at",
            "'plan.published'",
            "'procurement.planversion'",
            "v.id",
            _json_object(
                entity=_json_text("e.ruc"),
                year=_json_number("n.fiscal_year_id"),
                version=_json_number("v.number"),
                items=_json_number("coalesce(i.items, 0)"),
                total_value=_json_decimal("v.total_value"),
                sme_share=_json_decimal("v.sme_share"),
                sme_compliant=_json_number("v.sme_compliant"),
                published_late=_json_number("v.published_late"),
            ),
            "procurement_planversion v "
            "JOIN procurement_procurementplan n ON n.id = v.plan_id "
            "JOIN procurement_entity e ON e.id = n.entity_id "
            "LEFT JOIN (SELECT version_id, count(*) AS items FROM procurement_planitem "
            "GROUP BY version_id) i ON i.version_id = v.id "
            f"WHERE v.status = {_sql_text(PlanVersion.Status.PUBLISHED)}",
            "v.published_at, v.id",
        ),
        _stream_sql(
            "p.created_at",
            "'process.created'",
            "'procurement.procurementprocess'",
            "p.id",
            _json_object(
                identifier=identifier,
                value=_json_decimal("p.estimated_value"),
                sme_only=_json_number("p.sme_only"),
                from_plan=_json_number("p.outside_plan_reason = ''"),
            ),
            "procurement_procurementprocess p",
            "p.created_at, p.id",
        ),
        _stream_sql(
            "c.designated_at",
            "'process.committee_designated'",
            "'procurement.procurementprocess'",
            "c.process_id",
            _json_object(identifier=identifier, before="'[]'", after="'[' || c.members || ']'"),
            "(SELECT process_id, min(designated_at) AS designated_at, string_agg("
            + _json_object(role=_json_text("role"), user="user_id::text")
            + ", ',' ORDER BY designated_at, user_id) AS members "
            "FROM procurement_committeemember GROUP BY process_id) c " + process.format("c"),
            "c.designated_at, c.process_id",
        ),
        _stream_sql(
            "c.at",
            "'process.' || c.action",
            "'procurement.procurementprocess'",
            "c.process_id",
            _json_object(
                identifier=identifier,
                action=_json_text("c.action"),
                **{"from": _json_text("c.from_status"), "to": _json_text("c.to_status")},
                reason=_json_text("c.reason"),
                return_stage=_json_text("c.return_stage"),
            ),
            "procurement_statuschange c " + process.format("c"),
            "c.at, c.id",
        ),
        _stream_sql(
            "a.registered_at",
            "'process.participant_registered'",
            "'procurement.participant'",
            "a.id",
            _json_object(identifier=identifier, supplier=_json_text("s.ruc")),
            "procurement_participant a "
            + process.format("a")
            + " JOIN suppliers_supplier s ON s.id = a.supplier_id",
            "a.registered_at, a.id",
        ),
        _stream_sql(
            "r.received_at",
            f"CASE WHEN r.kind = {_sql_text(ReceiptLedgerEntry.Kind.WITHDRAWAL)} "
            "THEN 'bid.withdrawn' ELSE 'bid.received' END",
            "'procurement.receiptledgerentry'",
            "r.id",
            _json_object(
                identifier=identifier,
                receipt_hash=_json_text("r.receipt_hash"),
                kind=_json_text("r.kind"),
            ),
            "procurement_receiptledgerentry r " + process.format("r"),
            "r.position",
        ),
        _stream_sql(
            "o.started_at",
            "'process.opening_started'",
            "'procurement.bidopening'",
            "o.id",
            _json_object(
                identifier=identifier,
                observer=_json_constant(""),
                confirm_by=_json_moment("o.confirm_by"),
            ),
            "procurement_bidopening o "
            + process.format("o")
            + f" WHERE o.status = {_sql_text(BidOpening.Status.COMPLETED)}",
            "o.started_at, o.id",
        ),
        _stream_sql(
            "d.published_at",
            "CASE WHEN x.part = 0 THEN 'process.document_published' "
            f"WHEN d.kind = {_sql_text(answers)} THEN 'process.answers_published' "
            "ELSE 'process.integrated_bases_published' END",
            "CASE WHEN x.part = 0 THEN 'procurement.processdocument' "
            "ELSE 'procurement.procurementprocess' END",
            "CASE WHEN x.part = 0 THEN d.id ELSE d.process_id END",
            "CASE WHEN x.part = 0 THEN "
            + _json_object(
                identifier=identifier,
                title=_json_text("d.title"),
                kind=_json_text("d.kind"),
                sha256=_json_text("d.sha256"),
                replaces="'null'",
            )
            + f" WHEN d.kind = {_sql_text(answers)} THEN "
            + _json_object(identifier=identifier, questions="'0'", document="d.id::text")
            + " ELSE "
            + _json_object(identifier=identifier, document="d.id::text")
            + " END",
            "procurement_processdocument d "
            + process.format("d")
            + " CROSS JOIN (VALUES (0), (1)) x(part)"
            f" WHERE x.part = 0 OR d.kind IN {_in((answers, integrated))}",
            "d.published_at, d.id, x.part",
        ),
        _stream_sql(
            "o.confirmed_at",
            "'process.bids_opened'",
            "'procurement.bidopening'",
            "o.id",
            _json_object(
                identifier=identifier,
                started_by=_json_number("o.started_by_id"),
                act_sha256=_json_text("d.sha256"),
                **{name: _json_number(f"coalesce(b.{name}, 0)") for name in ("bids", *opened)},
            ),
            "procurement_bidopening o "
            + process.format("o")
            + " LEFT JOIN procurement_processdocument d ON d.id = o.act_id "
            "LEFT JOIN (SELECT opening_id, count(*) AS bids, "
            + ", ".join(f"{count} AS {name}" for name, count in opened.items())
            + " FROM procurement_openedbid GROUP BY opening_id) b ON b.opening_id = o.id"
            f" WHERE o.status = {_sql_text(BidOpening.Status.COMPLETED)}",
            "o.confirmed_at, o.id",
        ),
        _stream_sql(
            "v.published_at",
            "'process.evaluation_published'",
            "'procurement.evaluation'",
            "v.id",
            _json_object(
                identifier=identifier,
                version=_json_number("v.version"),
                sha256=_json_text("d.sha256"),
            ),
            "procurement_evaluation v "
            + process.format("v")
            + " LEFT JOIN procurement_processdocument d ON d.id = v.document_id",
            "v.published_at, v.id",
        ),
        _stream_sql(
            "w.decided_at",
            f"CASE WHEN w.status = {_sql_text(Award.Status.DESERTED)} "
            "THEN 'process.lot_deserted' ELSE 'process.lot_awarded' END",
            "'procurement.award'",
            "w.id",
            f"CASE WHEN w.status = {_sql_text(Award.Status.DESERTED)} THEN "
            + _json_object(
                **award_lot, status=_json_text("w.status"), reason=_json_text("w.reason")
            )
            + " ELSE "
            + _json_object(
                **award_lot,
                status=_json_constant(Award.Status.AWARDED),
                reason=_json_text("w.reason"),
                standstill_ends=_json_date("w.standstill_ends"),
                winner=_json_number("w.supplier_id"),
            )
            + " END",
            "procurement_award w " + process.format("w"),
            "w.decided_at, w.id",
        ),
        _stream_sql(
            "x.at",
            "CASE x.step WHEN 0 THEN 'appeal.filed' WHEN 1 THEN 'appeal.admit' "
            f"ELSE CASE a.status {decisions} END END",
            "'procurement.appeal'",
            "a.id",
            "CASE x.step WHEN 0 THEN "
            + _json_object(
                **appeal,
                status=_json_constant(Appeal.Status.FILED),
                appellant=_json_number("a.supplier_id"),
            )
            + " WHEN 1 THEN "
            + _json_object(**appeal, status=_json_constant(Appeal.Status.ADMITTED))
            + " ELSE "
            + _json_object(**appeal, status=_json_text("a.status"))
            + " END",
            "procurement_appeal a "
            + process.format("a")
            + " JOIN procurement_award w ON w.id = a.award_id"
            " CROSS JOIN LATERAL (VALUES (0, a.filed_at), (1, a.admitted_at), "
            "(2, a.resolved_at)) x(step, at)"
            f" WHERE x.at IS NOT NULL AND (x.step < 2 OR a.status IN {_in(APPEAL_DECISIONS)})",
            "x.at, a.id, x.step",
        ),
        _stream_sql(
            "w.revoked_at",
            "'process.lot_award_revoked'",
            "'procurement.award'",
            "w.id",
            _json_object(identifier=identifier, item=_json_number("w.item_id")),
            "procurement_award w " + process.format("w") + " WHERE w.revoked_at IS NOT NULL",
            "w.revoked_at, w.id",
        ),
        _stream_sql(
            _local("w.consented_on", "00:05"),
            "'process.lot_consented'",
            "'procurement.award'",
            "w.id",
            _json_object(
                **award_lot,
                status=_json_constant(Award.Status.CONSENTED),
                reason=_json_constant(""),
                consented_on=_json_date("w.consented_on"),
            ),
            "procurement_award w " + process.format("w") + " WHERE w.consented_on IS NOT NULL",
            "w.consented_on, w.id",
        ),
        _stream_sql(
            "x.at",
            "x.action",
            "x.object_type",
            "x.pk",
            "x.data",
            contract_steps,
            'x.at, x.action COLLATE "C", x.pk',
        ),
    ]


def _fetched(cursor) -> Iterator[tuple]:
    """A server-side cursor's rows, fetched a chunk at a time (iterating it is slower)."""
    while rows := cursor.fetchmany(CHUNK):
        yield from rows


@contextmanager
def encoded_history() -> Iterator[Iterator[audit.EncodedHistoryRow]]:
    """`history()` as PostgreSQL writes it, in its order: the rows
    `core.audit.append_encoded_history` takes. Each stream's query runs on a server-side cursor
    of its own (closed when the block ends: an open one would keep its tables from being
    altered later in the seed's transaction); their rows are merged by instant (UTC text of
    one width: it sorts as the instants do), then by the stream's place in the list. They are
    merged without a key: two rows of one stream are never in the heap together, so rows of
    equal instants compare by the stream's number, which follows it."""
    connection.ensure_connection()
    raw = connection.connection
    cursors = []
    try:
        for number, sql in enumerate(_stream_queries()):
            cursor = raw.cursor(name=f"seed_demo_history_{number}")
            cursors.append(cursor)
            cursor.itersize = CHUNK
            cursor.execute(sql.replace("{stream}", str(number)))
        # (instant, stream, action, type, id, data) without the stream
        yield map(itemgetter(0, 2, 3, 4, 5), heapq.merge(*map(_fetched, cursors)))
    finally:
        for cursor in cursors:
            cursor.close()


def write_audit_history() -> int:
    """Chain the demo's history into the audit trail; returns the number of entries. On
    PostgreSQL the database writes each entry's text (encoded_history), a thread sends each
    batch (COPY) while the next one is read and chained."""
    if connection.vendor != "postgresql":
        return audit.append_history(history(), actor_label=ACTOR)
    with Background() as background, encoded_history() as rows:

        def send(sql: str, data: bytes) -> None:
            background.submit(lambda raw: send_copy(raw, sql, CopyText(data, 1)))

        written = audit.append_encoded_history(rows, actor_label=ACTOR, send=send)
        background.wait()
    return written
