import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.forms import DateInput, Form
from clinic.tz import local_day_bounds
from integrations.models import Connection, SyncDirection, SyncLogEntry, SyncResult


def _system_choices() -> list[tuple[str, str]]:
    systems = Connection.objects.order_by("system").values_list("system", flat=True).distinct()
    return [(system, system) for system in systems]


class SyncLogFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("search"), method="search")
    system = django_filters.ChoiceFilter(
        label=_("system"), choices=_system_choices, empty_label=_("All systems")
    )
    direction = django_filters.ChoiceFilter(
        label=_("direction"), choices=SyncDirection.choices, empty_label=_("Both directions")
    )
    result = django_filters.ChoiceFilter(
        label=_("result"), choices=SyncResult.choices, empty_label=_("All results")
    )
    date_from = django_filters.DateFilter(label=_("from"), method="since", widget=DateInput())
    date_to = django_filters.DateFilter(label=_("to"), method="until", widget=DateInput())

    class Meta:
        model = SyncLogEntry
        fields: list[str] = []
        form = Form

    # Day bounds in the server's zone as datetimes, so the created_at index serves them.
    def since(self, queryset, name: str, value):
        start, _end = local_day_bounds(value, timezone.get_current_timezone())
        return queryset.filter(created_at__gte=start)

    def until(self, queryset, name: str, value):
        _start, end = local_day_bounds(value, timezone.get_current_timezone())
        return queryset.filter(created_at__lt=end)

    def search(self, queryset, name: str, value: str):
        """An entity's id or a request id exactly; a piece of the action, entity or error."""
        value = value.strip()[:200]
        if not value:
            return queryset
        match = (
            Q(entity_id=value)
            | Q(request_id=value)
            | Q(action__icontains=value)
            | Q(entity_type__icontains=value)
            | Q(error__icontains=value)
        )
        return queryset.filter(match)
