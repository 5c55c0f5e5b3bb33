"""Search pages answer bad filter values with 400 and the form's errors, instead of quietly
dropping the filter (an export of everything when someone asked for a subset is a lie)."""

from django.http import HttpResponse


def filter_status(filterset) -> int:
    return 400 if filterset.is_bound and not filterset.is_valid() else 200


def invalid_export(filterset) -> HttpResponse | None:
    """For CSV exports: a 400 text response naming the bad filters, or None when all is well."""
    if filter_status(filterset) == 200:
        return None
    lines = [
        f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in filterset.errors.items()
    ]
    return HttpResponse(
        "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
    )
