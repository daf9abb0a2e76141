from django.urls import path

from billing import invoice_views, views

app_name = "billing"

urlpatterns = [
    path("patient/<int:pk>/payments/", views.payments, name="payments"),
    path("patient/<int:pk>/balance/", views.balance, name="balance"),
    path("patient/<int:pk>/invoice/new/", invoice_views.invoice_new, name="invoice-new"),
    path("patient/<int:pk>/deposit/", views.deposit_top_up, name="deposit-top-up"),
    path("patient/<int:pk>/withdraw/", views.deposit_withdraw, name="deposit-withdraw"),
    path("invoice/<int:pk>/issue/", views.invoice_issue, name="invoice-issue"),
    path("invoice/<int:pk>/discard/", views.invoice_discard, name="invoice-discard"),
    path("invoice/<int:pk>/pay/", views.invoice_pay, name="invoice-pay"),
    path("invoice/<int:pk>/rollback/", views.invoice_rollback, name="invoice-rollback"),
    path("invoice/<int:pk>/print/", views.invoice_print, name="invoice-print"),
    path("invoice/<int:pk>/act/", views.act_print, name="act-print"),
    path("payment/<int:pk>/rollback/", views.payment_rollback, name="payment-rollback"),
    path("payment/<int:pk>/refund/", views.payment_refund, name="payment-refund"),
]
