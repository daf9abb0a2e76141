from collections.abc import Callable
from html import escape as html_escape
from typing import TYPE_CHECKING

import django_filters
from django import forms
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import TemplatesSetting
from django.forms.utils import flatatt
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext_lazy as _

from clinic.bounds import SANE_DATES, DateWindowValidator, parse_id, parse_id_list
from clinic.models import (
    AuditAction,
    AuditEntry,
    Branch,
    Chair,
    Employee,
    Organization,
    OutboxEvent,
    Profession,
    ProfessionKind,
    RightsGroup,
    User,
)
from clinic.models.organization import time_zone_choices
from clinic.modules import ACTION_LABELS, MODULES, permission_codename
from clinic.phones import normalize_phone
from clinic.shapes import Shape, read_together


class ClinicFormRenderer(TemplatesSetting):
    form_template_name = "components/form.html"
    field_template_name = "components/field.html"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


if TYPE_CHECKING:
    _FormBase = forms.BaseForm
else:
    _FormBase = object


class ListedChoiceIterator(ModelChoiceIterator):
    """A select's objects read in one query. Django reads them with ``.iterator()``, which
    on PostgreSQL is a server-side cursor (DECLARE, FETCH, CLOSE: three round trips per
    select) meant for streaming big results; a select lists a few hundred rows at most."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ShapedChoiceIterator(ListedChoiceIterator):
    """A shaped field's choices, whose queryset is made when they are first listed (Django's
    iterator takes the field's queryset when it is made, before the form binds it)."""

    def __init__(self, field):
        self.field = field

    @property
    def queryset(self):  # type: ignore[override]
        return self.field.queryset


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Several objects chosen by id: a value that is no id (``clinic.bounds.parse_id``) is
    refused before the query, whose ``IN`` overflows on SQLite for a number past BIGINT."""

    def clean(self, value):
        values = self.prepare_value(value)
        if self.to_field_name is None and isinstance(values, list | tuple):
            for pk in values:
                if pk not in (None, "") and parse_id(pk) is None:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": pk},
                    )
        return super().clean(value)


class ReadAheadIdsChoiceField(IdsChoiceField):
    """Several objects chosen by id, read with the form's shaped choices in one round trip
    (``read_shaped_choices``); clean gives them as a list, in the queryset's order."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.read: tuple[list, list] | None = None  # (the ids, what was found), read ahead

    def ahead(self, value) -> tuple[list, QuerySet] | None:
        """The chosen ids and the query that reads their objects; None when there is
        nothing to read or a value is no id (clean refuses it)."""
        ids = [parse_id(pk) for pk in (value or [])]
        if not ids or None in ids or self.queryset is None:
            return None
        return ids, self.queryset.filter(pk__in=ids)

    def _check_values(self, value) -> list:
        assert self.queryset is not None
        ids = [parse_id(pk) for pk in value]
        if self.read is not None and self.read[0] == ids:
            found = self.read[1]
        else:
            found = list(self.queryset.filter(pk__in=ids))
        known = {obj.pk for obj in found}
        for pk, raw in zip(ids, value, strict=True):
            if pk not in known:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": raw},
                )
        return found


