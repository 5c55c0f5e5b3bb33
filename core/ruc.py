"""Peru's RUC (Registro Único de Contribuyentes): 11 digits, a type prefix and a mod-11
check digit computed by SUNAT's published algorithm."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

RUC_PREFIXES = ("10", "15", "16", "17", "20")
_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def check_digit(first_ten: str) -> int:
    """11 - (weighted sum mod 11), where 10 becomes 0 and 11 becomes 1."""
    total = sum(int(d) * w for d, w in zip(first_ten, _WEIGHTS, strict=True))
    digit = 11 - total % 11
    return {10: 0, 11: 1}.get(digit, digit)


def with_check_digit(first_ten: str) -> str:
    return first_ten + str(check_digit(first_ten))


def validate_ruc(value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{11}", value):
        raise ValidationError(_("A RUC has exactly 11 digits."), code="ruc_format")
    if not value.startswith(RUC_PREFIXES):
        raise ValidationError(_("A RUC starts with 10, 15, 16, 17 or 20."), code="ruc_prefix")
    if check_digit(value[:10]) != int(value[10]):
        raise ValidationError(
            _("The RUC's check digit is wrong: please check the number."), code="ruc_check_digit"
        )


def is_valid_ruc(value: str) -> bool:
    try:
        validate_ruc(value)
    except ValidationError:
        return False
    return True
