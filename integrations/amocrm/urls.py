from django.urls import path

from integrations.amocrm import (
    views_app_accounts,
    views_connect,
    views_decisions,
    views_hook,
    views_initial,
    views_setup,
    views_sync,
    views_widget,
)

urlpatterns = [
    path("amocrm/", views_connect.integration, name="amocrm-integration"),
    path("amocrm/connect/", views_connect.connect, name="amocrm-connect"),
    # The redirect URI the clinic pastes into amoCRM, exactly as shown on the connect page.
    path("amocrm/oauth/callback", views_connect.oauth_callback, name="amocrm-oauth-callback"),
    path("amocrm/disconnect/", views_connect.disconnect, name="amocrm-disconnect"),
    path("amocrm/setup/<slug:step>/", views_setup.setup_step, name="amocrm-setup"),
    path("amocrm/decisions/", views_decisions.decision_list, name="amocrm-decisions"),
    path(
        "amocrm/decisions/resolve/",
        views_decisions.decision_resolve,
        name="amocrm-decision-resolve",
    ),
    path("amocrm/hook/<str:secret>/", views_hook.hook, name="amocrm-hook"),
    path("amocrm/sync-now/", views_sync.sync_now, name="amocrm-sync-now"),
    path("amocrm/initial/", views_initial.initial_page, name="amocrm-initial"),
    path("amocrm/initial/preview/", views_initial.initial_preview, name="amocrm-initial-preview"),
    path(
        "amocrm/initial/<int:pk>/start/", views_initial.initial_start, name="amocrm-initial-start"
    ),
    path(
        "amocrm/initial/<int:pk>/pause/", views_initial.initial_pause, name="amocrm-initial-pause"
    ),
    # The deal card widget: the package, its key, the session script.js asks for, the panel.
    path("amocrm/widget/download/", views_widget.widget_download, name="amocrm-widget-download"),
    path("amocrm/widget/secret/", views_widget.widget_secret, name="amocrm-widget-secret"),
    path("amocrm/widget/session/", views_widget.widget_session, name="amocrm-widget-session"),
    path("amocrm/panel/<str:token>/", views_widget.panel_show, name="amocrm-panel"),
    path("amocrm/panel/<str:token>/edit/", views_widget.panel_edit, name="amocrm-panel-edit"),
    path("amocrm/panel/<str:token>/cancel/", views_widget.panel_cancel, name="amocrm-panel-cancel"),
    path("amocrm/panel/<str:token>/book/", views_widget.panel_book, name="amocrm-panel-book"),
    path(
        "amocrm/panel/<str:token>/book/slots/", views_widget.panel_slots, name="amocrm-panel-slots"
    ),
    path(
        "amocrm/panel/<str:token>/book/confirm/",
        views_widget.panel_confirm,
        name="amocrm-panel-confirm",
    ),
    path(
        "amocrm/app-accounts/patient/<int:pk>/",
        views_app_accounts.card_update,
        name="amocrm-app-account-update",
    ),
    path(
        "amocrm/app-accounts/sync/",
        views_app_accounts.list_sync,
        name="amocrm-app-accounts-sync",
    ),
    path(
        "amocrm/app-accounts/<int:pk>/",
        views_app_accounts.job_page,
        name="amocrm-app-accounts-job",
    ),
]
