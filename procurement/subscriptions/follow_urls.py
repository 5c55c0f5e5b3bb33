"""Following processes and the private calendar (no namespace: the names are the project's,
as the process feed's and calendar's are)."""

from django.urls import path

from .. import feeds
from . import views

urlpatterns = [
    path("cuentas/seguidos/", views.followed_list, name="followed_list"),
    path("cuentas/seguidos/calendario/", views.calendar_token, name="calendar_token"),
    path("cuentas/seguidos/baja/<str:token>/", views.unfollow_link, name="unfollow_link"),
    path("calendario/<str:token>.ics", feeds.private_calendar, name="private_calendar"),
    path("procesos/<identifier:identifier>/seguir/", views.process_follow, name="process_follow"),
]
