from django.urls import path

from documents import views, views_card

app_name = "documents"

urlpatterns = [
    # The module: templates.
    path("", views.template_list, name="templates"),
    path("templates/new/", views.template_create, name="template-create"),
    path("templates/<int:pk>/", views.template_detail, name="template-detail"),
    path(
        "templates/<int:pk>/versions/<int:number>/",
        views.template_detail,
        name="template-version",
    ),
    path("templates/<int:pk>/edit/", views.template_edit, name="template-edit"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template-delete"),
    path("templates/<int:pk>/sample.pdf", views.template_sample_pdf, name="template-sample-pdf"),
    # The patient card (the card's rights).
    path("patients/<int:pk>/", views_card.patient_documents, name="patient-documents"),
    path("patients/<int:pk>/print/", views_card.patient_print, name="patient-print"),
    path("copies/<int:pk>/", views_card.copy_detail, name="copy-detail"),
    path("copies/<int:pk>/pdf/", views_card.copy_pdf, name="copy-pdf"),
    path("copies/<int:pk>/status/", views_card.copy_status, name="copy-status"),
    path("copies/<int:pk>/scan/", views_card.copy_scan, name="copy-scan"),
]
