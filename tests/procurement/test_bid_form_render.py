"""The bid page's forms (the offer, a document for the envelope, the consortium consent) are
written by the fast renderer (core.widgets.FAST_RENDERER): every field's markup must stay
Django's own, byte for byte, unbound and bound with hostile values and errors."""

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.renderers import DjangoTemplates
from django.utils import translation

from core.widgets import FAST_RENDERER
from procurement.forms import BidDocumentForm, BidOfferForm, ConsortiumConsentForm
from tests.procurement.bidding import called_tender

pytestmark = pytest.mark.django_db


def _rendered(form, renderer) -> dict[str, str]:
    form.renderer = renderer
    if form.is_bound:
        form.is_valid()
    # The form token is new for every unbound form: the rest must be the same.
    return {
        name: str(form[name]) + str(form[name].errors)
        for name in form.fields
        if form.is_bound or name != "form_token"
    }


def _fields(process, data, renderer) -> dict[str, str]:
    documents = [("d1", 'Propuesta "técnica" <b>&'), ("d2", "Anexo")]
    return _rendered(BidOfferForm(data, process=process, documents=documents), renderer)


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


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_envelope_and_consent_forms_render_as_django_renders_them(language):
    """Hidden, text, file and checkbox inputs; bound with hostile values, a bad form token, a
    missing file and errors."""
    hostile = {"form_token": '"><b>', "title": 'Anexo "<i>&', "confidential": "on"}
    files = {"file": SimpleUploadedFile("a.pdf", b"")}
    consent = {"lead": "2010<b>", "confirm": "on"}
    with translation.override(language):
        for make in (
            lambda: BidDocumentForm(),
            lambda: BidDocumentForm(hostile, files),
            lambda: BidDocumentForm({"form_token": "ab" * 16}),
            lambda: ConsortiumConsentForm(),
            lambda: ConsortiumConsentForm(consent),
            lambda: ConsortiumConsentForm({"lead": "", "confirm": ""}),
        ):
            fast, stock = _rendered(make(), FAST_RENDERER), _rendered(make(), DjangoTemplates())
            assert fast == stock
    assert BidDocumentForm.default_renderer is FAST_RENDERER
    assert ConsortiumConsentForm.default_renderer is FAST_RENDERER


class _Choices(forms.Form):
    boxes = forms.MultipleChoiceField(
        choices=[("1", "Uno <b>"), ("2", 'Dos "2"')], widget=forms.CheckboxSelectMultiple
    )
    radio = forms.ChoiceField(choices=[("a", "A & B"), ("b", "C")], widget=forms.RadioSelect)
    classed = forms.MultipleChoiceField(
        choices=[("x", "X")],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "wide", "data-x": '"q"'}),
    )
    unlabelled = forms.MultipleChoiceField(
        choices=[("y", "Y")], widget=forms.CheckboxSelectMultiple(attrs={"id": False})
    )


@pytest.mark.parametrize(
    "data", [None, {"boxes": ["2", "zz"], "radio": "b"}, {"boxes": [], "radio": "<"}]
)
def test_checkbox_and_radio_lists_render_as_django_renders_them(data):
    """Ids, classes, attributes, checked options, labels that need escaping and errors."""
    for auto_id in ("id_%s", False):
        fast = _rendered(_Choices(data, auto_id=auto_id), FAST_RENDERER)
        stock = _rendered(_Choices(data, auto_id=auto_id), DjangoTemplates())
        assert fast == stock
        assert "checked" in fast["boxes"] or data is None or not data["boxes"]
