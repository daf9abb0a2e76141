"""Included by ``billing/urls.py`` (namespace ``billing``)."""

from django.urls import path

from billing import report_views

urlpatterns = [
    path("cash/", report_views.cash_day, name="cash-day"),
    path("debts/", report_views.debt_list, name="debts"),
    path("income/", report_views.income_report, name="income"),
    path("certificates/", report_views.certificate_list, name="certificates"),
    path("certificates/<int:pk>/", report_views.certificate_done, name="certificate-done"),
    path("certificates/<int:pk>/pdf/", report_views.certificate_pdf, name="certificate-pdf"),
    path(
        "certificates/<int:pk>/correct/",
        report_views.certificate_correct,
        name="certificate-correct",
    ),
    path(
        "patient/<int:pk>/certificate/",
        report_views.certificate_new,
        name="certificate-new",
    ),
]
