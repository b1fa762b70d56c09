"""Vendor OCT volumes (Heidelberg E2E/VOL, Topcon FDA) through eyepy, an optional extra.

Imported only when such a file is read, so the toolkit runs without eyepy / oct-converter. Only
the image and its geometry are taken from the volume: eyepy's patient block is never copied.
"""

from __future__ import annotations

import struct
from pathlib import Path

from retinavlm.data.samples import check_size, pick_frame, scan_from_samples
from retinavlm.data.scan import Scan, ScanReadError
from retinavlm.extras import MissingExtraError, require

FORMAT_NAMES = {"vol": "Heidelberg VOL", "e2e": "Heidelberg E2E", "fda": "Topcon FDA"}
_IMPORTERS = {"vol": "import_heyex_vol", "e2e": "import_heyex_e2e", "fda": "import_topcon_fda"}


def read_vendor_scan(path: Path, fmt: str, frame: int | None, max_pixels: int) -> Scan:
    """One B-scan of a vendor volume, eyepy's display intensities mapped to [0, 1]."""
    name = FORMAT_NAMES[fmt]
    if fmt == "vol":
        _check_vol_header(path, max_pixels)
    purpose = f"reading {name} files"
    try:
        eyepy_io = require("eyepy.io", purpose)
        if fmt == "fda":
            require("oct_converter", purpose)  # eyepy's FDA reader imports it only when called
    except MissingExtraError as exc:
        raise ScanReadError(path, str(exc)) from None
    volume = getattr(eyepy_io, _IMPORTERS[fmt])(path)
    data = volume.data
    if data.ndim != 3 or data.shape[0] == 0:
        raise ScanReadError(path, f"{name} volume holds no B-scans (data shape {tuple(data.shape)})")
    n_frames, height, width = data.shape
    check_size(path, height, width, max_pixels)
    chosen = pick_frame(path, frame, n_frames)
    meta = volume.meta
    laterality = str(meta.get("laterality") or "").strip().upper() or None
    return scan_from_samples(
        path,
        data[chosen],
        frame=chosen,
        n_frames=n_frames,
        pixel_spacing_mm=(float(meta["scale_y"]), float(meta["scale_x"])) if meta.get("scale_unit") == "mm" else None,
        laterality=laterality if laterality in ("OD", "OS") else None,
        metadata={
            "format": name,
            "n_frames": n_frames,
            "rows": height,
            "columns": width,
            "bscan_distance_mm": float(meta.get("scale_z") or 0.0) or None,
        },
    )


def _check_vol_header(path: Path, max_pixels: int) -> None:
    """Read the VOL header's size fields before eyepy decodes the whole volume."""
    with path.open("rb") as handle:
        header = handle.read(24)
    if len(header) < 24:
        raise ScanReadError(path, f"truncated Heidelberg VOL header ({len(header)} bytes)")
    width, n_bscans, height = struct.unpack("<3I", header[12:24])
    check_size(path, height, width, max_pixels)
    if n_bscans == 0:
        raise ScanReadError(path, "Heidelberg VOL volume holds no B-scans")
