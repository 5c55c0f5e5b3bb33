from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import EmailLoginForm

app_name = "accounts"

urlpatterns = [
    path(
        "ingresar/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", authentication_form=EmailLoginForm
        ),
        name="login",
    ),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("registro/", views.register, name="register"),
    path("registro/enviado/", views.registration_sent, name="registration_sent"),
    path("verificar/<str:token>/", views.verify, name="verify"),
]
