"""The auditors' red flags (auditors and admins only, read-only): the list of flagged
processes at /auditoria/riesgos/ (filters, sorts, keyset pages, CSV), one process's flags
explained at /auditoria/procesos/<identifier>/, and the entities' risk scores at
/auditoria/entidades/. The flags are the stored rows procurement.red_flags computes; these
pages never compute a rule and never read a bid that was not opened."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from accounts.permissions import require_audit_reader
from core import keyset
from core.codelists import ProcedureType
from core.filtering import filter_status, invalid_export

from .. import exports, red_flags
from ..filters import ProcessFilter, RiskFilter
from ..models import ProcessRisk, ProcurementProcess, RiskFlagCode
from ..queries import public_processes

ENTITY_ROWS = 100


@dataclass(frozen=True)
class ExplainedFlag:
    code: str
    title: str
    explanation: str
    threshold: str
    weight: int
    lines: list[str]
    links: list[tuple[str, str]]


def _supplier(ruc: str) -> tuple[str, str]:
    return (
        _("Supplier %(ruc)s") % {"ruc": ruc},
        reverse("suppliers:supplier_detail", args=[ruc]),
    )


def _single_bidder(process, evidence: dict, lines: list, links: list, opening) -> None:
    lines.append(
        _("Valid bids at the opening: %(n)s (the minimum for competition is %(min)s).")
        % {"n": evidence.get("valid_bids"), "min": evidence.get("minimum")}
    )
    links.append(opening)
    links += [_supplier(b["ruc"]) for b in evidence.get("bidders", []) if b.get("ruc")]


def _short_bid_window(process, evidence: dict, lines: list, links: list, opening) -> None:
    for s in evidence.get("shortfalls", []):
        lines.append(
            ngettext(
                "%(rule)s: %(days)s working day from %(from)s to %(to)s (minimum %(min)s).",
                "%(rule)s: %(days)s working days from %(from)s to %(to)s (minimum %(min)s).",
                s["working_days"],
            )
            % {
                "rule": s["rule"],
                "days": s["working_days"],
                "from": s["from"],
                "to": s["to"],
                "min": s["minimum"],
            }
        )


def _award_above_estimate(process, evidence: dict, lines: list, links: list, opening) -> None:
    for lot in evidence.get("lots", []):
        lines.append(
            _("Awarded S/ %(amount)s against an estimate of S/ %(estimate)s (%(over)s%% above).")
            % {
                "amount": lot["amount"],
                "estimate": lot["estimate"],
                "over": lot["over_percent"],
            }
        )
        links.append(_supplier(lot["supplier"]))


def _amended_above_limit(process, evidence: dict, lines: list, links: list, opening) -> None:
    for c in evidence.get("contracts", []):
        lines.append(
            _("Contract %(number)s: cumulative %(kind)s of %(percent)s%% (limit %(limit)s%%).")
            % {
                "number": c["number"],
                "kind": c["kind"],
                "percent": c["cumulative_percent"],
                "limit": evidence.get("limit_percent"),
            }
        )
        links.append(
            (
                _("Contract %(number)s") % {"number": c["number"]},
                reverse("procurement:contract_detail", args=[c["id"]]),
            )
        )


def _repeated_direct(process, evidence: dict, lines: list, links: list, opening) -> None:
    lines.append(
        _("The entity called %(n)s direct contractings in %(year)s (limit %(limit)s).")
        % {
            "n": evidence.get("direct_processes"),
            "year": evidence.get("year"),
            "limit": evidence.get("limit"),
        }
    )
    links.append(
        (
            _("The entity's direct contractings that year"),
            reverse("procurement:process_list")
            + f"?entity={process.entity.ruc}&procedure_type={ProcedureType.CD}"
            + f"&year={evidence.get('year')}",
        )
    )


def _recurrent_winner(process, evidence: dict, lines: list, links: list, opening) -> None:
    for w in evidence.get("winners", []):
        lines.append(
            _("%(name)s (%(ruc)s) won %(n)s processes of this entity in %(year)s.")
            % {"name": w["name"], "ruc": w["ruc"], "n": w["wins"], "year": evidence["year"]}
        )
        links.append(
            (
                _("Processes of the entity won by %(ruc)s") % {"ruc": w["ruc"]},
                reverse("procurement:process_list")
                + f"?entity={process.entity.ruc}&supplier={w['ruc']}",
            )
        )


def _near_identical_bids(process, evidence: dict, lines: list, links: list, opening) -> None:
    for pair in evidence.get("pairs", []):
        a, b = pair["bids"]
        lines.append(
            _(
                "Bid %(pa)s (%(ra)s) S/ %(ta)s and bid %(pb)s (%(rb)s) S/ %(tb)s differ by "
                "%(diff)s%%."
            )
            % {
                "pa": a["position"],
                "ra": a["ruc"],
                "ta": a["total"],
                "pb": b["position"],
                "rb": b["ruc"],
                "tb": b["total"],
                "diff": pair["difference_percent"],
            }
        )
    links.append(opening)


def _shared_contact(process, evidence: dict, lines: list, links: list, opening) -> None:
    names = {
        "representative_dni": _("legal representative (DNI)"),
        "address": _("address"),
        "phone": _("phone"),
        "email": _("e-mail"),
    }
    for shared in evidence.get("shared", []):
        lines.append(
            _("Same %(field)s «%(value)s»: %(suppliers)s.")
            % {
                "field": names.get(shared["field"], shared["field"]),
                "value": shared["value"],
                "suppliers": ", ".join(shared["suppliers"]),
            }
        )
        links += [_supplier(ruc) for ruc in shared["suppliers"]]
    links.append(opening)


def _fast_award(process, evidence: dict, lines: list, links: list, opening) -> None:
    lines.append(
        _("Awarded %(elapsed)s days after the call (limit %(limit)s days for this procedure).")
        % {"elapsed": evidence.get("days"), "limit": evidence.get("limit_days")}
    )


def _split_purchase(process, evidence: dict, lines: list, links: list, opening) -> None:
    lines.append(
        _(
            "Threshold S/ %(threshold)s; catalog class %(class)s; processes called within "
            "%(window)s days:"
        )
        % {
            "threshold": evidence.get("threshold"),
            "class": evidence.get("catalog_class"),
            "window": evidence.get("window_days"),
        }
    )
    for other in evidence.get("others", []):
        lines.append(f"{other['identifier']}: S/ {other['value']}")
        links.append((other["identifier"], reverse("audit_process", args=[other["identifier"]])))


EXPLAINERS = {
    RiskFlagCode.SINGLE_BIDDER: _single_bidder,
    RiskFlagCode.SHORT_BID_WINDOW: _short_bid_window,
    RiskFlagCode.AWARD_ABOVE_ESTIMATE: _award_above_estimate,
    RiskFlagCode.AMENDED_ABOVE_LIMIT: _amended_above_limit,
    RiskFlagCode.REPEATED_DIRECT: _repeated_direct,
    RiskFlagCode.RECURRENT_WINNER: _recurrent_winner,
    RiskFlagCode.NEAR_IDENTICAL_BIDS: _near_identical_bids,
    RiskFlagCode.SHARED_CONTACT: _shared_contact,
    RiskFlagCode.FAST_AWARD: _fast_award,
    RiskFlagCode.SPLIT_PURCHASE: _split_purchase,
}


def _explain(process, code: str, evidence: dict) -> tuple[list[str], list[tuple[str, str]]]:
    """The evidence a rule stored, as sentences and links for the auditor (one writer per
    flag in EXPLAINERS)."""
    lines: list[str] = []
    links: list[tuple[str, str]] = []
    opening = (_("Opening act"), reverse("procurement:process_opening", args=[process.identifier]))
    if code in EXPLAINERS:
        EXPLAINERS[code](process, evidence, lines, links, opening)
    return lines, links


@login_required
@require_safe
def risk_list(request):
    require_audit_reader(request.user)
    risks = ProcessRisk.objects.select_related("process", "entity")
    risk_filter = RiskFilter(request.GET, queryset=risks)
    status = filter_status(risk_filter)
    if request.GET.get("format") == "csv":
        if (bad := invalid_export(risk_filter)) is not None:
            return bad
        order = risk_filter.order
        sign = "-" if order.descending else ""
        rows = risk_filter.qs.order_by(f"{sign}{order.field}", f"{sign}pk")
        return exports.RISK_FLAGS.response(rows, filename="auditoria-riesgos.csv")
    page = None
    if status == 200:
        try:
            page = keyset.page(risk_filter.qs, risk_filter.order, request.GET.get("cursor"))
        except keyset.BadCursor:
            risk_filter.form.add_error(
                None, _("This page link is not valid for this search: start from the first page.")
            )
            status = 400
    labels = dict(RiskFlagCode.choices)
    rows = [
        (risk, [(code, labels.get(code, code)) for code in risk.codes]) for risk in (page or [])
    ]
    context = {
        "filter": risk_filter,
        "page": page,
        "rows": rows,
        "weights": [(labels[code], weight) for code, weight in red_flags.WEIGHTS.items()],
    }
    return render(request, "procurement/audit/risk_list.html", context, status=status)


@login_required
@require_safe
def process_risk(request, identifier):
    require_audit_reader(request.user)
    process = get_object_or_404(
        ProcurementProcess.objects.select_related("entity"), identifier=identifier
    )
    risk = ProcessRisk.objects.filter(process=process).first()
    labels = dict(RiskFlagCode.choices)
    flags = []
    for row in process.risk_flags.all():
        lines, links = _explain(process, row.code, row.evidence)
        flags.append(
            ExplainedFlag(
                code=row.code,
                title=str(labels.get(row.code, row.code)),
                explanation=str(red_flags.EXPLANATIONS.get(row.code, "")),
                threshold=red_flags.threshold_text(row.code),
                weight=red_flags.WEIGHTS.get(row.code, 0),
                lines=lines,
                links=links,
            )
        )
    context = {"process": process, "risk": risk, "flags": flags, "max_score": red_flags.MAX_SCORE}
    return render(request, "procurement/audit/process_risk.html", context)


@login_required
@require_safe
def entity_risk(request):
    require_audit_reader(request.user)
    data = {key: request.GET[key] for key in ("call_from", "call_to") if request.GET.get(key)}
    process_filter = ProcessFilter(data, queryset=public_processes())
    status = filter_status(process_filter)
    entities = (
        list(red_flags.entity_scores(process_filter.qs)[:ENTITY_ROWS]) if status == 200 else []
    )
    context = {"filter": process_filter, "entities": entities, "limit": ENTITY_ROWS}
    return render(request, "procurement/audit/entity_risk.html", context, status=status)
