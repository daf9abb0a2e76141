from django.urls import path

from clinical import perio_views, record_views, views

app_name = "clinical"

urlpatterns = [
    path("patients/<int:pk>/chart/", views.chart, name="chart"),
    path("patients/<int:pk>/chart/records/", views.chart_add, name="chart-add"),
    path("chart/records/<int:pk>/remove/", views.record_remove, name="record-remove"),
    path("patients/<int:pk>/history/", record_views.history, name="history"),
    path("patients/<int:pk>/history/new/", record_views.record_new, name="history-new"),
    path("history/<int:pk>/edit/", record_views.record_edit, name="history-edit"),
    path("history/<int:pk>/sign/", record_views.record_sign, name="history-sign"),
    path("history/<int:pk>/correct/", record_views.record_correct, name="history-correct"),
    path("history/<int:pk>/versions/", record_views.record_versions, name="history-versions"),
    path("history/<int:pk>/print/", record_views.record_print, name="history-print"),
    path("patients/<int:pk>/perio/", perio_views.exams, name="perio"),
    path("patients/<int:pk>/perio/new/", perio_views.perio_new, name="perio-new"),
    path("patients/<int:pk>/perio/compare/", perio_views.perio_compare, name="perio-compare"),
    path("perio/<int:pk>/", perio_views.perio_exam, name="perio-exam"),
    path("perio/<int:pk>/edit/", perio_views.perio_edit, name="perio-edit"),
    path("perio/<int:pk>/print/", perio_views.perio_print, name="perio-print"),
]
