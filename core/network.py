"""Who is on the other end of a request: the client's address, behind trusted proxies."""

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    """The client's address. Behind TRUSTED_PROXY_COUNT proxies (each appending the address
    it saw to X-Forwarded-For), it is the entry that many places from the right: entries
    further left are whatever the client sent, and never trusted. Without proxies, or when
    the header is missing or malformed, it is REMOTE_ADDR: behind a proxy that would be the
    proxy's address for every client, and one client's failures would slow everyone down."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if hops <= 0 or len(forwarded) < hops:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-hops]))
    except ValueError:
        return remote
