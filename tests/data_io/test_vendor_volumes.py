"""Heidelberg VOL through the optional `vendor` extra (eyepy); skipped when it is not installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retinavlm.data.io import read_scan
from retinavlm.data.scan import ScanReadError

pytest.importorskip("eyepy", reason="the optional 'vendor' extra (eyepy) is not installed")

PATIENT = {"patient_id": "PAT-SECRET-4711", "dob": "1950-05-06T00:00:00"}


def _write_vol(path: Path, volume: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build a VOL file with eyepy's own format description, carrying patient fields."""
    from eyepy.core.utils import to_vol_intensity
    from eyepy.io.he.vol_reader import vol_format
    from eyepy.io.utils import IntDate

    # eyepy 0.21 encodes exam_time as a float where the format wants an integer; round it.
    encode = type(IntDate)._encode
    monkeypatch.setattr(type(IntDate), "_encode", lambda self, obj, ctx, p: int(round(encode(self, obj, ctx, p))))
    n, height, width = volume.shape
    bscans = [
        dict(bscan_hdr_size=256 + 17 * 4 * width, start_x=0.0, start_y=0.1 * i, end_x=6.0, end_y=0.1 * i, num_seg=0,
             quality=20.0, shift=0, iv_transformation=[0] * 6, layer_segmentations=np.zeros((0, width), np.float32),
             data=to_vol_intensity(volume[i]))
        for i in range(n)
    ]  # fmt: skip
    header = dict(
        version="HSF-OCT-103", size_x=width, size_y=height, n_bscans=n, scale_x=0.0113, scale_y=0.0039, distance=0.12,
        size_x_slo=32, size_y_slo=32, scale_x_slo=0.2, scale_y_slo=0.2, scan_position="OD", scan_pattern=3,
        exam_time="2020-01-02T00:00:00", id="4711", reference_id="4711", pid=4711, vid=1, visit_id="V1",
        visit_date="2020-01-02T00:00:00", grid_type=0, grid_offset=0, grid_type1=0, grid_offset1=0, prog_id="test",
        localizer=np.zeros((32, 32), np.uint8), bscans=bscans, **PATIENT,
    )  # fmt: skip
    path.write_bytes(vol_format.build(header))


def test_vol_central_frame_spacing_laterality(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    volume = (rng.random((3, 64, 96)) * 200).astype(np.uint8)
    path = tmp_path / "exam.vol"
    _write_vol(path, volume, monkeypatch)
    assert b"PAT-SECRET-4711" in path.read_bytes()
    scan = read_scan(path)
    assert scan.frame == 1 and scan.n_frames == 3 and scan.shape == (64, 96)
    np.testing.assert_array_equal(scan.to_uint8(), volume[1])
    assert scan.laterality == "OD" and scan.pixel_spacing_mm == pytest.approx((0.0039, 0.0113))
    assert "PAT-SECRET-4711" not in repr(scan) and "1950" not in repr(scan)
    np.testing.assert_array_equal(read_scan(path, frame=2).to_uint8(), volume[2])
    with pytest.raises(ScanReadError, match="frame 5 out of range"):
        read_scan(path, frame=5)


def test_truncated_vol_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "exam.vol"
    _write_vol(path, np.zeros((2, 64, 64), np.uint8), monkeypatch)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ScanReadError, match=r"exam.vol: corrupt or unreadable VOL file") as info:
        read_scan(path)
    assert "\n" not in str(info.value)


def test_vol_header_too_large_is_refused_before_decoding(tmp_path: Path) -> None:
    import struct

    path = tmp_path / "bomb.vol"
    path.write_bytes(b"HSF-OCT-103\x00" + struct.pack("<3I", 60_000, 10, 60_000) + b"\x00" * 64)
    with pytest.raises(ScanReadError, match="above the limit"):
        read_scan(path)
