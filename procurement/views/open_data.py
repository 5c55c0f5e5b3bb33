"""/datos/: the daily bulk files (procurement.open_data), their licence and publication
policy, and the dictionary of the CSV columns (from exports.PROCESSES, the one list)."""

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.breadcrumbs import Crumb, trail

from .. import exports, open_data
from ..ocds.packages import LICENSE


def open_data_index(request):
    context = {"files": open_data.manifest(), "license": LICENSE}
    return render(request, "procurement/open_data/index.html", context)


def open_data_dictionary(request):
    columns = [
        (column, exports.KIND_DESCRIPTIONS[column.kind]) for column in exports.PROCESSES.columns
    ]
    path = trail(Crumb(_("Open data"), reverse("procurement:open_data")), here=_("Data dictionary"))
    context = {"columns": columns, "breadcrumbs": path}
    return render(request, "procurement/open_data/dictionary.html", context)


def open_data_file(request, name: str):
    """A file the manifest lists (any other name is 404), as a gzip download with its
    SHA-256."""
    listed = open_data.listed_file(name)
    if listed is None:
        raise Http404
    bulk_file, path = listed
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=bulk_file.name,
        content_type=open_data.CONTENT_TYPE,
    )
    response["X-Content-SHA256"] = bulk_file.sha256
    return response
