"""OCDS release and record packages: the metadata every package states (publisher, licence
CC BY 4.0, publication policy, the portal's extension), and records compiled with ocdsmerge
from the shipped schema."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from . import schema
from .identifiers import identifier_from_ocid, ocid
from .releases import process_releases, release_queryset

LICENSE = "https://creativecommons.org/licenses/by/4.0/"


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def extension_url() -> str:
    """The fixed URL of the portal's extension.json, listed in every package."""
    return _absolute(reverse("ocds:extension", kwargs={"name": "extension.json"}))


def package_metadata(uri: str, published=None) -> dict:
    return {
        "uri": uri,
        "version": schema.VERSION,
        "publishedDate": timezone.localtime(published or timezone.now())
        .replace(microsecond=0)
        .isoformat(),
        "publisher": {"name": settings.OCDS_PUBLISHER_NAME},
        "license": LICENSE,
        "publicationPolicy": _absolute(settings.OCDS_PUBLICATION_POLICY_PATH),
        "extensions": [extension_url()],
    }


def process_for_ocid(value: str):
    """The published process an ocid names, with what its releases read; None if none."""
    imported = release_queryset().filter(ocid=value).exclude(source="").first()
    if imported is not None:
        return imported
    identifier = identifier_from_ocid(value)
    if identifier is None:
        return None
    return release_queryset().filter(identifier=identifier, source="").first()


def release_package(process, releases: list[dict] | None = None) -> dict:
    path = reverse("ocds:releases", kwargs={"ocid": ocid(process)})
    releases = process_releases(process) if releases is None else releases
    return {**package_metadata(_absolute(path)), "releases": releases}


def record(process) -> dict:
    releases = process_releases(process)
    return {
        "ocid": ocid(process),
        "releases": releases,
        "compiledRelease": schema.merger().create_compiled_release(releases),
    }


def record_package(process) -> dict:
    path = reverse("ocds:records", kwargs={"ocid": ocid(process)})
    return {**package_metadata(_absolute(path)), "records": [record(process)]}
