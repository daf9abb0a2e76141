from django.urls import path

from patients import views, views_import

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("search/", views.patient_quick_search, name="quick-search"),
    path("new/", views.patient_create, name="create"),
    path("duplicates/", views.patient_duplicates, name="duplicates"),
    path("import/", views_import.import_start, name="import"),
    path("import/template/", views_import.import_template, name="import-template"),
    path("import/<int:pk>/", views_import.import_detail, name="import-detail"),
    path("import/<int:pk>/confirm/", views_import.import_confirm, name="import-confirm"),
    path("import/<int:pk>/cancel/", views_import.import_cancel, name="import-cancel"),
    path("import/<int:pk>/resume/", views_import.import_resume, name="import-resume"),
    path("import/<int:pk>/give-up/", views_import.import_give_up, name="import-give-up"),
    path("<int:pk>/", views.patient_card, name="card"),
    path("<int:pk>/profile/", views.patient_profile_edit, name="profile-edit"),
    path("<int:pk>/info/", views.patient_info_edit, name="info-edit"),
    path("<int:pk>/delete/", views.patient_delete, name="delete"),
    path("<int:pk>/representative/", views.representative_edit, name="representative-edit"),
    path(
        "<int:pk>/representative/remove/",
        views.representative_remove,
        name="representative-remove",
    ),
    path("<int:pk>/family/new/", views.family_create, name="family-create"),
    path("<int:pk>/family/join/", views.family_join, name="family-join"),
    path("<int:pk>/family/leave/", views.family_leave, name="family-leave"),
    path("<int:pk>/portal/activate/", views.portal_activate, name="portal-activate"),
    path("<int:pk>/portal/deactivate/", views.portal_deactivate, name="portal-deactivate"),
    path("<int:pk>/timeline/", views.patient_timeline, name="timeline"),
    path("<int:pk>/<slug:section>/", views.patient_section, name="section"),
]
