from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("", views.subscription_list, name="subscription_list"),
    path("nueva/", views.subscription_create, name="subscription_create"),
    path("<int:pk>/", views.subscription_edit, name="subscription_edit"),
    path("<int:pk>/eliminar/", views.subscription_delete, name="subscription_delete"),
    path("<int:pk>/feed/", views.subscription_feed_address, name="subscription_feed_address"),
    path("baja/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
