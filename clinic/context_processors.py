from typing import Any

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from clinic.models import Organization
from clinic.modules import MODULES
from clinic.permissions import has_module_perm, visible_branches


def shell(request):
    """What the application shell (sidebar, top bar) needs on every page. Lazy: a fragment
    (a card's tab, a dialog, an htmx answer) shows no shell, and reading the branches and
    the organization and reversing every module's link were a query, a cache read and a
    millisecond of each of them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "organization": SimpleLazyObject(Organization.load),
        "sidebar": SimpleLazyObject(lambda: _sidebar(user, request.path)),
        "branches": SimpleLazyObject(lambda: list(visible_branches(user))),
        "current_branch": request.branch if hasattr(request, "branch") else None,
        "can": ModuleRights(user),
    }


def _sidebar(user, path: str) -> list[dict[str, Any]]:
    sidebar: list[dict[str, Any]] = []
    for module in MODULES:
        if not module.in_sidebar or not has_module_perm(user, module.key, "view"):
            continue
        url = reverse(module.link_name)
        active = path == url if url == "/" else path.startswith(url)
        sidebar.append({"module": module, "url": url, "active": active})
    # The longest matching prefix wins (/reports/budget/ is Budget, not Reports).
    active_items = [item for item in sidebar if item["active"]]
    if len(active_items) > 1:
        keep = max(active_items, key=lambda item: len(item["url"]))
        for item in active_items:
            item["active"] = item is keep
    return sidebar


class ModuleRights:
    """``{% if can.patients.change %}`` in templates: to hide buttons, not for security."""

    def __init__(self, user):
        self.user = user

    def __getitem__(self, module: str) -> "_ModuleActions":
        return _ModuleActions(self.user, module)


class _ModuleActions:
    def __init__(self, user, module: str):
        self.user = user
        self.module = module

    def __getitem__(self, action: str) -> bool:
        return has_module_perm(self.user, self.module, action)