class ShapedChoiceField(forms.ModelChoiceField):
    """One object chosen by id, looked up through a compiled query (``clinic.shapes``)
    rather than the queryset: for the choices that every booking validates. The shape takes
    the id as ``pk`` and whatever ``bind`` gives it (the branch, say); it must find exactly
    what the queryset offers. A form reads all its shaped choices in one round trip before
    validating (``StyledMixin.full_clean``)."""

    iterator = ShapedChoiceIterator  # type: ignore[assignment]

    def __init__(self, *, shape: Shape, **kwargs):
        self._make_queryset: Callable[[], QuerySet] | None = None
        super().__init__(**kwargs)
        self.shape = shape
        self.shape_values: dict = {}
        self.read: tuple[object, object] | None = None  # (value, what it found), read ahead

    def bind(self, queryset: Callable[[], QuerySet], **values) -> None:
        """``queryset``: made when the choices are first listed (a form rendered), not for
        a form that is only validated, which needs the shape alone."""
        self._make_queryset = queryset
        self.shape_values = values

    def _get_queryset(self):
        if self._make_queryset is not None:
            make, self._make_queryset = self._make_queryset, None
            self._set_queryset(make())
        return self._queryset

    queryset = property(_get_queryset, forms.ModelChoiceField._set_queryset)  # type: ignore[attr-defined]

    def lookup(self, value) -> tuple[Shape, dict] | None:
        """The shape and the values that find ``value``'s object; None for no id."""
        pk = None if value in self.empty_values else parse_id(value)
        return None if pk is None else (self.shape, {"pk": pk, **self.shape_values})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if self.read is not None and self.read[0] == value:
            found = self.read[1]
        else:
            lookup = self.lookup(value)
            found = lookup[0].first(**lookup[1]) if lookup else None
        if found is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return found


def read_shaped_choices(form: forms.BaseForm) -> None:
    """The objects chosen in a bound form's ``ShapedChoiceField``s and
    ``ReadAheadIdsChoiceField``s, read together."""
    pending, ahead = [], []
    for name, field in form.fields.items():
        if field.disabled or not isinstance(field, ShapedChoiceField | ReadAheadIdsChoiceField):
            continue
        value = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
        if isinstance(field, ShapedChoiceField):
            lookup = field.lookup(value)
            if lookup is not None:
                pending.append((field, value, lookup))
        elif isinstance(field, ReadAheadIdsChoiceField):
            read = field.ahead(value)
            if read is not None:
                ahead.append((field, *read))
    if len(pending) + len(ahead) < 2:
        return
    firsts, listed = read_together(
        [lookup for _f, _v, lookup in pending], [queryset for _f, _v, queryset in ahead]
    )
    for (field, value, _lookup), found in zip(pending, firsts, strict=True):
        field.read = (value, found)
    for (field, ids, _queryset), objects in zip(ahead, listed, strict=True):
        field.read = (ids, objects)


_listed: dict[str, type[ModelChoiceIterator]] = {}


def listed(iterator: type[ModelChoiceIterator]) -> type[ModelChoiceIterator]:
    """``iterator`` reading its objects as ``ListedChoiceIterator`` does (django-filter's
    iterator adds a "null" choice on top of Django's)."""
    if issubclass(iterator, ListedChoiceIterator):
        return iterator
    if iterator is ModelChoiceIterator:
        return ListedChoiceIterator
    key = f"{iterator.__module__}.{iterator.__qualname__}"
    if key not in _listed:
        _listed[key] = type(f"Listed{iterator.__name__}", (iterator, ListedChoiceIterator), {})
    return _listed[key]


def bound_input(field: forms.Field) -> None:
    """The project's bounds on a form field: a date within ``clinic.bounds.SANE_DATES``
    (unless the field has a window of its own, a ``DateWindowValidator``), since year 1 or
    9999 overflows the moment it meets a time zone; ids that fit the column."""
    if isinstance(field, forms.DateField | forms.DateTimeField) and not any(
        isinstance(validator, DateWindowValidator) for validator in field.validators
    ):
        field.validators = [*field.validators, DateWindowValidator(SANE_DATES)]
    if isinstance(field, forms.ModelChoiceField):
        field.iterator = listed(field.iterator)
        field.widget.choices = field.choices  # the widget holds the iterator it was given
    if type(field) is forms.ModelMultipleChoiceField:
        field.__class__ = IdsChoiceField  # same field, one check more (as QuickSelect below)


