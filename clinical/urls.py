from django.urls import path

from clinical import plan_template_views, plan_views, record_views, views

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
    path("patients/<int:pk>/plans/", plan_views.plans_section, name="plans"),
    path("patients/<int:pk>/plans/new/", plan_views.plan_new, name="plan-new"),
    path("plans/<int:pk>/", plan_views.plan_detail, name="plan"),
    path("plans/<int:pk>/edit/", plan_views.plan_edit, name="plan-edit"),
    path("plans/<int:pk>/lines/", plan_views.lines_add, name="plan-lines-add"),
    path("plans/<int:pk>/stages/", plan_views.stage_add, name="plan-stage-add"),
    path("plans/<int:pk>/status/", plan_views.plan_status, name="plan-status"),
    path("plans/<int:pk>/suggest/", plan_views.plan_suggest, name="plan-suggest"),
    path("plans/<int:pk>/apply/", plan_views.plan_apply, name="plan-apply"),
    path("plans/<int:pk>/print/", plan_views.plan_print, name="plan-print"),
    path("plan-stages/<int:pk>/remove/", plan_views.stage_remove, name="plan-stage-remove"),
    path("plan-lines/<int:pk>/", plan_views.line_update, name="plan-line"),
    path("plan-lines/<int:pk>/remove/", plan_views.line_remove, name="plan-line-remove"),
    path("plan-templates/", plan_template_views.template_list, name="plan-templates"),
    path("plan-templates/new/", plan_template_views.template_new, name="plan-template-new"),
    path("plan-templates/<int:pk>/", plan_template_views.template_edit, name="plan-template"),
]
