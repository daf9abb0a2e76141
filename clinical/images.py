"""Clinical images: what an uploaded file really is, and the writes of the card's Images tab.

A file is what its content says. A JPEG starts with FF D8 FF, a PNG with its 8-byte
signature, a DICOM file has "DICM" at offset 128; the name's extension and the browser's
content type are ignored. A JPEG or PNG is then opened by Pillow, which must agree on the
format, must find no more pixels than ``ODONTA_IMAGE_MAX_PIXELS`` (a decompression bomb is
refused before it is decoded), must verify it and must decode it whole (a truncated file
fails here) to draw the preview. A DICOM file is stored as it is; pydicom reads its header
only (``stop_before_pixels``) for the date and the modality.
"""

import datetime
import io
import logging
import re
import warnings
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from clinic import audit, events, files, teeth
from clinic.bounds import SANE_DATES
from clinic.models import Branch, Employee
from clinic.services import object_soft_delete
from clinical.models import MAX_DOSE_MSV, ClinicalImage, ImageFormat, ImageKind, XrayType
from patients.models import Patient

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
DICOM_MAGIC_OFFSET = 128
PREVIEW_SIZE = (480, 480)
EXTENSIONS = {ImageFormat.JPEG: ".jpg", ImageFormat.PNG: ".png", ImageFormat.DICOM: ".dcm"}
PILLOW_FORMATS = {ImageFormat.JPEG: "JPEG", ImageFormat.PNG: "PNG"}
# The X-ray type a DICOM modality implies, when the form leaves it empty.
MODALITY_TYPES = {
    "IO": XrayType.INTRAORAL,
    "PX": XrayType.PANORAMIC,
    "CT": XrayType.CBCT,
}
DICOM_DATES = (
    ("AcquisitionDate", "AcquisitionTime"),
    ("ContentDate", "ContentTime"),
    ("StudyDate", "StudyTime"),
)


@dataclass
class Sniffed:
    format: str
    width: int | None = None
    height: int | None = None
    taken_on: datetime.date | None = None
    taken_time: datetime.time | None = None
    modality: str = ""
    preview: bytes | None = None

    @property
    def extension(self) -> str:
        return EXTENSIONS[ImageFormat(self.format)]


