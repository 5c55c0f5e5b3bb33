from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from core.filtering import filter_status

from .. import breadcrumbs
from ..filters import EntityFilter
from ..queries import entities_with_location, entity_plans, public_processes


def entity_list(request):
    entity_filter = EntityFilter(request.GET, queryset=entities_with_location())
    page = Paginator(entity_filter.qs.order_by("name", "pk"), 50).get_page(request.GET.get("page"))
    context = {"filter": entity_filter, "page": page}
    return render(
        request, "procurement/entity_list.html", context, status=filter_status(entity_filter)
    )


def entity_detail(request, ruc):
    entity = get_object_or_404(entities_with_location(), ruc=ruc)
    context = {
        "entity": entity,
        "plans": entity_plans(entity),
        "processes": public_processes().filter(entity=entity)[:20],
        "breadcrumbs": breadcrumbs.for_entity(entity),
    }
    return render(request, "procurement/entity_detail.html", context)
