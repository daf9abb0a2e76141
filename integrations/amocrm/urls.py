from django.urls import path

from integrations.amocrm import views_hook, views_initial

urlpatterns = [
    path("amocrm/hook/<str:secret>/", views_hook.hook, name="amocrm-hook"),
    path("amocrm/initial/", views_initial.initial_page, name="amocrm-initial"),
    path("amocrm/initial/preview/", views_initial.initial_preview, name="amocrm-initial-preview"),
    path(
        "amocrm/initial/<int:pk>/start/", views_initial.initial_start, name="amocrm-initial-start"
    ),
    path(
        "amocrm/initial/<int:pk>/pause/", views_initial.initial_pause, name="amocrm-initial-pause"
    ),
]
