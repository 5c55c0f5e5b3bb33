"""Public pages of the selection processes."""

from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from ..calendar_rules import stage_progress
from ..exports import csv_response
from ..filters import ProcessFilter
from ..models import ProcessDocument, ProcessStatus
from ..queries import public_processes


def process_list(request):
    process_filter = ProcessFilter(request.GET, queryset=public_processes())
    if request.GET.get("format") == "csv":
        rows = (
            (p.identifier, p.entity.ruc, p.entity.name, p.get_procedure_type_display(), p.get_object_type_display(),
             p.description, p.estimated_value, p.get_status_display(), "si" if p.sme_only else "no",
             p.published_at.date() if p.published_at else "")
            for p in process_filter.qs.iterator(chunk_size=2000)
        )  # fmt: skip
        header = ["nomenclatura", "ruc_entidad", "entidad", "procedimiento", "objeto", "descripcion",
                  "valor_estimado", "estado", "solo_mype", "fecha_convocatoria"]  # fmt: skip
        return csv_response("procesos.csv", header, rows)
    page = Paginator(process_filter.qs, 25).get_page(request.GET.get("page"))
    return render(
        request, "procurement/process_list.html", {"filter": process_filter, "page": page}
    )


def process_detail(request, identifier):
    process = get_object_or_404(
        public_processes().select_related(
            "entity__ubigeo__province__department", "delivery_ubigeo"
        ),
        identifier=identifier,
    )
    context = {
        "process": process,
        "progress": stage_progress(process.stages.all(), timezone.localdate()),
        "items": process.items.select_related("catalog_item"),
        "history": process.history.select_related("actor"),
        "documents": process.documents.select_related("replaces").order_by("published_at", "id"),
    }
    return render(request, "procurement/process_detail.html", context)


def process_document(request, identifier, document_id):
    """Download a published document (as an attachment: never rendered by the browser)."""
    document = get_object_or_404(
        ProcessDocument.objects.exclude(process__status=ProcessStatus.DRAFT),
        pk=document_id,
        process__identifier=identifier,
    )
    response = FileResponse(document.file.open("rb"), as_attachment=True, filename=document.filename,
                            content_type=document.content_type)  # fmt: skip
    response["X-Content-SHA256"] = document.sha256
    return response
