from django.urls import path

from . import views

app_name = "suppliers"

urlpatterns = [
    path("", views.supplier_list, name="supplier_list"),
    path("<ruc:ruc>/", views.supplier_detail, name="supplier_detail"),
]
