import pytest
from django.core.exceptions import ValidationError

from core.ruc import check_digit, is_valid_ruc, validate_ruc, with_check_digit


@pytest.mark.parametrize(
    "ruc",
    [
        "20131312955",  # SUNAT
        "20131373237",  # Ministerio de Salud
        "20100047218",  # Banco de Crédito del Perú
        "10467793549",  # a natural person's RUC
    ],
)
def test_real_rucs_are_valid(ruc):
    validate_ruc(ruc)
    assert is_valid_ruc(ruc)


@pytest.mark.parametrize("ruc", ["20131312954", "20131312956", "20131373230", "10467793540"])
def test_a_wrong_check_digit_is_refused(ruc):
    with pytest.raises(ValidationError) as error:
        validate_ruc(ruc)
    assert error.value.code == "ruc_check_digit"


@pytest.mark.parametrize(
    ("ruc", "code"),
    [
        ("2013131295", "ruc_format"),
        ("201313129555", "ruc_format"),
        ("2013131295A", "ruc_format"),
        ("30131312955", "ruc_prefix"),
    ],
)
def test_malformed_rucs_are_refused(ruc, code):
    with pytest.raises(ValidationError) as error:
        validate_ruc(ruc)
    assert error.value.code == code


def test_check_digit_wraps_ten_to_zero_and_eleven_to_one():
    # Find bodies whose raw digit 11 - sum % 11 is 10 and 11, and check the mapping.
    weights = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    seen = {}
    for n in range(2000):
        body = f"20{n:08d}"
        raw = 11 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
        seen.setdefault(raw, body)
    assert check_digit(seen[10]) == 0
    assert check_digit(seen[11]) == 1
    assert is_valid_ruc(with_check_digit(seen[10]))
