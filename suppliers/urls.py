from django.urls import path, re_path

from . import views

app_name = "suppliers"

# A RUC in a path is 11 ASCII digits; anything else is a 404 before a query runs.
RUC = r"(?P<ruc>[0-9]{11})"

# Supplier self-registration lives under /cuentas/ with the other account pages, in the
# "accounts" namespace (config.urls puts it there: accounts itself knows nothing of suppliers).
registration_urlpatterns = [
    path("registro/", views.register, name="register"),
    path("registro/enviado/", views.registration_sent, name="registration_sent"),
]

urlpatterns = [
    path("", views.supplier_list, name="supplier_list"),
    # Self-service pages come before "<ruc>/" so their names are never read as a RUC.
    path("mi-cuenta/", views.my_suppliers, name="my_suppliers"),
    re_path(rf"^mi-cuenta/{RUC}/$", views.account, name="account"),
    re_path(rf"^mi-cuenta/{RUC}/perfil/$", views.edit_profile, name="edit_profile"),
    re_path(rf"^mi-cuenta/{RUC}/declaracion/$", views.declare_size, name="declare_size"),
    re_path(rf"^mi-cuenta/{RUC}/renovacion/$", views.request_renewal, name="request_renewal"),
    re_path(rf"^mi-cuenta/{RUC}/invitaciones/$", views.invite, name="invite"),
    re_path(
        rf"^mi-cuenta/{RUC}/invitaciones/(?P<invitation_id>[0-9]{{1,18}})/retirar/$",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("invitacion/<str:token>/", views.invitation, name="invitation"),
    re_path(rf"^{RUC}/disputar/$", views.dispute, name="dispute"),
    path("<ruc:ruc>/", views.supplier_detail, name="supplier_detail"),
]
