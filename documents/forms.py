from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.forms import Form, ModelForm
from documents import services
from documents.models import DocumentType, Pack, PrintedStatus, Template

MAX_BODY = 1_000_000
SCAN_TYPES = {
    b"%PDF": ".pdf",
    b"\x89PNG": ".png",
    b"\xff\xd8\xff": ".jpg",
}
MAX_SCAN = 20 * 1024 * 1024


class TemplateForm(ModelForm):
    body = forms.CharField(
        label=_("text"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 20, "data-rich-text": ""}),
        help_text=_("Paste from Word or type; the buttons above insert the patient's data."),
    )
    packs = forms.MultipleChoiceField(
        label=_("print together"),
        choices=Pack.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    class Meta:
        model = Template
        fields = ["name", "document_type", "page_size", "packs"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.document_type_id if self.instance.pk else None
        # A deactivated type stays on the templates that have it.
        self.fields["document_type"].queryset = DocumentType.all_objects.filter(
            Q(deleted_at__isnull=True) | Q(pk=current)
        ).order_by("position", "name")
        if self.instance.pk and self.instance.current_version:
            self.initial.setdefault("body", self.instance.current_version.body)
            self.initial.setdefault("base_version", self.instance.current_version.number)

    def clean_body(self) -> str:
        return services.prepare_body(self.cleaned_data["body"])

    def template_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in services.TEMPLATE_FIELDS}


class TemplateFilter(Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    type = forms.ModelChoiceField(
        label=_("type"),
        queryset=DocumentType.objects.all(),
        required=False,
        empty_label=_("All types"),
    )

    def filter(self, templates):
        if not self.is_valid():
            return templates
        if query := self.cleaned_data["q"].strip():
            templates = templates.filter(name__icontains=query)
        if self.cleaned_data["type"]:
            templates = templates.filter(document_type=self.cleaned_data["type"])
        return templates


class StatusForm(Form):
    status = forms.ChoiceField(label=_("status"), choices=PrintedStatus.choices)


class ScanForm(Form):
    file = forms.FileField(
        label=_("scan of the signed document"),
        help_text=_("PDF, JPEG or PNG, up to 20 MB."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_SCAN:
            raise ValidationError(_("The file is larger than 20 MB."))
        head = upload.read(8)
        upload.seek(0)
        if not any(head.startswith(magic) for magic in SCAN_TYPES):
            raise ValidationError(_("Upload a PDF, JPEG or PNG file."))
        return upload
