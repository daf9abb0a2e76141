from django.urls import path

from billing import discount_views

app_name = "billing"

urlpatterns = [
    # Discounts (the "discounts" module).
    path("discounts/", discount_views.discount_list, name="discounts"),
    path("discounts/new/", discount_views.discount_create, name="discount-create"),
    path("discounts/try/", discount_views.discount_try, name="discount-try"),
    path("discounts/<int:pk>/edit/", discount_views.discount_edit, name="discount-edit"),
    path("discounts/<int:pk>/delete/", discount_views.discount_delete, name="discount-delete"),
]
