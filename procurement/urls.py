from django.urls import path

from . import views

app_name = "procurement"

urlpatterns = [
    path("entidades/", views.entity_list, name="entity_list"),
    path("entidades/<str:ruc>/", views.entity_detail, name="entity_detail"),
]
