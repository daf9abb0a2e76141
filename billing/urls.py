from django.urls import include, path

from billing import discount_views, invoice_views, views

app_name = "billing"

urlpatterns = [
    # Discounts (the "discounts" module).
    path("discounts/", discount_views.discount_list, name="discounts"),
    path("discounts/new/", discount_views.discount_create, name="discount-create"),
    path("discounts/try/", discount_views.discount_try, name="discount-try"),
    path("discounts/<int:pk>/edit/", discount_views.discount_edit, name="discount-edit"),
    path("discounts/<int:pk>/delete/", discount_views.discount_delete, name="discount-delete"),
    path("patient/<int:pk>/payments/", views.payments, name="payments"),
    path("patient/<int:pk>/balance/", views.balance, name="balance"),
    path("patient/<int:pk>/invoice/new/", invoice_views.invoice_new, name="invoice-new"),
    path("patient/<int:pk>/deposit/", views.deposit_top_up, name="deposit-top-up"),
    path("patient/<int:pk>/withdraw/", views.deposit_withdraw, name="deposit-withdraw"),
    path("invoice/<int:pk>/edit/", invoice_views.invoice_edit, name="invoice-edit"),
    path("invoice/<int:pk>/issue/", views.invoice_issue, name="invoice-issue"),
    path("invoice/<int:pk>/discard/", views.invoice_discard, name="invoice-discard"),
    path("invoice/<int:pk>/pay/", views.invoice_pay, name="invoice-pay"),
    path("invoice/<int:pk>/rollback/", views.invoice_rollback, name="invoice-rollback"),
    path("invoice/<int:pk>/print/", views.invoice_print, name="invoice-print"),
    path("invoice/<int:pk>/act/", views.act_print, name="act-print"),
    path("payment/<int:pk>/rollback/", views.payment_rollback, name="payment-rollback"),
    path("payment/<int:pk>/refund/", views.payment_refund, name="payment-refund"),
    path("", include("billing.report_urls")),
]
