"""OCDS 1.1 over HTTP: /api/ocds/releases/<ocid>/ (release package), /api/ocds/records/<ocid>/
(record package with the compiled release), the portal's extension at a fixed URL, and the
page stating the licence and publication policy. Only published processes have an ocid."""

import json

from django.http import Http404, HttpResponse
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..ocds import packages, schema


class OcdsJSONRenderer(JSONRenderer):
    media_type = "application/json"
    charset = "utf-8"


class _OcdsView(APIView):
    renderer_classes = [OcdsJSONRenderer]

    def process(self, ocid: str):
        found = packages.process_for_ocid(ocid)
        if found is None:
            raise Http404
        return found


class ReleasePackageView(_OcdsView):
    """OCDS release package of one process: every release, oldest first."""

    @extend_schema(responses=OpenApiTypes.OBJECT, tags=["ocds"])
    def get(self, request, ocid: str):
        return Response(packages.release_package(self.process(ocid)))


class RecordPackageView(_OcdsView):
    """OCDS record package of one process: its releases and the compiled release."""

    @extend_schema(responses=OpenApiTypes.OBJECT, tags=["ocds"])
    def get(self, request, ocid: str):
        return Response(packages.record_package(self.process(ocid)))


CONTENT_TYPES = {".json": "application/json", ".md": "text/markdown"}


def extension(request, name: str):
    """A file of the portal's OCDS extension; extension.json points to its README here."""
    content = schema.extension_file(name)
    if content is None:
        raise Http404
    if name == "extension.json":
        data = json.loads(content)
        readme = request.build_absolute_uri("README.md")
        data["documentationUrl"] = {"es": readme, "en": readme}
        content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    suffix = name[name.rindex(".") :]
    return HttpResponse(content, content_type=f"{CONTENT_TYPES[suffix]}; charset=utf-8")


def publication_policy(request):
    """The licence of the open data and how and when it is published."""
    return render(
        request,
        "procurement/ocds_policy.html",
        {"extension_url": packages.extension_url(), "license": packages.LICENSE},
    )
