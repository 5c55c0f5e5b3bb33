"""What every endpoint of the public API shares: cursor pagination and the throttle for
anonymous clients (settings in config/settings.py)."""

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.throttling import AnonRateThrottle

from .network import client_address


class PortalCursorPagination(CursorPagination):
    """Stable pages however large the table: a cursor, never an offset a client can push to
    the millionth row. Views set `ordering` to a column whose order is unique or nearly so."""

    page_size_query_param = "page_size"
    ordering = "-id"

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """A cursor is client input: a position that its ordering column cannot hold (a date
        of month 99, a number past 64 bits, a NUL) is an invalid cursor, not a 500."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        try:
            field = self.model._meta.get_field(self.ordering[0].lstrip("-"))
            value = field.to_python(cursor.position)
        except (FieldDoesNotExist, ValidationError, ValueError, TypeError):
            raise NotFound(self.invalid_cursor_message) from None
        if "\x00" in cursor.position or (isinstance(value, int) and abs(value) >= 2**63):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        ordering = getattr(view, "cursor_ordering", self.ordering)
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)


class AnonymousRateThrottle(AnonRateThrottle):
    """Anonymous clients get API_ANON_THROTTLE_RATE requests per address (read when the
    request comes, so a changed setting takes effect without a restart). The address is the
    portal's one definition (core.network.client_address): DRF's own would trust a
    client's X-Forwarded-For, so a made-up header would be a fresh allowance."""

    def get_rate(self) -> str:
        return settings.API_ANON_THROTTLE_RATE

    def get_ident(self, request) -> str:
        return client_address(request)
