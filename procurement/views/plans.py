"""Public pages of the annual procurement plans."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from core.filtering import filter_status, invalid_export

from .. import breadcrumbs, exports
from ..filters import PlanFilter, PlanItemFilter
from ..models import ProcurementPlan
from ..queries import plan_items, plans_in_force, published_versions, version_diff
from ..sme import version_share


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def plan_list(request):
    plan_filter = PlanFilter(request.GET, queryset=plans_in_force())
    if request.GET.get("format") == "csv":
        if (bad := invalid_export(plan_filter)) is not None:
            return bad
        return exports.PLANS.response(plan_filter.qs)
    page = Paginator(plan_filter.qs, 50).get_page(request.GET.get("page"))
    context = {"filter": plan_filter, "page": page}
    return render(request, "procurement/plan_list.html", context, status=filter_status(plan_filter))


def _plan(ruc: str, year: int) -> ProcurementPlan:
    plan = get_object_or_404(
        ProcurementPlan.objects.select_related(
            "entity__sector", "entity__ubigeo__province__department", "fiscal_year"
        ),
        entity__ruc=ruc,
        fiscal_year=year,
    )
    return plan


def plan_detail(request, ruc, year):
    plan = _plan(ruc, year)
    versions = list(published_versions(plan))
    if not versions:
        raise Http404(_("This plan has not been published yet."))
    wanted = _number(request.GET.get("version"))
    by_number = {v.number: v for v in versions}
    if wanted is not None and wanted not in by_number:
        raise Http404(
            _("There is no published version %(number)s of this plan.") % {"number": wanted}
        )
    in_force = plan.versions.in_force().get()
    version = by_number.get(wanted, in_force)
    item_filter = PlanItemFilter(request.GET, queryset=plan_items(version))
    if request.GET.get("format") == "csv":
        if (bad := invalid_export(item_filter)) is not None:
            return bad
        return exports.PLAN_ITEMS.response(
            item_filter.qs, f"pac-{plan.entity.ruc}-{plan.fiscal_year_id}-v{version.number}.csv"
        )
    page = Paginator(item_filter.qs, 100).get_page(request.GET.get("page"))
    context = {
        "plan": plan,
        "breadcrumbs": breadcrumbs.for_plan(plan),
        "version": version,
        "versions": versions,
        "in_force": in_force,
        "share": version_share(version),
        "filter": item_filter,
        "page": page,
    }
    return render(
        request, "procurement/plan_detail.html", context, status=filter_status(item_filter)
    )


def plan_changes(request, ruc, year):
    """What changed between any two published versions (default: the last two)."""
    plan = _plan(ruc, year)
    versions = {v.number: v for v in published_versions(plan)}
    if len(versions) < 2:
        raise Http404(_("This plan has a single published version."))
    numbers = sorted(versions)
    old = _number(request.GET.get("desde"))
    new = _number(request.GET.get("hasta"))
    old = old if old in versions else numbers[-2]
    new = new if new in versions else numbers[-1]
    diff = version_diff(versions[old], versions[new])
    context = {
        "plan": plan,
        "breadcrumbs": breadcrumbs.for_plan(plan, here=_("Changes between versions")),
        "diff": diff,
        "numbers": numbers,
        "old": old,
        "new": new,
    }
    return render(request, "procurement/plan_changes.html", context)