class StyledMixin(_FormBase):
    """Bootstrap classes on every widget, so templates can render ``{{ form }}`` as is; the
    project's bounds on every field (``bound_input``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_fields()

    def full_clean(self) -> None:
        if self.is_bound:
            read_shaped_choices(self)  # type: ignore[arg-type]
        super().full_clean()  # type: ignore[misc]

    def style_fields(self) -> None:
        for field in self.fields.values():
            bound_input(field)
            widget = field.widget
            choices = forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect
            if isinstance(widget, choices):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
                if type(widget) is forms.Select:
                    widget.__class__ = QuickSelect  # same markup, rendered without templates
            else:
                css = "form-control"
            if css:
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_errors_from(self, error: ValidationError) -> None:
        """Attach a service's ValidationError to the form (field errors where they belong)."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error)


class Form(StyledMixin, forms.Form):
    pass


class ModelForm(StyledMixin, forms.ModelForm):
    pass


class PreferencesForm(Form):
    """Every declared module setting, with its stored value as the initial one."""

    def __init__(self, *args, **kwargs):
        from clinic import preferences

        super().__init__(*args, **kwargs)
        for preference in preferences.declared():
            self.fields[preference.key] = preference.form_field()
            self.initial[preference.key] = preferences.get(preference.key)
        self.style_fields()


def clean_phone_value(value: str) -> str:
    return normalize_phone(value) if value else ""


# --- Settings --------------------------------------------------------------------------


class OrganizationForm(ModelForm):
    time_zone = forms.ChoiceField(label=_("time zone"), choices=time_zone_choices)

    class Meta:
        model = Organization
        fields = [
            "name",
            "legal_name",
            "inn",
            "kpp",
            "ogrn",
            "medical_license",
            "license_issued_on",
            "license_issued_by",
            "legal_address",
            "phone",
            "email",
            "website",
            "director",
            "bank_name",
            "bank_bik",
            "bank_account",
            "bank_corr_account",
            "logo",
            "show_logo_in_sidebar",
            "currency",
            "time_zone",
        ]
        widgets = {"license_issued_on": DateInput()}

    def clean_phone(self) -> str:
        return clean_phone_value(self.cleaned_data["phone"])

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size") and logo.size > 2 * 1024 * 1024:
            raise ValidationError(_("The logo must be under 2 MB."))
        return logo


class BranchForm(ModelForm):
    time_zone = forms.ChoiceField(label=_("time zone"), choices=time_zone_choices)

    class Meta:
        model = Branch
        fields = ["name", "address", "phone", "time_zone", "opens_at", "closes_at"]
        widgets = {"opens_at": TimeInput(), "closes_at": TimeInput()}

    def clean_phone(self) -> str:
        return clean_phone_value(self.cleaned_data["phone"])

    def clean(self):
        cleaned = super().clean()
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("The branch must close after it opens."))
        return cleaned


class ChairForm(ModelForm):
    class Meta:
        model = Chair
        fields = ["name"]


class ChairOrderForm(forms.Form):
    chair_ids = forms.CharField()

    def clean_chair_ids(self) -> list[int]:
        try:
            return parse_id_list(self.cleaned_data["chair_ids"])
        except ValueError as exc:
            raise ValidationError(_("Bad chair order.")) from exc


# --- Staff -----------------------------------------------------------------------------


