from django.contrib import admin
from django.urls import include, path

from accounts.urls import urlpatterns as account_urlpatterns
from core import views as core_views
from procurement import feeds
from procurement.views import audit, home, red_flags
from suppliers.urls import registration_urlpatterns

# Account pages, with the supplier's self-registration among them (one "accounts" namespace).
accounts = (account_urlpatterns + registration_urlpatterns, "accounts")

urlpatterns = [
    path("", home.home, name="home"),
    path("health/", core_views.health, name="health"),
    path("auditoria/", audit.overview, name="audit_overview"),
    path("auditoria/riesgos/", red_flags.risk_list, name="audit_risks"),
    path(
        "auditoria/procesos/<identifier:identifier>/", red_flags.process_risk, name="audit_process"
    ),
    path("auditoria/entidades/", red_flags.entity_risk, name="audit_entities"),
    path("auditoria/atascados/", audit.stuck_processes, name="audit_stuck"),
    path("auditoria/notas/<identifier:identifier>/", audit.process_notes, name="audit_notes"),
    path("auditoria/registro/", core_views.audit_trail, name="audit_trail"),
    path(
        "auditoria/registro/<str:object_type>/<str:object_id>/",
        core_views.audit_timeline,
        name="audit_timeline",
    ),
    path("auditoria/registro/verificar/", core_views.audit_trail_verify, name="audit_trail_verify"),
    path("auditoria/ancla/", core_views.audit_anchor, name="audit_anchor"),
    path(
        "auditoria/ancla/clave-publica.pem",
        core_views.portal_public_key,
        name="audit_anchor_public_key",
    ),
    path("recibos/clave-publica.pem", core_views.portal_public_key, name="receipt_public_key"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("cuentas/suscripciones/", include("procurement.subscriptions.urls")),
    path("", include("procurement.subscriptions.follow_urls")),
    path("cuentas/", include(accounts)),
    path("feeds/procesos/", feeds.process_feed, name="process_feed"),
    path("feeds/suscripciones/<str:token>/", feeds.subscription_feed, name="subscription_feed"),
    path(
        "procesos/<identifier:identifier>/calendario.ics",
        feeds.process_calendar,
        name="process_calendar",
    ),
    path("", include("procurement.urls")),
    path("proveedores/", include("suppliers.urls")),
    path("api/ocds/", include("procurement.api.ocds_urls")),
    path("api/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]
