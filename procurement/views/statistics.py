"""/estadisticas/: purchase statistics (procurement.statistics), one table at a time with
its bar chart, or as CSV (?format=csv): the same rows."""

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.filtering import FIRST_YEAR, LAST_YEAR

from .. import charts, exports, statistics


class StatisticsForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Group by"),
        choices=[(d.name, d.label) for d in statistics.DIMENSIONS.values()],
        required=False,
    )
    year = forms.IntegerField(
        label=_("Fiscal year"), min_value=FIRST_YEAR, max_value=LAST_YEAR, required=False
    )
    format = forms.ChoiceField(choices=[("csv", "CSV")], required=False)


def statistics_page(request):
    form = StatisticsForm(request.GET)
    if not form.is_valid():
        if request.GET.get("format") == "csv":
            lines = [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
            return HttpResponse(
                "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
            )
        context = {"form": form, "dimensions": statistics.DIMENSIONS.values()}
        return render(request, "procurement/statistics.html", context, status=400)
    dimension = statistics.DIMENSIONS[form.cleaned_data["by"] or "segment"]
    year = form.cleaned_data["year"]
    rows = statistics.table(dimension, year)
    if form.cleaned_data["format"] == "csv":
        suffix = f"-{year}" if year else ""
        filename = f"estadisticas-{dimension.name}{suffix}.csv"
        return exports.STATISTICS.items_response(rows, filename)
    context = {
        "form": form,
        "dimension": dimension,
        "dimensions": statistics.DIMENSIONS.values(),
        "year": year,
        "rows": rows,
        "totals": statistics.totals(statistics.published(year)),
        "all_url": statistics.Row("", "", 0, 0, statistics.base_params(year)).search_url,
        "chart": charts.bar_chart(rows, lambda row: row.count),
        "limit": statistics.LIMIT,
        "cut": dimension.ranked and len(rows) == statistics.LIMIT,
    }
    return render(request, "procurement/statistics.html", context)
