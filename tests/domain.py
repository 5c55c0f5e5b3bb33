"""Asserting domain refusals by their stable code (and field), never by their wording."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.errors import DomainError

ANY_FIELD = object()


@contextmanager
def raises_domain(code: str, *, field=ANY_FIELD) -> Iterator[pytest.ExceptionInfo]:
    """Like `pytest.raises(DomainError)`, and the error must carry `code` (and `field`, when
    given)."""
    with pytest.raises(DomainError) as info:
        yield info
    assert info.value.code == code, f"expected code {code!r}, got {info.value.code!r}: {info.value}"
    if field is not ANY_FIELD:
        assert info.value.field == field, f"expected field {field!r}, got {info.value.field!r}"
