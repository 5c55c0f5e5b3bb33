from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("ingresar/", views.LoginView.as_view(), name="login"),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("verificar/<str:token>/", views.verify, name="verify"),
    path("registro/sin-ruc/", views.register_plain, name="register_plain"),
    path("idioma/", views.email_language, name="email_language"),
    path(
        "registro/sin-ruc/enviado/",
        views.plain_registration_sent,
        name="plain_registration_sent",
    ),
    path("contrasena/restablecer/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "contrasena/restablecer/enviado/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "contrasena/restablecer/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "contrasena/definir/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(first_password=True),
        name="set_password",
    ),
    path(
        "contrasena/lista/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
