"""Image files made in the test (never fixtures on disk) and stored clinical images."""

import datetime
import io
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from clinical.models import ClinicalImage, ImageFormat, ImageKind, XrayType


def png_bytes(size=(64, 48), color=(200, 200, 200), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(size=(64, 48), color=(90, 90, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def dicom_bytes(
    *, modality="PX", study_date="20250314", acquisition_date="", time="093000"
) -> bytes:
    """A small DICOM file written by pydicom: a Part 10 preamble, "DICM", the header tags and
    an 8x8 picture."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.filewriter import dcmwrite
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.PatientName = "Test^Patient"
    dataset.Modality = modality
    dataset.StudyDate = study_date
    dataset.StudyTime = time
    if acquisition_date:
        dataset.AcquisitionDate = acquisition_date
        dataset.AcquisitionTime = time
    dataset.Rows, dataset.Columns = 8, 8
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = dataset.BitsStored = 8
    dataset.HighBit = 7
    dataset.PixelRepresentation = 0
    dataset.PixelData = bytes(range(64))
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def upload(content: bytes, name="snimok.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def clinical_image(patient, branch, *, teeth="", kind=ImageKind.XRAY, taken_at=None, **extra):
    """A stored PNG X-ray (with its preview) straight in the table, for lists and files."""
    xray = kind == ImageKind.XRAY
    fields = {
        "xray_type": XrayType.INTRAORAL if xray else "",
        "exposures": 1 if xray else None,
        "dose_msv": Decimal("0.005") if xray else None,
        "original_name": "Снимок 36.png",
        **extra,
    }
    image = ClinicalImage(
        patient=patient,
        branch=branch,
        kind=kind,
        file_format=ImageFormat.PNG,
        teeth=f",{teeth}," if teeth else "",
        taken_at=taken_at or datetime.datetime(2026, 3, 2, 10, tzinfo=datetime.UTC),
        **fields,
    )
    content = png_bytes()
    image.size = len(content)
    image.file.save("image.png", ContentFile(content), save=False)
    image.preview.save("preview.jpg", ContentFile(jpeg_bytes((32, 24))), save=False)
    image.save()
    return image
