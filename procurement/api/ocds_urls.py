from django.urls import path

from . import ocds

app_name = "ocds"

urlpatterns = [
    path("", ocds.publication_policy, name="policy"),
    path("releases/<str:ocid>/", ocds.ReleasePackageView.as_view(), name="releases"),
    path("records/<str:ocid>/", ocds.RecordPackageView.as_view(), name="records"),
    path("extension/<str:name>", ocds.extension, name="extension"),
]
