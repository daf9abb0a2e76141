from django.urls import path

from clinic.views import (
    audit,
    failed_events,
    files,
    home,
    references,
    settings,
    staff,
    trash,
)

app_name = "clinic"

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("branch/switch/", home.branch_switch, name="branch-switch"),
    path("files/<slug:kind>/<int:pk>/", files.file_download, name="file"),
    # Staff
    path("staff/", staff.staff_list, name="staff-list"),
    path("staff/new/", staff.employee_create, name="employee-create"),
    path("staff/<int:pk>/", staff.employee_detail, name="employee-detail"),
    path("staff/<int:pk>/edit/", staff.employee_update, name="employee-update"),
    path("staff/<int:pk>/login/", staff.employee_login, name="employee-login"),
    path("staff/<int:pk>/rights/", staff.employee_rights, name="employee-rights"),
    path("staff/<int:pk>/delete/", staff.employee_delete, name="employee-delete"),
    # Reference books
    path("references/", references.reference_index, name="reference-index"),
    path("references/rights/", references.rights_group_list, name="rights-groups"),
    path("references/rights/new/", references.rights_group_create, name="rights-group-create"),
    path("references/rights/<int:pk>/", references.rights_group_update, name="rights-group-update"),
    path(
        "references/rights/<int:pk>/delete/",
        references.rights_group_delete,
        name="rights-group-delete",
    ),
    path("references/<slug:key>/", references.reference_book, name="reference-book"),
    path(
        "references/<slug:key>/new/", references.reference_item_create, name="reference-item-create"
    ),
    path(
        "references/<slug:key>/<int:pk>/",
        references.reference_item_update,
        name="reference-item-update",
    ),
    path(
        "references/<slug:key>/<int:pk>/delete/",
        references.reference_item_delete,
        name="reference-item-delete",
    ),
    # Recycle bin
    path("trash/", trash.trash_index, name="trash"),
    path("trash/<slug:section>/<int:pk>/restore/", trash.trash_restore, name="trash-restore"),
    # Settings
    path("settings/", settings.organization, name="settings"),
    path("settings/organization/", settings.organization_save, name="organization-save"),
    path("settings/branches/", settings.branch_list, name="branch-list"),
    path("settings/branches/new/", settings.branch_create, name="branch-create"),
    path("settings/branches/<int:pk>/", settings.branch_detail, name="branch-detail"),
    path("settings/branches/<int:pk>/save/", settings.branch_update, name="branch-update"),
    path("settings/branches/<int:pk>/delete/", settings.branch_delete, name="branch-delete"),
    path("settings/branches/<int:branch_pk>/chairs/", settings.chair_create, name="chair-create"),
    path(
        "settings/branches/<int:branch_pk>/chairs/order/",
        settings.chairs_reorder,
        name="chairs-reorder",
    ),
    path("settings/chairs/<int:pk>/", settings.chair_rename, name="chair-rename"),
    path("settings/chairs/<int:pk>/delete/", settings.chair_delete, name="chair-delete"),
    path("settings/modules/", settings.module_settings, name="module-settings"),
    path("settings/modules/save/", settings.module_settings_save, name="module-settings-save"),
    path("settings/audit/", audit.audit_list, name="audit"),
    path("settings/events/", failed_events.failed_event_list, name="failed-events"),
    path(
        "settings/events/retry/",
        failed_events.failed_events_retry_all,
        name="failed-events-retry-all",
    ),
    path(
        "settings/events/<int:pk>/retry/",
        failed_events.failed_event_retry,
        name="failed-event-retry",
    ),
]
