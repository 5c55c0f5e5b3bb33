"""The search forms' widgets are written in Python (core.widgets.FastWidgetRenderer) instead
of Django's per-option templates: the markup must stay the templates' own, byte for byte
(options, selected state, labels, errors, ARIA attributes), in Spanish and English."""

import pytest
from django.forms.renderers import DjangoTemplates
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import translation

from core.models import Sector
from procurement.filters import FILTER_FORM_RENDERER, ContractFilter, ProcessFilter, RiskFilter
from procurement.models import Contract, ProcessRisk, ProcurementProcess

pytestmark = pytest.mark.django_db

STOCK = DjangoTemplates()

BOUND = {
    "q": 'computadoras "<b>&',
    "sector": "salud",
    "department": "15",
    "status": "convocado",
    "sme_only": "true",
    "call_from": "2026-01-05",
    "min_value": "1000",
    "sort": "-amount",
}
BAD = {"department": "99", "call_from": "2026-02-01", "call_to": "2026-01-01", "year": "x<y"}


def _both(filterset_class, queryset, data) -> tuple[str, str]:
    """The filter form include rendered with the fast renderer and with Django's own."""
    pages = []
    for renderer in (None, STOCK):
        form = filterset_class(data, queryset=queryset).form
        if renderer is not None:
            form.renderer = renderer
        form.is_bound and form.is_valid()  # errors (and their lists) exist before rendering
        pages.append(render_to_string("includes/filter_form.html", {"form": form}))
    return pages[0], pages[1]


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("data", [None, BOUND, BAD], ids=["unbound", "bound", "errors"])
def test_process_filter_form_renders_as_the_stock_widgets(language, data):
    with translation.override(language):
        fast, stock = _both(ProcessFilter, ProcurementProcess.objects.all(), data)
    assert fast == stock
    assert fast.count("<option") > 60  # the sector and department lists are there
    if data is BOUND:
        assert '<option value="salud" selected>' in fast
        assert '<option value="15" selected>' in fast
        assert 'value="computadoras &quot;&lt;b&gt;&amp;"' in fast  # escaped, not raw
    if data is BAD:
        assert 'aria-invalid="true"' in fast and 'role="alert"' in fast
    name = "Salud" if language == "es" else "Health"
    assert f">{name}</option>" in fast


@pytest.mark.parametrize("data", [None, {"flag": "single_bidder", "min_score": "30"}])
def test_risk_filter_form_renders_as_the_stock_widgets(data):
    fast, stock = _both(RiskFilter, ProcessRisk.objects.all(), data)
    assert fast == stock


def test_the_fast_path_skips_the_option_templates(monkeypatch):
    """The renderer is the search forms' and writes the selects itself (no template per
    option): the reason it exists."""
    form = ProcessFilter({}, queryset=ProcurementProcess.objects.all()).form
    assert form.renderer is FILTER_FORM_RENDERER
    names = []
    original = type(FILTER_FORM_RENDERER).get_template
    monkeypatch.setattr(
        type(FILTER_FORM_RENDERER),
        "get_template",
        lambda self, name: names.append(name) or original(self, name),
    )
    html = str(form["sector"]) + str(form["q"])
    assert html.startswith('<select name="sector"') and "<input" in html
    assert names == []


def test_an_admin_change_to_a_sector_shows_on_the_next_form():
    """The choice lists are read per form (never cached across requests): a renamed or
    added sector shows at once."""
    Sector.objects.filter(code="salud").update(name_es="Salud pública")
    Sector.objects.create(code="nuevo", name_es="Sector nuevo", name_en="New sector")
    with translation.override("es"):
        html = str(ProcessFilter({}, queryset=ProcurementProcess.objects.all()).form["sector"])
    assert '<option value="salud">Salud pública</option>' in html
    assert '<option value="nuevo">Sector nuevo</option>' in html


# The fields as includes/filter_form.html wrote them before {% filter_fields %}.
FIELDS_LOOP = Template(
    '{% for field in form %}\n  <div class="field">\n'
    '    <label for="{{ field.id_for_label }}">{{ field.label }}</label>\n'
    "    {{ field }}\n"
    '    {% if field.errors %}<div role="alert">{{ field.errors }}</div>{% endif %}\n'
    "  </div>\n  {% endfor %}"
)
FIELDS_TAG = Template("{% load filter_fields %}{% filter_fields form %}")


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize(
    ("filterset_class", "queryset", "data"),
    [
        (ProcessFilter, ProcurementProcess.objects.all(), None),
        (ProcessFilter, ProcurementProcess.objects.all(), BOUND),
        (ProcessFilter, ProcurementProcess.objects.all(), BAD),
        (ContractFilter, Contract.objects.all(), {"year": "x", "min_amount": "-1"}),
    ],
    ids=["process-unbound", "process-bound", "process-errors", "contract-errors"],
)
def test_the_fields_tag_writes_the_loops_markup(language, filterset_class, queryset, data):
    """{% filter_fields %} writes what the include's loop wrote: labels, widgets, errors."""
    with translation.override(language):
        pages = []
        for template in (FIELDS_TAG, FIELDS_LOOP):
            form = filterset_class(data, queryset=queryset).form
            form.is_bound and form.is_valid()
            pages.append(template.render(Context({"form": form})))
    assert pages[0] == pages[1]
    assert pages[0].count('<div class="field">') == len(form.fields)
    if data is BOUND:
        assert 'value="computadoras &quot;&lt;b&gt;&amp;"' in pages[0]
    if data and data is not BOUND:
        assert pages[0].count('<div role="alert"><ul class="errorlist"') >= 2