def _refused(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def _head(upload) -> bytes:
    upload.seek(0)
    head = upload.read(DICOM_MAGIC_OFFSET + 4)
    upload.seek(0)
    return head


def format_of(head: bytes) -> str | None:
    """The format the first bytes announce, or None."""
    if head.startswith(JPEG_SIGNATURE):
        return ImageFormat.JPEG
    if head.startswith(PNG_SIGNATURE):
        return ImageFormat.PNG
    if head[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == b"DICM":
        return ImageFormat.DICOM
    return None


def max_bytes(file_format: str) -> int:
    if file_format == ImageFormat.DICOM:
        return settings.ODONTA_DICOM_MAX_BYTES
    return settings.ODONTA_IMAGE_MAX_BYTES


def sniff(upload) -> Sniffed:
    """What ``upload`` (a Django ``UploadedFile``) really is; a ``ValidationError`` on the
    ``file`` field for anything but a whole JPEG, PNG or DICOM file within the limits."""
    file_format = format_of(_head(upload))
    if file_format is None:
        raise _refused(
            _("This file is not a JPEG, PNG or DICOM image, whatever its name says."),
            "not_an_image",
        )
    limit = max_bytes(file_format)
    if upload.size > limit:
        raise _refused(
            _("The file is too large: at most %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
            "too_large",
        )
    if file_format == ImageFormat.DICOM:
        return _sniff_dicom(upload)
    return _sniff_picture(upload, file_format)


def _sniff_picture(upload, file_format: str) -> Sniffed:
    broken = _refused(_("The image is damaged or incomplete."), "damaged")
    limit = settings.ODONTA_IMAGE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload, formats=[PILLOW_FORMATS[ImageFormat(file_format)]]) as image:
                width, height = image.size
                if width * height > limit:
                    raise _refused(
                        _("The image has too many pixels: at most %(mp)s megapixels.")
                        % {"mp": limit // 1_000_000},
                        "too_many_pixels",
                    )
                image.verify()
            upload.seek(0)
            with Image.open(upload, formats=[PILLOW_FORMATS[ImageFormat(file_format)]]) as image:
                image.load()  # decodes every byte: a truncated file fails here
                preview = _preview(image)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refused(
            _("The image has too many pixels: at most %(mp)s megapixels.")
            % {"mp": limit // 1_000_000},
            "too_many_pixels",
        ) from exc
    except Exception as exc:  # decoders fail on hostile bytes in many ways
        if not isinstance(exc, UnidentifiedImageError | OSError | SyntaxError | ValueError):
            logger.info("Image refused: %r", exc)
        raise broken from exc
    finally:
        upload.seek(0)
    return Sniffed(file_format, width=width, height=height, preview=preview)


def _preview(image: Image.Image) -> bytes:
    """A small JPEG of the picture for the grid: a 16-bit X-ray or a PNG with transparency
    becomes 8-bit RGB on white first."""
    if image.mode.startswith("I"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image = image.copy()
    image.thumbnail(PREVIEW_SIZE)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82, optimize=True)
    return buffer.getvalue()


_DICOM_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DICOM_TIME = re.compile(r"([0-9]{2})([0-9]{2})?([0-9]{2})?")


def _dicom_date(value) -> datetime.date | None:
    """A DA value (YYYYMMDD) within the sane dates, else None."""
    match = _DICOM_DATE.fullmatch(str(value or "").strip()[:8])
    if not match:
        return None
    try:
        day = datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return day if day in SANE_DATES else None


def _dicom_time(value) -> datetime.time | None:
    """A TM value (HH, HHMM or HHMMSS, maybe with a fraction), else None."""
    match = _DICOM_TIME.fullmatch(str(value or "").strip().split(".")[0])
    if not match:
        return None
    try:
        hour, minute, second = (int(part or 0) for part in match.groups())
        return datetime.time(hour, minute, second)
    except ValueError:
        return None


def _sniff_dicom(upload) -> Sniffed:
    import pydicom  # only when a DICOM file arrives: the module is slow to import
    from pydicom.errors import InvalidDicomError

    upload.seek(0)
    try:
        dataset = pydicom.dcmread(upload, stop_before_pixels=True)
        meta = getattr(dataset, "file_meta", None)
        # pydicom reads garbage after "DICM" as private tags: a real file names its syntax.
        if not meta or not meta.get("TransferSyntaxUID") or not meta.get("MediaStorageSOPClassUID"):
            raise InvalidDicomError("no file meta information")
        sniffed = Sniffed(ImageFormat.DICOM, modality=str(dataset.get("Modality", "") or "")[:16])
        for date_tag, time_tag in DICOM_DATES:
            day = _dicom_date(dataset.get(date_tag))
            if day is not None:
                sniffed.taken_on = day
                sniffed.taken_time = _dicom_time(dataset.get(time_tag))
                break
        rows, columns = dataset.get("Rows"), dataset.get("Columns")
        if isinstance(rows, int) and isinstance(columns, int):
            sniffed.width, sniffed.height = columns, rows
    except Exception as exc:  # pydicom fails on hostile bytes in many ways
        if not isinstance(exc, InvalidDicomError):
            logger.info("DICOM refused: %r", exc)
        raise _refused(_("The DICOM file cannot be read."), "damaged") from exc
    finally:
        upload.seek(0)
    return sniffed


def _taken_at(data: dict, sniffed: Sniffed, branch: Branch) -> datetime.datetime:
    if data.get("taken_at"):
        return data["taken_at"]
    if sniffed.taken_on is not None:
        moment = datetime.datetime.combine(
            sniffed.taken_on, sniffed.taken_time or datetime.time(12)
        )
        return moment.replace(tzinfo=branch.zone)
    return timezone.now()


def _check(patient: Patient, data: dict, sniffed: Sniffed) -> dict:
    """The fields of the image; a ``ValidationError`` by field for what is wrong."""
    errors: dict[str, list] = {}
    numbers = data.get("teeth") or []
    teeth_text = ""
    if numbers:
        try:
            teeth_text = "," + ",".join(map(str, teeth.validate_teeth(numbers))) + ","
        except ValidationError as error:
            errors["teeth"] = error.messages
    appointment = data.get("appointment")
    if appointment is not None and appointment.patient_id != patient.pk:
        errors["appointment"] = [_("This visit is another patient's.")]
    kind = data["kind"]
    fields: dict = {"xray_type": "", "exposures": None, "dose_msv": None}
    if kind == ImageKind.XRAY:
        xray_type = data.get("xray_type") or MODALITY_TYPES.get(sniffed.modality, "")
        dose = data.get("dose_msv")
        exposures = data.get("exposures")
        if xray_type not in XrayType.values:
            errors["xray_type"] = [_("Choose the type of the X-ray.")]
        if exposures is None or exposures < 1:
            errors["exposures"] = [_("An X-ray has at least one exposure.")]
        if dose is None:
            errors["dose_msv"] = [_("The X-ray log needs the effective dose.")]
        elif not Decimal("0") <= dose <= MAX_DOSE_MSV:
            errors["dose_msv"] = [
                _("The effective dose is between 0 and %(max)s mSv.") % {"max": MAX_DOSE_MSV}
            ]
        fields = {"xray_type": xray_type, "exposures": exposures, "dose_msv": dose}
    if errors:
        raise ValidationError(errors)
    return {**fields, "teeth": teeth_text, "appointment": appointment, "kind": kind}


def _user(by):
    return by if by is not None and by.is_authenticated else None


def payload(image: ClinicalImage) -> dict:
    return {
        "patient_id": image.patient_id,
        "id": image.pk,
        "kind": image.kind,
        "xray_type": image.xray_type,
        "teeth": image.teeth_list,
    }


AUDITED = (
    "kind",
    "file_format",
    "branch",
    "appointment",
    "teeth",
    "xray_type",
    "exposures",
    "dose_msv",
    "taken_at",
    "taken_by",
    "modality",
    "original_name",
    "size",
)


def image_add(
    *,
    patient: Patient,
    upload,
    data: dict,
    branch: Branch,
    by,
) -> ClinicalImage:
    """Store an uploaded image of ``patient``; ``data`` holds the form's fields (kind, teeth,
    appointment, xray_type, exposures, dose_msv, taken_at, taken_by, note)."""
    sniffed = sniff(upload)
    fields = _check(patient, data, sniffed)
    taken_by: Employee | None = data.get("taken_by")
    image = ClinicalImage(
        patient=patient,
        branch=branch,
        file_format=sniffed.format,
        original_name=files.safe_filename(upload.name or "")[:255],
        size=upload.size,
        width=sniffed.width,
        height=sniffed.height,
        modality=sniffed.modality,
        taken_at=_taken_at(data, sniffed, branch),
        taken_by=taken_by,
        note=(data.get("note") or "")[:500],
        created_by=_user(by),
        **fields,
    )
    if (
        image.taken_at.date() not in SANE_DATES
        or image.taken_at > timezone.now() + datetime.timedelta(days=1)
    ):
        raise ValidationError({"taken_at": [_("An image cannot be taken in the future.")]})
    stored: list = []
    try:
        # The stored name takes the extension of what the file is, not of what it was called.
        image.file.save(f"image{sniffed.extension}", upload, save=False)
        stored.append(image.file)
        if sniffed.preview:
            image.preview.save("preview.jpg", ContentFile(sniffed.preview), save=False)
            stored.append(image.preview)
        with transaction.atomic():
            image.full_clean(exclude=["file", "preview"])
            image.save()
            audit.record_created(actor=by, obj=image, patient_id=patient.pk, fields=AUDITED)
            events.publish("image.added", image, payload(image), actor=by)
    except BaseException:
        for field_file in stored:  # nothing refers to them: do not leave them behind
            field_file.storage.delete(field_file.name)
        raise
    return image


@transaction.atomic
def image_delete(*, image: ClinicalImage, by) -> None:
    """To the recycle bin. The file stays with the row (medical images are kept for years,
    and a restore brings it back); nothing serves it while the row is deleted."""
    object_soft_delete(obj=image, by=by, patient_id=image.patient_id)


def year_doses(rows: list[ClinicalImage]) -> dict[tuple[int, int], Decimal]:
    """The sum of the effective doses of each (patient, year) among ``rows``' patients and
    years, over every X-ray on record (not only those on the page). One query."""
    from django.db.models import Sum
    from django.db.models.functions import ExtractYear

    patients = {row.patient_id for row in rows}
    years = {timezone.localtime(row.taken_at).year for row in rows}
    if not rows:
        return {}
    sums = (
        ClinicalImage.objects.filter(
            kind=ImageKind.XRAY, patient_id__in=patients, taken_at__year__in=years
        )
        .annotate(year=ExtractYear("taken_at"))
        .values("patient_id", "year")
        .annotate(total=Sum("dose_msv"))
    )
    return {(row["patient_id"], row["year"]): row["total"] or Decimal("0") for row in sums}
