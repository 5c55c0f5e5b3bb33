from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from core.filtering import filter_status

from .filters import SupplierFilter
from .models import Supplier


def supplier_list(request):
    queryset = Supplier.objects.public().select_related(
        "domicile__province__department", "size_rule"
    )
    supplier_filter = SupplierFilter(request.GET, queryset=queryset)
    page = Paginator(supplier_filter.qs.order_by("legal_name", "id"), 50).get_page(
        request.GET.get("page")
    )
    context = {"filter": supplier_filter, "page": page}
    return render(
        request, "suppliers/supplier_list.html", context, status=filter_status(supplier_filter)
    )


def supplier_detail(request, ruc):
    """The supplier's public record: registry status, size class with its rule and history,
    categories. Declared sales figures stay private; the class and the rule are public."""
    supplier = get_object_or_404(
        Supplier.objects.public().select_related("domicile__province__department", "size_rule"),
        ruc=ruc,
    )
    context = {
        "supplier": supplier,
        "classifications": supplier.classifications.select_related("rule", "sales_year")[:20],
        "categories": supplier.categories.order_by("code")[:100],
    }
    return render(request, "suppliers/supplier_detail.html", context)
