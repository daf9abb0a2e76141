from django.urls import path

from integrations.amocrm import views_hook

urlpatterns = [
    path("amocrm/hook/<str:secret>/", views_hook.hook, name="amocrm-hook"),
]
