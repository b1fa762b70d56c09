"""Uploaded scans for the live report: size-capped, read by the toolkit's own reader, de-identified.

The bytes go to a private temporary file only because `read_scan` reads from a path (it sniffs the
format from the bytes, not the name); the file is deleted straight after. DICOM headers are reduced
to technical tags by the reader itself, so no patient identifier ever reaches the page.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from retinavlm.data.io import read_scan
from retinavlm.data.scan import Scan, ScanReadError
from retinavlm.errors import RetinaVLMError

UPLOAD_TYPES = ("png", "jpg", "jpeg", "tif", "tiff", "dcm", "dicom")
# A B-scan is at most a few thousand pixels a side; 25 MP leaves room and keeps memory bounded.
MAX_UPLOAD_PIXELS = 25_000_000


class UploadError(RetinaVLMError):
    """An upload that is refused before or while reading it; str() is one line naming the file."""


def read_upload(name: str, data: bytes, max_bytes: int) -> Scan:
    """The uploaded file as a Scan (source = its base name), or UploadError saying why not."""
    label = Path(name).name or "upload"
    suffix = Path(label).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_TYPES:
        raise UploadError(f"{label}: .{suffix or '?'} files are not accepted; upload one of {', '.join(UPLOAD_TYPES)}")
    if len(data) > max_bytes:
        raise UploadError(f"{label}: {len(data) / 1e6:.1f} MB is above the upload limit of {max_bytes / 1e6:.0f} MB")
    if not data:
        raise UploadError(f"{label}: the file is empty")
    fd, tmp = tempfile.mkstemp(suffix=f".{suffix}", prefix="retinavlm-upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        scan = read_scan(tmp, max_pixels=MAX_UPLOAD_PIXELS)
    except ScanReadError as exc:
        raise UploadError(f"{label}: {exc.problem}") from None
    finally:
        os.unlink(tmp)
    scan.source = label
    return scan
