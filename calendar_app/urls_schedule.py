from django.urls import path

from calendar_app import views_schedule

app_name = "schedule"

urlpatterns = [
    path("", views_schedule.schedule, name="day"),
    path("appointments/<int:pk>/status/", views_schedule.schedule_status, name="status"),
]
