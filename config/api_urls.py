"""The public API: /api/v1/ (REST, read-only), /api/schema/ (OpenAPI 3), /api/docs/ (Swagger
UI served by the portal, no CDN) and /api/ocds/ (OCDS 1.1 packages)."""

from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from procurement.api import views as procurement_api
from suppliers.api import views as suppliers_api


class PortalRouter(DefaultRouter):
    include_format_suffixes = False


router = PortalRouter()
router.register("entities", procurement_api.EntityViewSet, basename="entity")
router.register("plans", procurement_api.PlanViewSet, basename="plan")
router.register("plan-versions", procurement_api.PlanVersionViewSet, basename="plan-version")
router.register("processes", procurement_api.ProcessViewSet, basename="process")
router.register("documents", procurement_api.DocumentViewSet, basename="document")
router.register("openings", procurement_api.OpeningActViewSet, basename="opening")
router.register("evaluations", procurement_api.EvaluationViewSet, basename="evaluation")
router.register("awards", procurement_api.AwardViewSet, basename="award")
router.register("contracts", procurement_api.ContractViewSet, basename="contract")
router.register("suppliers", suppliers_api.SupplierViewSet, basename="supplier")

app_name = "api"

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
