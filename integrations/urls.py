from django.urls import include, path

from integrations import views, views_settings

app_name = "integrations"

urlpatterns = [
    path("", views_settings.connection_list, name="index"),
    path("sync-log/", views_settings.sync_log, name="sync-log"),
    path("sync-log/<int:pk>/retry/", views_settings.sync_log_retry, name="sync-log-retry"),
    path("", include("integrations.amocrm.urls")),
    path("<slug:system>/webhook/", views.webhook, name="webhook"),
]
