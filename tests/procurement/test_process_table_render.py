"""The process table's rows are written in Python ({% process_rows %}, procurement's
`portal` library) instead of a {% for %} of tags and filters per cell: the markup must stay the
loop's own, byte for byte, every value escaped, in Spanish and English."""

from decimal import Decimal as D

import pytest
from django.template import Context, Template
from django.utils import translation

from procurement.models import ProcessStage, ProcessStatus, ProcurementProcess
from procurement.queries import public_processes
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db

# The rows as the table's template wrote them before {% process_rows %}.
LOOP = Template(
    "{% load i18n humanize portal %}"
    "{% for p in processes %}\n    <tr>\n"
    "      <td><a href=\"{% url 'procurement:process_detail' p.identifier %}\">"
    '{{ p.identifier }}</a>{% if p.sme_only %} <span class="badge ok">'
    '{% translate "SMEs only" %}</span>{% endif %}</td>\n'
    "      <td>{{ p.entity.acronym }}</td>\n"
    "      <td>{{ p.description|truncatechars:90 }}</td>\n"
    '      <td class="num">{{ p.estimated_value|amount }}</td>\n'
    "      <td>{{ p.get_status_display }}</td>\n"
    '      <td>{{ p.call_date|date:"SHORT_DATE_FORMAT" }}</td>\n'
    "    </tr>\n  {% endfor %}"
)
ROWS = Template("{% load portal %}{% process_rows processes %}")

HOSTILE = '<script>alert("x")</script> & papel bond A4 para las oficinas'
LONG = "Adquisición de computadoras de escritorio " * 4  # over 90 characters
COMBINING = "Adquisicio\u0301n de cafe\u0301 y te\u0301 para la sede" * 3  # NFC shortens it


@pytest.fixture
def processes():
    hostile = published(HOSTILE)
    long = published(LONG)
    combined = published(COMBINING)
    ProcurementProcess.objects.filter(pk=hostile.pk).update(
        sme_only=True, estimated_value=D("1234567.5")
    )
    ProcurementProcess.objects.filter(pk=long.pk).update(estimated_value=D("0.5"))
    ProcurementProcess.objects.filter(pk=combined.pk).update(status=ProcessStatus.DESERTED)
    # No call stage: the call date is empty.
    ProcessStage.objects.filter(process=combined).delete()
    return list(public_processes())


@pytest.mark.parametrize("language", ["es", "en"])
def test_rows_are_the_loops_markup(processes, language):
    with translation.override(language):
        context = {"processes": processes}
        fast, loop = ROWS.render(Context(context)), LOOP.render(Context(context))
    assert fast == loop
    assert fast.count("<tr>") == 3
    assert "<script>" not in fast and "&lt;script&gt;" in fast  # escaped, never raw
    assert "&amp; papel" in fast
    assert '<span class="badge ok">' in fast
    assert "…" in fast  # the long description is cut


def test_processes_without_their_call_date_read_as_the_loop_did(processes):
    """Processes not read through public_processes() (no call_date annotation): an empty date
    cell, as the template loop wrote, never an AttributeError (a 500)."""
    plain = list(ProcurementProcess.objects.select_related("entity").order_by("pk"))
    context = {"processes": plain}
    assert ROWS.render(Context(context)) == LOOP.render(Context(context))


def test_no_rows_for_no_processes():
    assert ROWS.render(Context({"processes": []})) == ""
    assert ROWS.render(Context({"processes": ProcurementProcess.objects.none()})) == ""


def test_the_search_page_escapes_a_description(client, processes):
    page = client.get("/procesos/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; papel" in page
    assert "<script>alert" not in page
