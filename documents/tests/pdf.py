"""Reading the text and pages of a PDF in tests."""

import io
import shutil
import subprocess

from pypdf import PdfReader


def pdf_text(content: bytes) -> str:
    """The PDF's text with its whitespace folded (justified lines space words apart):
    poppler's pdftotext where it is installed (``make test`` installs it), else pypdf."""
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
        ).stdout.decode()
    else:
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def pdf_pages(content: bytes) -> list:
    return list(PdfReader(io.BytesIO(content)).pages)
