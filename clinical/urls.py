from django.urls import path

from clinical import image_views, ortho_views, perio_views, record_views, views

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
    path("patients/<int:pk>/orthodontics/", ortho_views.cards, name="ortho"),
    path("patients/<int:pk>/orthodontics/new/", ortho_views.card_new, name="ortho-new"),
    path("orthodontics/<int:pk>/", ortho_views.card, name="ortho-card"),
    path(
        "orthodontics/<int:pk>/sections/<str:key>/",
        ortho_views.section_save,
        name="ortho-section",
    ),
    path(
        "orthodontics/<int:pk>/sections/<str:key>/reset/",
        ortho_views.section_reset,
        name="ortho-section-reset",
    ),
    path("orthodontics/<int:pk>/reset/", ortho_views.card_reset, name="ortho-reset"),
    path("orthodontics/<int:pk>/status/", ortho_views.card_status, name="ortho-status"),
    path("orthodontics/<int:pk>/print/", ortho_views.card_print, name="ortho-print"),
    path("patients/<int:pk>/images/", image_views.images_tab, name="images"),
    path("patients/<int:pk>/images/upload/", image_views.image_upload, name="image-upload"),
    path("images/<int:pk>/", image_views.image_detail, name="image-detail"),
    path("images/<int:pk>/remove/", image_views.image_remove, name="image-remove"),
    path("xray-log/", image_views.xray_log, name="xray-log"),
    path("patients/<int:pk>/perio/", perio_views.exams, name="perio"),
    path("patients/<int:pk>/perio/new/", perio_views.perio_new, name="perio-new"),
    path("patients/<int:pk>/perio/compare/", perio_views.perio_compare, name="perio-compare"),
    path("perio/<int:pk>/", perio_views.perio_exam, name="perio-exam"),
    path("perio/<int:pk>/edit/", perio_views.perio_edit, name="perio-edit"),
    path("perio/<int:pk>/print/", perio_views.perio_print, name="perio-print"),
]
