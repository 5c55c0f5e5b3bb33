"""OCDS identifiers: a process's ocid, and parties identified by their RUC."""

from django.conf import settings

PARTY_SCHEME = "PE-RUC"


def ocid(process) -> str:
    """The Open Contracting ID of a process: the portal's prefix and its identifier (never
    changes once published, like the identifier). An imported process keeps its source's."""
    return process.ocid or f"{settings.OCDS_PREFIX}-{process.identifier}"


def identifier_from_ocid(value: str) -> str | None:
    """The process identifier an ocid names, or None when it is not one of ours."""
    prefix = f"{settings.OCDS_PREFIX}-"
    if not value.startswith(prefix) or len(value) == len(prefix):
        return None
    return value[len(prefix) :]


def party_id(ruc: str) -> str:
    return f"{PARTY_SCHEME}-{ruc}"
