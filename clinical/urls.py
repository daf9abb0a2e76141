from django.urls import path

from clinical import views

app_name = "clinical"

urlpatterns = [
    path("patients/<int:pk>/chart/", views.chart, name="chart"),
    path("patients/<int:pk>/chart/records/", views.chart_add, name="chart-add"),
    path("chart/records/<int:pk>/remove/", views.record_remove, name="record-remove"),
]
