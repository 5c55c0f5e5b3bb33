"""Place names read as officially written, with their accents, though the source is in
capitals without them."""

import pytest

from core.models import Department, District, Province

pytestmark = pytest.mark.django_db


def test_places_keep_their_accents():
    assert Department.objects.get(code="03").name == "Apurímac"
    assert Department.objects.get(code="02").name == "Áncash"
    assert District.objects.get(code="150113").name == "Jesús María"
    assert District.objects.get(code="150128").name == "Rímac"
    assert Province.objects.get(code="1501").name == "Lima"
    assert District.objects.get(code="150132").name == "San Juan de Lurigancho"
