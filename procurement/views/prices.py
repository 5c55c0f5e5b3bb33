"""/precios/<code>/: the awarded unit prices of a catalog commodity (procurement.prices), one
chart and table per unit of measure, drawn on the server (no JavaScript)."""

import re
from urllib.parse import quote

from django import forms
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core import formatting
from core.filtering import FIRST_YEAR, LAST_YEAR, DayField, OrderedRangesForm
from core.models import CatalogItem, Department

from .. import breadcrumbs, exports, prices

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 220, 70, 20, 10, 30


FILTERS = ("year", "department", "entity", "awarded_from", "awarded_to")


class PriceFilterForm(OrderedRangesForm, forms.Form):
    year = forms.IntegerField(
        label=_("Year of the award"), min_value=FIRST_YEAR, max_value=LAST_YEAR, required=False
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False
    )
    entity = forms.CharField(label=_("Entity (RUC or acronym)"), max_length=30, required=False)
    awarded_from = DayField(label=_("Awarded from"), required=False)
    awarded_to = DayField(label=_("Awarded until"), required=False)

    RANGES = (("awarded_from", "awarded_to"),)


def _chart(history: prices.UnitHistory) -> dict:
    """Positions of the points drawn (x: the award's day, y: the unit price from zero), of
    the quarters' medians (over every line, so they may reach before the first point) and of
    the axis labels."""
    middles = [_quarter_middle(q.start) for q in history.quarters]
    first = min(history.points[0].day, middles[0])
    last = max(history.points[-1].day, middles[-1])
    span = max((last - first).days, 1)
    top = (
        max(
            max(point.unit_price for point in history.points),
            max(q.median for q in history.quarters),
        )
        or 1
    )
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    processes = reverse("procurement:process_detail", args=["X"]).removesuffix("X/")
    contracts = reverse("procurement:contract_detail", args=[1]).removesuffix("1/")

    def x(day):
        return LEFT + (inner_w * (day - first).days / span if last != first else inner_w / 2)

    def y(price):
        return TOP + inner_h - float(inner_h * price / top)

    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "label_y": HEIGHT - 8,
        "max_price": top,
        "first": first,
        "last": last,
        "points": [
            {
                "point": p,
                "x": round(x(p.day), 1),
                "y": round(y(p.unit_price), 1),
                # Written here once, not by template tags per point (most of the page's time).
                "href": f"{processes}{quote(p.process)}/",
                "day": p.day.strftime("%d/%m/%Y"),
                "price": formatting.money(p.unit_price),
                "quantity": formatting.amount(p.quantity),
                "contract": f"{contracts}{p.contract_id}/" if p.contract_id else "",
            }
            for p in history.points
        ],
        "medians": " ".join(
            f"{round(x(_quarter_middle(q.start)), 1)},{round(y(q.median), 1)}"
            for q in history.quarters
        ),
    }


def _quarter_middle(start):
    """The middle of the quarter that begins on `start` (where its median is drawn)."""
    return start.replace(month=start.month + 1, day=15)


def price_history(request, code: str):
    """The chart and tables of the latest prices.POINTS_SHOWN lines per unit, the figures of
    every quarter; `?format=csv` streams every line with the same filters."""
    if not re.fullmatch(r"[0-9]{8}", code):
        raise Http404
    item = get_object_or_404(CatalogItem, code=code)
    form = PriceFilterForm(request.GET)
    context = {"item": item, "form": form, "units": [], "breadcrumbs": breadcrumbs.for_prices(item)}
    if not form.is_valid():
        return render(request, "procurement/price_history.html", context, status=400)
    filters = {name: form.cleaned_data[name] for name in FILTERS}
    if request.GET.get("format") == "csv":
        return exports.PRICES.items_response(
            prices.all_points(code, **filters),
            f"precios-{code}.csv",
        )
    units = prices.kept_history(code, **filters)
    query = request.GET.copy()
    query["format"] = "csv"
    context["csv_query"] = query.urlencode()
    context["units"] = [(unit, _chart(unit)) for unit in units]
    return render(request, "procurement/price_history.html", context)
