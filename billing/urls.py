from django.urls import include, path

app_name = "billing"

urlpatterns = [
    path("", include("billing.report_urls")),
]
