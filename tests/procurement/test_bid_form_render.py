"""The bid's offer form is written by the fast renderer (core.widgets.FAST_RENDERER): every
field's markup must stay Django's own, byte for byte, unbound and bound with hostile values
and errors."""

import pytest
from django.forms.renderers import DjangoTemplates
from django.utils import translation

from core.widgets import FAST_RENDERER
from procurement.forms import BidOfferForm
from tests.procurement.bidding import called_tender

pytestmark = pytest.mark.django_db


def _fields(process, data, renderer) -> dict[str, str]:
    documents = [("d1", 'Propuesta "técnica" <b>&'), ("d2", "Anexo")]
    form = BidOfferForm(data, process=process, documents=documents)
    form.renderer = renderer
    if form.is_bound:
        form.is_valid()
    # The form token is new for every unbound form: the rest must be the same.
    return {
        name: str(form[name]) + str(form[name].errors)
        for name in form.fields
        if name != "form_token"
    }


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_bid_form_renders_as_django_renders_it(language):
    process = called_tender().process
    item = process.items.first()
    hostile = {
        f"price_{item.pk}": '12,5"><script>',
        "lead_share": "abc",
        "member_ruc_1": "2010<b>",
        "member_share_1": "150",
        "documents": ["d1", "zz"],
    }
    with translation.override(language):
        for data in (None, hostile):
            fast = _fields(process, data, FAST_RENDERER)
            stock = _fields(process, data, DjangoTemplates())
            assert fast == stock
            assert any("price" in name for name in fast)
    assert BidOfferForm.default_renderer is FAST_RENDERER
