"""The 40% SME reservation in public: an entity's compliance page (/entidades/<ruc>/mype/),
the national ranking (/mype/) and how every figure is computed (/mype/metodologia/). Thin:
every figure comes from procurement.sme."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.dates import MONTHS, MONTHS_3
from django.utils.translation import gettext as _

from core import clock
from core.codelists import GovernmentLevel
from core.filtering import filter_status, invalid_export

from .. import breadcrumbs, charts, exports, sme
from ..charts import share_chart
from ..filters import SmeRankingFilter, SmeYearFilter
from ..models import Contract, Entity
from ..queries import entities_with_location

CONTRACTS_PER_PAGE = 50


def entity_sme(request, ruc):
    entity = get_object_or_404(entities_with_location(), ruc=ruc)
    year_filter = SmeYearFilter(request.GET, queryset=Contract.objects.public())
    wants_csv = request.GET.get("format") == "csv"
    if wants_csv and (bad := invalid_export(year_filter)) is not None:
        return bad
    if filter_status(year_filter) != 200:
        # The form and its errors, no figures: figures of a year nobody asked for would read
        # as the answer.
        context = {
            "entity": entity,
            "breadcrumbs": breadcrumbs.for_entity(entity, here=_("SME reservation")),
            "form": year_filter.form,
            "invalid": True,
        }
        return render(request, "procurement/sme_entity.html", context, status=400)
    year = year_filter.year_or(clock.today().year)
    minimum = sme.minimum_for(year)
    listed = sme.share_contracts(
        Contract.objects.public().filter(entity=entity, signed_on__year=year)
    )
    if wants_csv and year_filter.csv_table() == "contracts":
        return exports.SME_CONTRACTS.response(
            listed.filter(eligible_part__gt=0).order_by("signed_on", "pk"),
            filename=f"mype-{entity.ruc}-{year}.csv",
        )
    series = sme.monthly_series(entity, year, minimum)
    if wants_csv:
        return exports.SME_MONTHS.items_response(
            series, filename=f"mype-{entity.ruc}-{year}-meses.csv"
        )
    share = series[-1].to_date
    context = {
        "entity": entity,
        "breadcrumbs": breadcrumbs.for_entity(
            entity, here=_("SME reservation %(year)s") % {"year": year}
        ),
        "form": year_filter.form,
        "year": year,
        "share": share,
        "series": series,
        "months": [(MONTHS[m.month], m) for m in series],
        "chart": share_chart(series, share.minimum, [str(MONTHS_3[m]) for m in range(1, 13)]),
        "planned": sme.planned_shares_in_force(year, [entity.pk]).get(entity.pk),
        "lead": sme.summary_lead_time(year, Entity.objects.filter(pk=entity.pk)),
        # The rows listed are the contracts with an eligible part, of known size or not; the
        # process's search columns are not shown (and are the widest of the row).
        "page": Paginator(
            sme.ContractsBehind(
                listed.defer("process__search_vector", "process__search_text"),
                count=share.contracts + share.unknown_contracts,
            ),
            CONTRACTS_PER_PAGE,
        ).get_page(request.GET.get("page")),
    }
    return render(request, "procurement/sme_entity.html", context)


NO_LEAD_TIME = sme.LeadTime(0, 0, None, None)


@dataclass(frozen=True)
class RankingRow:
    ruc: str
    name: str
    year: int
    share: sme.ActualShare
    planned: Decimal | None
    lead: sme.LeadTime = NO_LEAD_TIME


def _rows(ranked, year: int, lead_times: bool = False) -> list[RankingRow]:
    """The ranked entities with their planned share (and, for the CSV, their lead time)."""
    ranked = list(ranked)
    ids = [r.entity_id for r in ranked]
    planned = sme.planned_shares_in_force(year, ids)
    leads = sme.summary_lead_times(year, ids) if lead_times else {}
    return [
        RankingRow(
            r.ruc,
            r.name,
            year,
            r.share,
            planned.get(r.entity_id),
            leads.get(r.entity_id, NO_LEAD_TIME),
        )
        for r in ranked
    ]


def _scope(ranking_filter) -> str:
    """What the filters narrowed the entities to ("Salud · Regional · Cusco"), or "" for
    every entity (the national figures)."""
    data = ranking_filter.form.cleaned_data
    names = [str(data["sector"]) if data.get("sector") else ""]
    if data.get("level"):
        names.append(str(GovernmentLevel(data["level"]).label))
    if data.get("department"):
        names.append(data["department"].name)
    return " · ".join(name for name in names if name)


def sme_ranking(request):
    ranking_filter = SmeRankingFilter(request.GET, queryset=entities_with_location())
    wants_csv = request.GET.get("format") == "csv"
    if wants_csv and (bad := invalid_export(ranking_filter)) is not None:
        return bad
    if filter_status(ranking_filter) != 200:
        # The form and its errors, no figures: the country's figures under a filter someone
        # asked for would read as the answer to it.
        context = {"filter": ranking_filter, "invalid": True}
        return render(request, "procurement/sme_ranking.html", context, status=400)
    year = ranking_filter.year_or(clock.today().year)
    minimum = sme.minimum_for(year)
    entities = ranking_filter.qs
    ranking = sme.ranking(year, entities, ranking_filter.sort_or_default(), minimum)
    if wants_csv:
        return exports.SME_RANKING.items_response(
            _rows(ranking, year, lead_times=True), filename=f"mype-ranking-{year}.csv"
        )
    page = Paginator(ranking, 50).get_page(request.GET.get("page"))
    departments = sme.summary_shares_by(
        year,
        entities,
        "entity__ubigeo__province__department__code",
        "entity__ubigeo__province__department__name",
        minimum=minimum,
    )
    context = {
        "filter": ranking_filter,
        "year": year,
        "scope": _scope(ranking_filter),
        "page": page,
        "rows": _rows(page.object_list, year),
        "national": sme.summary_share(year, entities, minimum),
        "departments": departments,
        "department_chart": charts.bar_chart(
            departments, lambda row: row[1].share, largest=1, mark=minimum
        ),
        "lead": sme.summary_lead_time(year, entities),
    }
    return render(request, "procurement/sme_ranking.html", context)


def sme_methodology(request):
    return render(
        request,
        "procurement/sme_methodology.html",
        {"minimum": sme.minimum_for(clock.today().year)},
    )
