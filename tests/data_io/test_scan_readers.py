"""read_scan / read_scans: every supported format, and every kind of bad input as one clear line."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scan_testing import IDENTIFIERS, layered_bscan, write_dicom

from retinavlm.cli import main
from retinavlm.data.io import read_scan, read_scans, sniff_format
from retinavlm.data.scan import ScanReadError


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR announcing a huge image, with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- good input


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("BMP", ".bmp"), ("TIFF", ".tif")])
def test_8bit_grey_round_trips_exactly(tmp_path: Path, fmt: str, suffix: str) -> None:
    array = (np.arange(64 * 80) % 256).astype(np.uint8).reshape(64, 80)
    path = tmp_path / f"scan{suffix}"
    Image.fromarray(array).save(path, format=fmt)
    scan = read_scan(path)
    assert scan.pixels.dtype == np.float32 and scan.shape == (64, 80)
    assert scan.bit_depth == 8 and scan.original_mode == "L"
    np.testing.assert_array_equal(scan.to_uint8(), array)
    assert scan.source == str(path) and scan.colour_saturation == 0.0


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_grey_keeps_full_precision(tmp_path: Path, suffix: str) -> None:
    array = np.linspace(0, 65535, 64 * 70).astype(np.uint16).reshape(64, 70)
    path = tmp_path / f"scan16{suffix}"
    if suffix == ".png":
        Image.fromarray(array).save(path)
    else:
        tifffile.imwrite(path, array)
    scan = read_scan(path)
    assert scan.bit_depth == 16
    np.testing.assert_allclose(scan.pixels, array / 65535.0, atol=1e-6)


def test_jpeg_is_read_as_grey(tmp_path: Path) -> None:
    array = (layered_bscan() * 255).astype(np.uint8)
    path = tmp_path / "scan.jpg"
    Image.fromarray(array).save(path, quality=95)
    scan = read_scan(path)
    assert scan.shape == array.shape and scan.bit_depth == 8
    assert np.abs(scan.to_uint8().astype(int) - array).mean() < 6


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_is_converted_to_grey_and_remembered(tmp_path: Path, mode: str) -> None:
    rgb = np.zeros((64, 64, len(mode)), np.uint8)
    rgb[..., 0] = 200  # strongly red
    if mode == "RGBA":
        rgb[..., 3] = 255
    path = tmp_path / "colour.png"
    Image.fromarray(rgb, mode=mode).save(path)
    scan = read_scan(path)
    assert scan.original_mode == mode and scan.pixels.ndim == 2
    assert scan.colour_saturation > 0.5
    np.testing.assert_allclose(scan.pixels, 0.299 * 200 / 255, atol=1e-4)


def test_grey_stored_as_rgb_has_no_colour(tmp_path: Path) -> None:
    grey = (layered_bscan() * 255).astype(np.uint8)
    path = tmp_path / "grey_rgb.png"
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(path)
    scan = read_scan(path)
    assert scan.original_mode == "RGB" and scan.colour_saturation == 0.0
    np.testing.assert_allclose(scan.pixels, grey / 255.0, atol=1 / 255)


def test_npy_float_and_integer(tmp_path: Path) -> None:
    pixels = layered_bscan()
    np.save(tmp_path / "float.npy", pixels)
    np.save(tmp_path / "uint16.npy", (pixels * 65535).astype(np.uint16))
    np.save(tmp_path / "single_frame.npy", pixels[None])
    np.testing.assert_array_equal(read_scan(tmp_path / "float.npy").pixels, pixels)
    assert read_scan(tmp_path / "uint16.npy").bit_depth == 16
    assert read_scan(tmp_path / "single_frame.npy").shape == pixels.shape


def test_multipage_tiff_picks_the_central_or_requested_frame(tmp_path: Path) -> None:
    volume = np.stack([np.full((64, 64), 50 * i, np.uint8) for i in range(5)])
    path = tmp_path / "volume.tif"
    tifffile.imwrite(path, volume)
    assert read_scan(path).frame == 2 and read_scan(path).to_uint8()[0, 0] == 100
    assert read_scan(path, frame=4).to_uint8()[0, 0] == 200
    with pytest.raises(ScanReadError, match="frame 9 out of range: the file has 5 frame"):
        read_scan(path, frame=9)


def test_format_is_sniffed_from_bytes_not_extension(tmp_path: Path) -> None:
    path = tmp_path / "actually_a_png.jpg"
    path.write_bytes(_png_bytes(np.zeros((70, 70), np.uint8)))
    assert sniff_format(path) == "png"
    assert read_scan(path).metadata["format"] == "PNG"


# ---------------------------------------------------------------- DICOM


def test_dicom_multiframe_frame_spacing_laterality(tmp_path: Path) -> None:
    path = tmp_path / "oct.dcm"
    frames = write_dicom(path)
    scan = read_scan(path)
    assert scan.frame == 2 and scan.n_frames == 5 and scan.bit_depth == 16
    np.testing.assert_allclose(scan.pixels, frames[2] / 65535.0, atol=1e-6)
    assert scan.pixel_spacing_mm == pytest.approx((0.0039, 0.0113))
    assert scan.laterality == "OS"
    assert scan.metadata["Modality"] == "OPT" and scan.metadata["NumberOfFrames"] == 5
    np.testing.assert_allclose(read_scan(path, frame=0).pixels, frames[0] / 65535.0, atol=1e-6)


def test_dicom_patient_identifiers_never_leave_the_reader(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "identified.dcm"
    write_dicom(path)
    assert b"MRN-998877" in path.read_bytes()  # the file really carries them
    with caplog.at_level(logging.DEBUG):
        scan = read_scan(path)
    texts = [repr(scan), str(scan.metadata), caplog.text]
    for value in IDENTIFIERS.values():
        for text in texts:
            assert value not in text
    assert set(scan.metadata) <= {
        "format", "Modality", "Manufacturer", "ManufacturerModelName", "Rows", "Columns", "NumberOfFrames",
        "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "BitsStored", "PixelRepresentation",
        "PixelSpacing", "ImageLaterality", "Laterality",
    }  # fmt: skip
    for extra in ([], ["--json"]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(["inspect", str(path), *extra])
        for value in IDENTIFIERS.values():
            assert value not in out.getvalue() + err.getvalue()
        assert str(path) in out.getvalue()  # the whole path, never folded or cut


def test_dicom_without_pixel_data(tmp_path: Path) -> None:
    path = tmp_path / "report.dcm"
    write_dicom(path, with_pixels=False)
    with pytest.raises(ScanReadError, match="report.dcm: DICOM file has no pixel data"):
        read_scan(path)


def test_dicom_huge_header_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.dcm"
    write_dicom(path, frames=1, rows=50_000, columns=50_000, with_pixels=False)
    import pydicom

    ds = pydicom.dcmread(path)
    ds.add_new(0x7FE00010, "OW", b"\x00" * 64)
    ds.save_as(path)
    with pytest.raises(ScanReadError, match=r"50000×50000 = 2,500,000,000 pixels, above the limit"):
        read_scan(path)


# ---------------------------------------------------------------- bad input


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good_png = _png_bytes((layered_bscan() * 255).astype(np.uint8))
    buffer = io.BytesIO()
    Image.fromarray((layered_bscan() * 255).astype(np.uint8)).save(buffer, format="JPEG")
    cases = {
        "empty.png": (b"", "empty file"),
        "notes.png": (b"patient notes: nothing to see here\n", "is a text file, not an image"),
        "truncated.png": (good_png[: len(good_png) // 3], "corrupt or unreadable PNG"),
        "truncated.jpg": (buffer.getvalue()[:400], "corrupt or unreadable JPEG"),
        "bomb.png": (_png_header_only(50_000, 50_000), "too large"),
        "garbage.tif": (b"II*\x00" + bytes(range(256)) * 4, "TIFF"),
        "random.bin": (bytes([0, 159, 146, 150, 1, 2, 3, 250] * 8), "unrecognised file format"),
    }
    files = {}
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        files[name] = (tmp_path / name, message)
    arrays = {
        "nan.npy": (np.full((64, 64), np.nan, np.float32), "NaN or infinite"),
        "inf.npy": (np.where(np.eye(64) > 0, np.inf, 0.5).astype(np.float64), "NaN or infinite"),
        "complex.npy": (np.zeros((64, 64), np.complex64), "complex samples"),
        "bool.npy": (np.zeros((64, 64), bool), "boolean"),
        "volume.npy": (np.zeros((3, 64, 64), np.float32), "not a single B-scan"),
        "int64.npy": (np.zeros((64, 64), np.int64), "unsupported sample type int64"),
        "out_of_range.npy": (np.full((64, 64), 7.5, np.float32), r"must lie in \[0, 1\]"),
    }
    for name, (array, message) in arrays.items():
        np.save(tmp_path / name, array)
        files[name] = (tmp_path / name, message)
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    files["objects.npy"] = (tmp_path / "objects.npy", "NPY")
    Image.fromarray(np.zeros((64, 64), bool)).save(tmp_path / "one_bit.png")
    files["one_bit.png"] = (tmp_path / "one_bit.png", "1-bit")
    return files


def test_every_bad_file_gives_one_line_naming_it(tmp_path: Path) -> None:
    for name, (path, message) in _bad_files(tmp_path).items():
        with pytest.raises(ScanReadError) as info:
            read_scan(path)
        text = str(info.value)
        assert text.startswith(str(path) + ": "), name
        assert "\n" not in text, name
        assert message.lower() in text.lower() or re.search(message, text), (name, text)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ScanReadError, match="no such file"):
        read_scan(tmp_path / "missing.png")
    with pytest.raises(ScanReadError, match="is a folder"):
        read_scan(tmp_path)


def test_max_pixels_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(_png_bytes(np.zeros((100, 100), np.uint8)))
    assert read_scan(path).shape == (100, 100)
    with pytest.raises(ScanReadError, match="above the limit of 5,000"):
        read_scan(path, max_pixels=5_000)


def test_batch_reading_goes_on_past_bad_files(tmp_path: Path) -> None:
    bad = _bad_files(tmp_path)
    good = tmp_path / "good.png"
    good.write_bytes(_png_bytes((layered_bscan() * 255).astype(np.uint8)))
    paths = [bad["empty.png"][0], good, bad["nan.npy"][0], good]
    results = list(read_scans(paths))
    assert [r.ok for r in results] == [False, True, False, True]
    assert results[0].error.startswith(str(paths[0])) and "empty file" in results[0].error
    assert results[1].scan is not None and results[1].scan.shape == (248, 256)


def test_vendor_volume_without_eyepy_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "eyepy", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "eyepy.io", None)
    path = tmp_path / "exam.e2e"
    path.write_bytes(b"CMDb" + b"\x00" * 200)
    with pytest.raises(ScanReadError, match=r"retinavlm\[vendor\]"):
        read_scan(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".png", ".jpg", ".tif", ".dcm", ".npy", ".bmp", ".vol"]))
def test_arbitrary_bytes_never_escape_as_other_errors(tmp_path: Path, data: bytes, suffix: str) -> None:
    """Whatever the bytes, the reader returns a Scan or raises ScanReadError (one line, naming the file)."""
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        scan = read_scan(path)
    except ScanReadError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        assert scan.pixels.dtype == np.float32 and scan.pixels.ndim == 2
        assert np.isfinite(scan.pixels).all() and scan.pixels.min() >= 0 and scan.pixels.max() <= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from(
        [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"\x93NUMPY", b"HSF-OCT-"]
    ),
    tail=st.binary(max_size=300),
)
def test_corrupt_files_with_valid_magic_are_refused_cleanly(tmp_path: Path, prefix: bytes, tail: bytes) -> None:
    path = tmp_path / "corrupt.img"
    path.write_bytes(prefix + tail)
    try:
        read_scan(path)
    except ScanReadError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)


def test_a_png_read_leaves_every_logger_level_alone_and_a_tiff_read_quiets_tifffile(
    tmp_path: Path, monkeypatch
) -> None:
    # Logger.setLevel clears the cache of every logger in the process; a PNG's decoder logs nothing of ours to quiet.
    png, tiff = tmp_path / "scan.png", tmp_path / "scan.tif"
    pixels = (layered_bscan() * 255).astype(np.uint8)
    png.write_bytes(_png_bytes(pixels))
    tifffile.imwrite(tiff, pixels)
    levels_set: list[tuple[str, int]] = []
    real_set_level = logging.Logger.setLevel
    monkeypatch.setattr(
        logging.Logger,
        "setLevel",
        lambda self, level: (levels_set.append((self.name, level)), real_set_level(self, level)),
    )
    read_scan(png)
    assert levels_set == []
    before = logging.getLogger("tifffile").level
    read_scan(tiff)
    assert [name for name, _ in levels_set] == ["tifffile", "tifffile"]
    assert levels_set[0][1] == logging.CRITICAL and logging.getLogger("tifffile").level == before
