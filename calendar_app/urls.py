from django.urls import path

from calendar_app import views, views_find, views_visits

app_name = "calendar"

urlpatterns = [
    path("", views.calendar_page, name="calendar"),
    path("find/", views_find.find_time, name="find-time"),
    path("feed/resources/", views.feed_resources, name="feed-resources"),
    path("feed/events/", views.feed_events, name="feed-events"),
    path("appointments/new/", views.appointment_create, name="appointment-create"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment-detail"),
    path("appointments/<int:pk>/edit/", views.appointment_edit, name="appointment-edit"),
    path("appointments/<int:pk>/move/", views.appointment_move, name="appointment-move"),
    path(
        "appointments/<int:pk>/reschedule/",
        views.appointment_reschedule,
        name="appointment-reschedule",
    ),
    path("appointments/<int:pk>/status/", views.appointment_status, name="appointment-status"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment-cancel"),
    path("appointments/<int:pk>/delete/", views.appointment_delete, name="appointment-delete"),
    path("patients/<int:pk>/visits/", views_visits.patient_visits, name="patient-visits"),
    path("shifts/new/", views.shift_create, name="shift-create"),
    path("shifts/<int:pk>/move/", views.shift_move, name="shift-move"),
    path("shifts/<int:pk>/delete/", views.shift_delete, name="shift-delete"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/new/", views.waitlist_add, name="waitlist-add"),
    path("waitlist/<int:pk>/delete/", views.waitlist_remove, name="waitlist-remove"),
]
