"""/estadisticas/: purchase statistics (procurement.statistics), one table at a time with
its bar chart, or as CSV (?format=csv): the same rows. The processes counted are those the
public search finds with the same parameters (ProcessFilter), so every figure links to it."""

from urllib.parse import urlencode

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.filtering import errors_response, filter_status

from .. import charts, exports, statistics
from ..filters import FILTER_FORM_RENDERER, ProcessFilter

DEFAULT_BY = "segment"


class StatisticsForm(forms.Form):
    default_renderer = FILTER_FORM_RENDERER

    by = forms.ChoiceField(label=_("Group by"), choices=statistics.by_choices, required=False)
    format = forms.ChoiceField(choices=[("csv", "CSV")], required=False)


def statistics_page(request):
    form = StatisticsForm(request.GET)
    process_filter = ProcessFilter(request.GET, queryset=statistics.published())
    valid = form.is_valid() & (filter_status(process_filter) == 200)  # both forms' errors
    if not valid:
        if request.GET.get("format") == "csv":
            return errors_response(form, process_filter.form)
        context = {"form": form, "filter": process_filter, "fields": _fields(process_filter)}
        return render(request, "procurement/statistics.html", context, status=400)
    dimension = statistics.DIMENSIONS[form.cleaned_data["by"] or DEFAULT_BY]
    scope = statistics.scope(process_filter)
    kept = statistics.counted(dimension, scope)
    rows = kept.rows
    if form.cleaned_data["format"] == "csv":
        suffix = f"-{scope.params['year']}" if "year" in scope.params else ""
        filename = f"estadisticas-{dimension.name}{suffix}.csv"
        return exports.STATISTICS.items_response(rows, filename)
    context = {
        "form": form,
        "filter": process_filter,
        "fields": _fields(process_filter),
        "dimension": dimension,
        "dimensions": [
            (d, "?" + urlencode(scope.params | {"by": d.name}))
            for d in statistics.DIMENSIONS.values()
        ],
        "csv_url": "?" + urlencode(scope.params | {"by": dimension.name, "format": "csv"}),
        "filtered": bool(scope.params),
        "rows": rows,
        "totals": kept.totals,
        "counted_at": kept.counted_at,
        "all_url": statistics.Row("", "", 0, 0, scope.params).search_url,
        "reset_url": "?" + urlencode({"by": dimension.name}),
        "chart": charts.bar_chart(rows, lambda row: row.count),
        "limit": statistics.LIMIT,
        "cut": kept.cut,
    }
    return render(request, "procurement/statistics.html", context)


def _fields(process_filter) -> list:
    """The search's filters the page offers (all but the sort)."""
    return [f for f in process_filter.form if f.name not in statistics.NOT_FILTERS]