class EmployeeForm(ModelForm):
    # A typed phone carries spaces and brackets: longer than the 16 characters of E.164.
    phone = forms.CharField(label=_("phone"), max_length=32, required=False)

    class Meta:
        model = Employee
        fields = [
            "kind",
            "last_name",
            "first_name",
            "middle_name",
            "professions",
            "branches",
            "phone",
            "email",
            "birth_date",
            "hired_on",
            "color",
            "notes",
        ]
        widgets = {
            "birth_date": DateInput(),
            "hired_on": DateInput(),
            "color": forms.TextInput(attrs={"type": "color"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
            "professions": forms.SelectMultiple(attrs={"data-tom-select": ""}),
            "branches": forms.CheckboxSelectMultiple(),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["professions"].queryset = Profession.objects.order_by("kind", "name")
        # Only the editor's branches are offered; the employee's other branches (the
        # editor does not see them) are kept as they are, neither shown nor lost.
        visible = Branch.objects.for_user(user)
        self.fields["branches"].queryset = visible
        self.hidden_branches = (
            list(self.instance.branches.exclude(pk__in=visible)) if self.instance.pk else []
        )
        self.fields["color"].widget.attrs["class"] = "form-control form-control-color"

    def clean_phone(self) -> str:
        return clean_phone_value(self.cleaned_data["phone"])

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        professions = cleaned.get("professions") or []
        wrong = [p.name for p in professions if kind and p.kind != kind]
        if wrong:
            message = (
                _("Choose doctor professions for a doctor: %(names)s are staff professions.")
                if kind == ProfessionKind.DOCTOR
                else _(
                    "Choose staff professions for a staff member: %(names)s are doctor professions."
                )
            )
            self.add_error("professions", message % {"names": ", ".join(wrong)})
        if "branches" in cleaned:
            cleaned["branches"] = [*cleaned["branches"], *self.hidden_branches]
            if not cleaned["branches"]:
                self.add_error("branches", _("Choose at least one branch."))
        return cleaned


class LoginAccountForm(Form):
    username = forms.RegexField(
        label=_("login"),
        regex=r"^[\w.@+-]+$",
        max_length=150,
        error_messages={"invalid": _("Use letters, digits and . @ + - _ only.")},
    )
    password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."),
    )
    rights_groups = forms.ModelMultipleChoiceField(
        label=_("rights groups"),
        queryset=RightsGroup.objects.select_related("group"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user is None:
            self.fields["password"].required = True
            self.fields["password"].help_text = ""

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if password:
            validate_password(password, self.user)
        return password


class ModuleRightsField(forms.MultipleChoiceField):
    """Rights as ``<module>_<action>`` codenames, rendered as a module-by-action matrix."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        choices = [
            (permission_codename(module.key, action), f"{module.label}: {ACTION_LABELS[action]}")
            for module in MODULES
            for action in module.actions
        ]
        super().__init__(choices=choices, required=False, **kwargs)


def rights_matrix(selected: set[str], field_name: str = "rights") -> list[dict]:
    """Rows of the rights matrix for the template: one per module, a cell per action."""
    actions = list(ACTION_LABELS)
    return [
        {
            "module": module,
            "cells": [
                {
                    "action": action,
                    "label": ACTION_LABELS[action],
                    "codename": permission_codename(module.key, action),
                    "available": action in module.actions,
                    "checked": permission_codename(module.key, action) in selected,
                }
                for action in actions
            ],
        }
        for module in MODULES
    ]


class RightsForm(Form):
    rights = ModuleRightsField(label=_("rights"))


class RightsGroupForm(Form):
    name = forms.CharField(label=_("name"), max_length=150)
    description = forms.CharField(label=_("description"), max_length=300, required=False)
    rights = ModuleRightsField(label=_("rights"))


class EmployeeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    kind = django_filters.ChoiceFilter(
        label=_("type"), choices=ProfessionKind.choices, empty_label=_("All types")
    )
    profession = django_filters.ModelChoiceFilter(
        label=_("profession"),
        field_name="professions",
        queryset=Profession.objects.all(),
        empty_label=_("All professions"),
    )
    branch = django_filters.ModelChoiceFilter(
        label=_("branch"),
        field_name="branches",
        queryset=lambda request: Branch.objects.for_user(request.user),
        empty_label=_("All branches"),
    )
    has_login = django_filters.BooleanFilter(
        label=_("login account"),
        field_name="user",
        lookup_expr="isnull",
        exclude=True,
        widget=forms.Select(
            choices=[
                ("", _("With or without login")),
                ("true", _("With login")),
                ("false", _("Without login")),
            ]
        ),
    )
    ordering = django_filters.OrderingFilter(
        fields=(("last_name", "name"), ("kind", "kind"), ("created_at", "created")),
        field_labels={"last_name": _("full name"), "kind": _("type"), "created_at": _("added")},
        label=_("sort"),
    )

    class Meta:
        model = Employee
        fields: list[str] = []
        form = Form

    def search(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(
                Q(last_name__icontains=word)
                | Q(first_name__icontains=word)
                | Q(middle_name__icontains=word)
                | Q(phone__contains=word)
                | Q(user__username__icontains=word)
            )
        return queryset


# --- Audit -----------------------------------------------------------------------------


class AuditFilter(django_filters.FilterSet):
    actor = django_filters.ModelChoiceFilter(
        label=_("user"), queryset=User.objects.order_by("username"), empty_label=_("All users")
    )
    action = django_filters.ChoiceFilter(
        label=_("action"), choices=AuditAction.choices, empty_label=_("All actions")
    )
    content_type = django_filters.ModelChoiceFilter(
        label=_("object type"),
        empty_label=_("All types"),
        queryset=ContentType.objects.filter(
            app_label__in=["clinic", "patients", "pricelist", "calendar_app", "clinical", "billing"]
        ).order_by("app_label", "model"),
    )
    patient_id = django_filters.NumberFilter(label=_("patient (system id)"))
    date_from = django_filters.DateFilter(
        label=_("from"), field_name="created_at", lookup_expr="date__gte", widget=DateInput()
    )
    date_to = django_filters.DateFilter(
        label=_("to"), field_name="created_at", lookup_expr="date__lte", widget=DateInput()
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []
        form = Form


class FailedEventFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("search"), method="search")
    date_from = django_filters.DateFilter(
        label=_("failed from"), field_name="failed_at", lookup_expr="date__gte", widget=DateInput()
    )
    date_to = django_filters.DateFilter(
        label=_("to"), field_name="failed_at", lookup_expr="date__lte", widget=DateInput()
    )

    class Meta:
        model = OutboxEvent
        fields: list[str] = []
        form = Form

    def search(self, queryset, name: str, value: str):
        """The event's name or number, its object, or a piece of the error."""
        value = value.strip()
        if not value:
            return queryset
        match = (
            Q(name__icontains=value)
            | Q(aggregate_type__icontains=value)
            | Q(last_error__icontains=value)
        )
        if value.isdigit():
            match |= Q(aggregate_id=value) | Q(pk=int(value))
        return queryset.filter(match)


class QuickSelect(forms.Select):
    """A ``<select>`` written in Python, option by option from its choices. Django renders
    every option through a template, and even its own option dictionaries and
    ``format_html`` cost some 30 µs an option: a filter form listing a network's hundreds
    of doctors and staff spent most of the list page's time there. Same markup as
    ``forms.Select``: one selected option, optgroups for grouped choices."""

    def render(self, name, value, attrs=None, renderer=None):
        return mark_safe(  # noqa: S308 - every part is escaped
            f'<select name="{_text(name)}"{flatatt(self.build_attrs(self.attrs, attrs))}>'
            f"{self.options_html(value)}</select>"
        )

    def options_html(self, value) -> str:
        wanted = set(self.format_value(value))
        html = []
        for option_value, label in self.choices:
            if isinstance(label, list | tuple):
                html.append(f'<optgroup label="{_text(option_value)}">')
                html.extend(self._option(value, text, wanted) for value, text in label)
                html.append("</optgroup>")
            else:
                html.append(self._option(option_value, label, wanted))
        return "".join(html)

    @staticmethod
    def _option(value, label, wanted: set[str]) -> str:
        text = "" if value is None else str(value)
        selected = text in wanted
        if selected:
            wanted.clear()  # a single select marks its first match only
        return (
            f'<option value="{_text(text)}"{" selected" if selected else ""}>'
            f"{_text(label)}</option>"
        )


def _text(value) -> str:
    """``conditional_escape`` without its lazy-string wrapper (a hot loop above)."""
    if isinstance(value, SafeData):
        return str(value)
    return html_escape(str(value), quote=True)
