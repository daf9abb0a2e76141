from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("<slug:system>/webhook/", views.webhook, name="webhook"),
]
