"""Clinical images: files are what their content says, within limits; attached to real teeth
and the patient's own visits; served only through the card; the X-ray log."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calendar_app.tests.factories import AppointmentFactory
from clinic import files, trash
from clinic.models import AuditEntry, OutboxEvent
from clinic.services import object_restore
from clinic.tests.factories import ChairFactory, user_with_rights
from clinical import images
from clinical.models import ClinicalImage, ImageFormat, ImageKind, XrayType
from clinical.tests.factories import (
    clinical_image,
    dicom_bytes,
    jpeg_bytes,
    png_bytes,
    upload,
)
from patients import timeline
from patients.models import PatientEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

XRAY = {
    "kind": ImageKind.XRAY,
    "teeth": [36],
    "xray_type": XrayType.INTRAORAL,
    "exposures": 1,
    "dose_msv": Decimal("0.005"),
    "taken_at": None,
    "taken_by": None,
    "appointment": None,
    "note": "",
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(media_root) -> list[str]:
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def add(patient, branch, doctor, content: bytes, name="snimok.jpg", **data) -> ClinicalImage:
    return images.image_add(
        patient=patient,
        upload=upload(content, name),
        data={**XRAY, **data},
        branch=branch,
        by=doctor.user,
    )


def visit(patient, doctor, branch):
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(
        days=1 + AppointmentFactory._meta.model.objects.count()
    )
    return AppointmentFactory(
        patient=patient, doctor=doctor.employee, chair=ChairFactory(branch=branch), start=start
    )


# --- What a file is ----------------------------------------------------------------------


def test_a_png_named_jpg_is_stored_as_the_png_it_is_with_a_preview_audited_and_published(
    doctor, branch, media_root
):
    patient = PatientFactory()
    image = add(patient, branch, doctor, png_bytes((300, 200)), name="Иванов 36.JPG")
    assert image.file_format == ImageFormat.PNG
    assert image.file.name.startswith("clinical/images/") and image.file.name.endswith(".png")
    assert "Иванов" not in image.file.name
    assert image.original_name == "Иванов 36.JPG"
    assert (image.width, image.height, image.teeth_list) == (300, 200, [36])
    assert image.preview.name.endswith(".jpg")
    with image.preview.open("rb") as preview:
        assert preview.read(3) == b"\xff\xd8\xff"
    assert AuditEntry.objects.filter(patient_id=patient.pk, action="create").exists()
    event = OutboxEvent.objects.get(name="image.added")
    assert event.payload == {
        "patient_id": patient.pk,
        "id": image.pk,
        "kind": "xray",
        "xray_type": "intraoral",
        "teeth": [36],
    }


def test_a_jpeg_and_a_sixteen_bit_png_x_ray_get_their_previews(doctor, branch):
    from PIL import Image

    patient = PatientFactory()
    jpeg = add(patient, branch, doctor, jpeg_bytes((800, 600)), name="photo.png", kind="photo")
    assert (jpeg.file_format, jpeg.kind, jpeg.xray_type, jpeg.dose_msv) == (
        "jpeg",
        "photo",
        "",
        None,
    )
    assert jpeg.file.name.endswith(".jpg")
    sixteen = add(patient, branch, doctor, png_bytes((40, 30), 40000, mode="I;16"))
    with sixteen.preview.open("rb") as handle:
        assert Image.open(handle).mode == "L"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"<html><script>alert(1)</script></html>", "x.jpg"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), "x.jpg"),
        (b"%PDF-1.7\n" + bytes(200), "scan.png"),
        (b"", "empty.jpg"),
    ],
    ids=["html", "exe", "pdf", "empty"],
)
def test_a_file_that_is_no_image_is_refused_whatever_its_name(
    doctor, branch, media_root, content, name
):
    with pytest.raises(ValidationError, match="not a JPEG, PNG or DICOM"):
        add(PatientFactory(), branch, doctor, content, name=name)
    assert stored_files(media_root) == []
    assert not ClinicalImage.objects.exists()


@pytest.mark.parametrize(
    "content",
    [
        jpeg_bytes((400, 300))[:300],
        png_bytes((400, 300))[:60],
        b"\xff\xd8\xff" + b"not really a jpeg" * 20,
        png_bytes()[:8] + jpeg_bytes()[3:],
    ],
    ids=["truncated-jpeg", "truncated-png", "jpeg-signature-only", "png-signature-jpeg-body"],
)
def test_a_truncated_or_damaged_image_is_refused(doctor, branch, media_root, content):
    with pytest.raises(ValidationError, match="damaged or incomplete"):
        add(PatientFactory(), branch, doctor, content)
    assert stored_files(media_root) == []


def test_an_oversized_file_is_refused_by_the_setting(doctor, branch, settings, media_root):
    settings.ODONTA_IMAGE_MAX_BYTES = 1024 * 1024
    big = png_bytes((1200, 1200), (1, 2, 3))
    big = big + bytes(1024 * 1024 - len(big) + 1)  # a valid PNG padded past the limit
    with pytest.raises(ValidationError, match="too large: at most 1 MB"):
        add(PatientFactory(), branch, doctor, big)
    assert stored_files(media_root) == []


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded(doctor, branch, settings):
    settings.ODONTA_IMAGE_MAX_PIXELS = 1_000_000
    # 2000 x 2000 of one colour: a few kilobytes that would decode into 12 MB.
    bomb = png_bytes((2000, 2000), (0, 0, 0))
    assert len(bomb) < 50_000
    with pytest.raises(ValidationError, match="too many pixels"):
        add(PatientFactory(), branch, doctor, bomb)


def test_a_dicom_file_is_stored_as_it_is_with_its_date_and_modality_read(doctor, branch):
    content = dicom_bytes(modality="PX", study_date="20250101", acquisition_date="20250314")
    image = add(PatientFactory(), branch, doctor, content, name="scan.jpg", xray_type="")
    assert image.file_format == ImageFormat.DICOM
    assert image.file.name.endswith(".dcm")
    with image.file.open("rb") as handle:
        assert handle.read() == content
    assert image.modality == "PX"
    assert image.xray_type == XrayType.PANORAMIC  # implied by the modality
    local = image.taken_at.astimezone(branch.zone)
    assert (local.date(), local.time()) == (datetime.date(2025, 3, 14), datetime.time(9, 30))
    assert not image.preview
    assert (image.width, image.height) == (8, 8)


def test_a_dicom_file_without_its_header_is_refused(doctor, branch):
    with pytest.raises(ValidationError, match="DICOM file cannot be read"):
        add(PatientFactory(), branch, doctor, bytes(128) + b"DICM" + b"garbage" * 10)


def test_the_date_typed_in_the_form_wins_over_the_dicom_date(doctor, branch):
    typed = datetime.datetime(2026, 1, 5, 8, tzinfo=datetime.UTC)
    image = add(PatientFactory(), branch, doctor, dicom_bytes(), taken_at=typed)
    assert image.taken_at == typed


# --- What it is attached to ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"teeth": [19]}, "teeth", "no tooth 19"),
        ({"xray_type": ""}, "xray_type", "type of the X-ray"),
        ({"exposures": None}, "exposures", "at least one exposure"),
        ({"dose_msv": None}, "dose_msv", "needs the effective dose"),
        ({"dose_msv": Decimal("12")}, "dose_msv", "between 0 and 10"),
        ({"dose_msv": Decimal("-0.1")}, "dose_msv", "between 0 and 10"),
    ],
)
def test_bad_attachments_and_x_ray_fields_are_refused_by_field(
    doctor, branch, media_root, data, field, message
):
    with pytest.raises(ValidationError) as caught:
        add(PatientFactory(), branch, doctor, png_bytes(), **data)
    assert message in " ".join(caught.value.message_dict[field])
    assert stored_files(media_root) == []


def test_a_visit_of_another_patient_is_refused(doctor, branch):
    other = visit(PatientFactory(), doctor, branch)
    with pytest.raises(ValidationError, match="another patient's"):
        add(PatientFactory(), branch, doctor, png_bytes(), appointment=other)
    patient = PatientFactory()
    own = visit(patient, doctor, branch)
    assert add(patient, branch, doctor, png_bytes(), appointment=own).appointment == own


def test_a_photo_keeps_no_x_ray_fields(doctor, branch):
    image = add(PatientFactory(), branch, doctor, jpeg_bytes(), kind="photo")
    assert (image.xray_type, image.exposures, image.dose_msv) == ("", None, None)


# --- The tab -----------------------------------------------------------------------------


def tab_url(patient) -> str:
    return reverse("clinical:images", args=[patient.pk])


def test_the_tab_shows_previews_and_a_strip_of_the_teeth_that_have_images(doctor_client, branch):
    patient = PatientFactory()
    on_36 = clinical_image(patient, branch, teeth="36")
    on_11_36 = clinical_image(patient, branch, teeth="11,36")
    photo = clinical_image(patient, branch, kind=ImageKind.PHOTO)
    response = doctor_client.get(tab_url(patient))
    assert response.status_code == 200
    html = response.content.decode()
    for image in (on_36, on_11_36, photo):
        assert f'data-image-tile="{image.pk}"' in html
        assert files.url_for(image, "preview") in html
    assert 'data-strip-tooth="11"' in html and 'data-strip-tooth="36"' in html
    assert 'data-strip-tooth="46"' not in html
    assert html.index('data-strip-tooth="11"') < html.index('data-strip-tooth="36"')
    only_11 = doctor_client.get(tab_url(patient), {"tooth": "11"}, HTTP_HX_REQUEST="true")
    shown = only_11.content.decode()
    assert f'data-image-tile="{on_11_36.pk}"' in shown
    assert f'data-image-tile="{on_36.pk}"' not in shown
    assert f'data-image-tile="{photo.pk}"' not in shown


@pytest.mark.parametrize("tooth", ["19", "abc", "²", "99999999999999999999999"])
def test_a_tooth_filter_that_is_no_tooth_is_a_bad_request(doctor_client, tooth):
    assert doctor_client.get(tab_url(PatientFactory()), {"tooth": tooth}).status_code == 400


def test_the_tab_reads_a_page_in_the_same_queries_however_many_images(doctor_client, branch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    patient = PatientFactory()
    clinical_image(patient, branch, teeth="36")
    doctor_client.get(tab_url(patient))  # the first request of a session fills caches
    with CaptureQueriesContext(connection) as one:
        doctor_client.get(tab_url(patient))
    for number in (11, 12, 21, 22, 31, 32, 41, 46):
        clinical_image(patient, branch, teeth=str(number))
    with CaptureQueriesContext(connection) as many:
        doctor_client.get(tab_url(patient))
    assert len(many) == len(one)


def post_upload(client, patient, content: bytes, name="x.jpg", **extra):
    return client.post(
        reverse("clinical:image-upload", args=[patient.pk]),
        {
            "file": upload(content, name),
            "kind": "xray",
            "teeth": "36, 46",
            "xray_type": "bitewing",
            "exposures": "2",
            "dose_msv": "0.010",
            "branch": extra.pop("branch_pk", ""),
            **extra,
        },
        HTTP_HX_REQUEST="true",
    )


def test_uploading_on_the_tab_shows_the_new_preview(doctor_client, doctor, branch):
    patient = PatientFactory()
    response = post_upload(doctor_client, patient, png_bytes(), branch_pk=branch.pk)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert response["HX-Trigger"] == "imagesChanged"
    image = ClinicalImage.objects.get(patient=patient)
    assert (image.xray_type, image.exposures, image.dose_msv, image.teeth_list) == (
        "bitewing",
        2,
        Decimal("0.010"),
        [36, 46],
    )
    assert image.created_by == doctor.user and image.branch == branch
    assert f'data-image-tile="{image.pk}"' in response.content.decode()


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"<html></html>", {}, "not a JPEG, PNG or DICOM"),
        (png_bytes(), {"teeth": "36, abc"}, "no tooth abc"),
        (png_bytes(), {"teeth": "19"}, "no tooth 19"),
        (png_bytes(), {"dose_msv": "-1"}, "greater than or equal to 0"),
        (png_bytes(), {"dose_msv": ""}, "needs the effective dose"),
    ],
)
def test_refused_uploads_show_their_errors_in_the_form(
    doctor_client, branch, media_root, content, extra, message
):
    patient = PatientFactory()
    response = post_upload(doctor_client, patient, content, branch_pk=branch.pk, **extra)
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html and "data-image-form" in html
    assert not ClinicalImage.objects.exists() and stored_files(media_root) == []


def test_a_visit_of_another_patient_or_branch_is_refused_by_the_form(
    doctor_client, doctor, doctor_elsewhere, branch, branch_elsewhere
):
    patient = PatientFactory()
    for other in (
        visit(PatientFactory(), doctor, branch),
        visit(patient, doctor_elsewhere, branch_elsewhere),
    ):
        response = post_upload(
            doctor_client, patient, png_bytes(), branch_pk=branch.pk, appointment=other.pk
        )
        assert response.status_code == 422
        assert "not one of the patient" in response.content.decode()
    response = post_upload(doctor_client, patient, png_bytes(), branch_pk=branch_elsewhere.pk)
    assert response.status_code == 422
    assert not ClinicalImage.objects.exists()


def test_the_tab_and_upload_need_their_rights(client, branch):
    patient = PatientFactory()
    card_only = Client()
    card_only.force_login(user_with_rights("patients_view", branch=branch))
    assert card_only.get(tab_url(patient)).status_code == 403
    viewer = Client()
    viewer.force_login(user_with_rights("patients_view", "clinical_view", branch=branch))
    response = viewer.get(tab_url(patient))
    assert response.status_code == 200 and "data-image-form" not in response.content.decode()
    assert post_upload(viewer, patient, png_bytes(), branch_pk=branch.pk).status_code == 403
    assert viewer.post(tab_url(patient)).status_code == 405
    assert viewer.get(reverse("clinical:image-upload", args=[patient.pk])).status_code == 405


def test_the_viewer_shows_the_picture_with_zoom_or_a_dicom_tile(doctor_client, doctor, branch):
    patient = PatientFactory()
    picture = clinical_image(patient, branch, teeth="36")
    html = doctor_client.get(reverse("clinical:image-detail", args=[picture.pk])).content.decode()
    assert files.url_for(picture, "file") in html and "data-zoom-image" in html
    dicom = add(patient, branch, doctor, dicom_bytes(modality="CT"), xray_type="")
    html = doctor_client.get(reverse("clinical:image-detail", args=[dicom.pk])).content.decode()
    assert "data-zoom-image" not in html and "data-dicom-details" in html
    assert ">CT<" in html and files.url_for(dicom, "file") in html
    assert dicom.xray_type == XrayType.CBCT


def test_removing_an_image_sends_it_to_the_recycle_bin_and_the_timeline(
    doctor_client, doctor, branch, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        image = add(patient, branch, doctor, png_bytes(), teeth=[36, 46])
        response = doctor_client.post(reverse("clinical:image-remove", args=[image.pk]))
    assert response.status_code == 200
    assert "closeDialog" in response["HX-Trigger"]
    assert f'data-image-tile="{image.pk}"' not in response.content.decode()
    image.refresh_from_db()
    assert image.deleted_at is not None and image.file  # kept with the row
    assert doctor_client.get(files.url_for(image, "file")).status_code == 404
    assert image in trash.get_section("clinical-images").deleted_for(doctor.user)
    events = {e.name: e for e in PatientEvent.objects.filter(patient=patient)}
    assert timeline.render(events["image.added"])[1] == "Image added: X-ray (Intraoral): 36, 46"
    assert timeline.render(events["image.deleted"])[1] == "Image moved to the recycle bin"
    object_restore(obj=image, by=doctor.user)
    assert doctor_client.get(files.url_for(image, "file")).status_code == 200


# --- The files ---------------------------------------------------------------------------


def test_the_file_is_served_inline_to_the_card_and_refused_without_the_right(
    doctor_client, doctor_elsewhere, branch, media_root
):
    patient = PatientFactory()
    image = clinical_image(patient, branch, teeth="36")
    response = doctor_client.get(files.url_for(image, "file"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEntry.objects.latest("id").patient_id == patient.pk
    audited = AuditEntry.objects.count()
    assert doctor_client.get(files.url_for(image, "preview")).status_code == 200
    assert AuditEntry.objects.count() == audited  # a preview of the grid is not an entry
    # Cards are shared by the network, and so are their images (like their documents).
    elsewhere = Client()
    elsewhere.force_login(doctor_elsewhere.user)
    assert elsewhere.get(files.url_for(image, "file")).status_code == 200
    for rights in (("patients_view",), ("clinical_view",)):
        without = Client()
        without.force_login(user_with_rights(*rights, branch=branch))
        assert without.get(files.url_for(image, "file")).status_code in (403, 404)
    patient.deleted_at = timezone.now()
    patient.save(update_fields=["deleted_at"])
    assert doctor_client.get(files.url_for(image, "file")).status_code == 404
    assert doctor_client.get(f"/media/{image.file.name}").status_code == 404


def test_a_dicom_file_downloads_as_an_attachment(doctor_client, doctor, branch):
    image = add(PatientFactory(), branch, doctor, dicom_bytes(), name="ct.dcm")
    response = doctor_client.get(files.url_for(image, "file"))
    assert response["Content-Disposition"].startswith("attachment;")
    assert "ct.dcm" in response["Content-Disposition"]


# --- The X-ray log -----------------------------------------------------------------------


def at(year, month, day) -> datetime.datetime:
    return datetime.datetime(year, month, day, 10, tzinfo=datetime.UTC)


def test_the_x_ray_log_lists_x_rays_of_the_users_branches_with_the_patients_year_sum(
    doctor_client, doctor, branch, branch_elsewhere
):
    patient = PatientFactory(last_name="Лучевая")
    first = clinical_image(patient, branch, taken_at=at(2026, 1, 10), taken_by=doctor.employee)
    clinical_image(patient, branch, taken_at=at(2026, 2, 10), dose_msv=Decimal("0.020"))
    clinical_image(patient, branch, taken_at=at(2025, 12, 10), dose_msv=Decimal("0.100"))
    clinical_image(patient, branch, kind=ImageKind.PHOTO, taken_at=at(2026, 1, 11))
    elsewhere = clinical_image(
        PatientFactory(last_name="Чужая"), branch_elsewhere, taken_at=at(2026, 1, 12)
    )
    response = doctor_client.get(reverse("clinical:xray-log"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("data-xray-entry=") == 3  # the photo and the other branch's are not
    assert f'data-xray-entry="{elsewhere.pk}"' not in html and "Чужая" not in html
    lines = dict((image.pk, year_sum) for image, year_sum in response.context["lines"])
    assert lines[first.pk] == Decimal("0.025")  # 0.005 + 0.020 in 2026
    assert sorted(lines.values()) == [Decimal("0.025"), Decimal("0.025"), Decimal("0.100")]
    assert str(doctor.employee) in html
    january = doctor_client.get(
        reverse("clinical:xray-log"), {"since": "2026-01-01", "until": "2026-01-31"}
    )
    assert [image.pk for image, _sum in january.context["lines"]] == [first.pk]
    other = doctor_client.get(reverse("clinical:xray-log"), {"patient": PatientFactory().pk})
    assert other.context["lines"] == []
    assert (
        doctor_client.get(reverse("clinical:xray-log"), {"branch": branch_elsewhere.pk}).status_code
        == 400
    )
    assert (
        doctor_client.get(reverse("clinical:xray-log"), {"since": "0002-01-01"}).status_code == 400
    )


def test_the_x_ray_log_exports_with_the_year_sums(doctor_client, branch):
    patient = PatientFactory(last_name="Экспортова")
    clinical_image(patient, branch, taken_at=at(2026, 1, 10))
    clinical_image(patient, branch, taken_at=at(2026, 3, 10), dose_msv=Decimal("0.015"))
    response = doctor_client.get(reverse("clinical:xray-log"), {"export": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Taken;Taken by;Patient;")
    assert len(lines) == 3 and all("Экспортова" in line and ";0.020;" in line for line in lines[1:])


def test_the_x_ray_log_reads_a_page_in_the_same_queries_however_many_x_rays(doctor_client, branch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clinical_image(PatientFactory(), branch)
    doctor_client.get(reverse("clinical:xray-log"))  # the first request of a session fills caches
    with CaptureQueriesContext(connection) as one:
        doctor_client.get(reverse("clinical:xray-log"))
    for day in range(1, 9):
        clinical_image(PatientFactory(), branch, taken_at=at(2026, 2, day))
    with CaptureQueriesContext(connection) as many:
        doctor_client.get(reverse("clinical:xray-log"))
    assert len(many) == len(one)


def test_the_x_ray_log_needs_the_clinical_right(branch):
    accountant = Client()  # the Reports right alone does not open patients' doses
    accountant.force_login(user_with_rights("patients_view", "reports_view", branch=branch))
    assert accountant.get(reverse("clinical:xray-log")).status_code == 403
    assert accountant.post(reverse("clinical:xray-log")).status_code in (403, 405)


def test_the_demo_adds_small_generated_x_rays_to_three_patients(doctor, branch, media_root):
    from clinical.demo import seed_images

    patients = [PatientFactory() for _ in range(4)]
    said = []
    seed_images(said.append)
    made = ClinicalImage.objects.all()
    assert made.count() == 6 and said == ["clinical images: 6"]
    assert {image.patient_id for image in made} == {p.pk for p in patients[:3]}
    assert all(image.preview and image.size < 20_000 for image in made)
    assert {image.taken_by for image in made} == {doctor.employee}


def test_the_grid_pages_within_the_tab_keeping_the_tooth(doctor_client, branch, monkeypatch):
    from clinical import image_views

    monkeypatch.setattr(image_views, "PER_PAGE", 2)
    patient = PatientFactory()
    for day in range(1, 6):
        clinical_image(patient, branch, teeth="36", taken_at=at(2026, 1, day))
    clinical_image(patient, branch, teeth="11")
    first = doctor_client.get(tab_url(patient), {"tooth": "36"}).content.decode()
    assert first.count("data-image-tile=") == 2
    assert f'hx-get="{tab_url(patient)}?tooth=36&page=2"' in first
    last = doctor_client.get(tab_url(patient), {"tooth": "36", "page": "3"}).content.decode()
    assert last.count("data-image-tile=") == 1 and 'rel="next"' not in last
