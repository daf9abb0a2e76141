from django.urls import path

from pricelist import views

app_name = "pricelist"

urlpatterns = [
    path("", views.service_list, name="services"),
    path("categories/new/", views.category_create, name="category-create"),
    path("categories/<int:pk>/rename/", views.category_rename, name="category-rename"),
    path("categories/<int:pk>/move/<str:direction>/", views.category_move, name="category-move"),
    path("categories/<int:pk>/delete/", views.category_delete, name="category-delete"),
    path("services/new/", views.service_new, name="service-new"),
    path("services/<int:pk>/", views.service_detail, name="service"),
    path("services/<int:pk>/edit/", views.service_update, name="service-update"),
    path("services/<int:pk>/prices/", views.service_price_add, name="service-price-add"),
    path(
        "services/<int:pk>/consumables/",
        views.service_consumables,
        name="service-consumables",
    ),
    path("services/<int:pk>/diagnoses/", views.service_diagnoses, name="service-diagnoses"),
    path("services/<int:pk>/delete/", views.service_delete, name="service-delete"),
    path("lists/new/", views.price_list_new, name="list-new"),
    path("lists/<int:pk>/", views.price_list_edit, name="list-edit"),
    path("import/", views.import_upload, name="import"),
    path("import/apply/", views.import_apply, name="import-apply"),
]
