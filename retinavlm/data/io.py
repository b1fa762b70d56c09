"""Read one OCT B-scan from any supported file into a `Scan`, refusing bad input with one clear line.

The format is sniffed from the file's first bytes, so a renamed file is read as what it is (or
refused as what it is). Image dimensions are checked from the header before any pixel is decoded,
so a decompression bomb costs nothing. Patient identifiers never leave the reader: DICOM headers
are copied through an allow-list of technical tags only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retinavlm.data.samples import check_size, pick_frame, scan_from_samples
from retinavlm.data.scan import Scan, ScanReadError

# 100 megapixels per frame: far above any OCT B-scan, far below what would exhaust memory.
DEFAULT_MAX_PIXELS = 100_000_000

# (magic bytes, offset, format)
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"II+\x00", 0, "tiff"),
    (b"MM\x00+", 0, "tiff"),
    (b"BM", 0, "bmp"),
    (b"\x93NUMPY", 0, "npy"),
    (b"DICM", 128, "dicom"),
    (b"HSF-OCT-", 0, "vol"),
    (b"CMDb", 0, "e2e"),
    (b"FOCT", 0, "fda"),
)
# Vendor exports are not always written with their canonical magic (e.g. eyepy's VOL writer),
# so for these formats the extension is accepted when the bytes say nothing.
VENDOR_EXTENSIONS = {".vol": "vol", ".e2e": "e2e", ".fda": "fda"}
SCAN_EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".dicom", ".npy", *VENDOR_EXTENSIONS}


# DICOM tags copied into Scan.metadata; everything else (names, ids, dates, UIDs) is dropped.
DICOM_TECHNICAL_TAGS = (
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "PixelSpacing",
    "ImageLaterality",
    "Laterality",
)
_DICOM_INTEGER_TAGS = {
    "Rows",
    "Columns",
    "NumberOfFrames",
    "SamplesPerPixel",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
}
# Per format, the loggers of the decoding libraries that log (rather than raise) about files they dislike; they are
# silenced while a file of that format is decoded, and the reader raises instead.
_CHATTY_LOGGERS = {
    "tiff": ("tifffile",),
    "dicom": ("pydicom",),
    "vol": ("eyepy",),
    "e2e": ("eyepy",),
    "fda": ("eyepy",),
}


def sniff_format(path: str | os.PathLike) -> str:
    """The file's format from its first bytes (extension only as a fallback for vendor volumes)."""
    path = Path(path)
    if not path.exists():
        raise ScanReadError(path, "no such file")
    if path.is_dir():
        raise ScanReadError(path, "is a folder, not a file")
    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError as exc:
        raise ScanReadError(path, f"cannot open ({exc.strerror or exc})") from None
    if not head:
        raise ScanReadError(path, "empty file (0 bytes)")
    for magic, offset, fmt in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return fmt
    vendor = VENDOR_EXTENSIONS.get(path.suffix.lower())
    if vendor:
        return vendor
    if _looks_like_text(head):
        raise ScanReadError(path, f"is a text file, not an image (starts with {head[:20]!r})")
    raise ScanReadError(
        path,
        f"unrecognised file format (starts with {head[:8].hex(' ')}); expected PNG, JPEG, TIFF, BMP, DICOM, NPY or a vendor VOL/E2E/FDA volume",
    )


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch >= 32 or ch in b"\t\r\n" for ch in head)


def read_scan(path: str | os.PathLike, frame: int | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Scan:
    """Read one B-scan (for a volume: `frame`, default the central one) as float32 in [0, 1].

    Raises ScanReadError, one line naming the file, for anything that is not a readable B-scan.
    """
    path = Path(path)
    fmt = sniff_format(path)
    reader = _READERS[fmt]
    try:
        with warnings.catch_warnings(), quiet_loggers(_CHATTY_LOGGERS.get(fmt, ())):
            warnings.simplefilter("ignore")  # library chatter; problems are raised, not warned
            return reader(path, frame, max_pixels)
    except ScanReadError:
        raise
    except MemoryError:
        raise ScanReadError(path, f"out of memory while decoding the {fmt.upper()} image") from None
    except Exception as exc:  # the library boundary: any decoder failure becomes one line
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScanReadError(path, f"corrupt or unreadable {fmt.upper()} file ({detail})") from None


@contextlib.contextmanager
def quiet_loggers(names: Sequence[str] | None = None) -> Iterator[None]:
    """Silence the named image libraries' loggers (None: all of them) while a file is decoded: a bad file gets
    our one-line error, not their warnings (the DICOM reader and the de-identifier share this).

    Only the decoding library's loggers are touched: every `setLevel` clears the cache of every logger in the
    process (thousands once transformers is imported), which cost more than decoding a PNG.
    """
    chatty = sorted({name for group in _CHATTY_LOGGERS.values() for name in group})
    loggers = [logging.getLogger(name) for name in (chatty if names is None else names)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@dataclass(frozen=True)
class ReadResult:
    """One file of a batch: the scan, or the reason it could not be read."""

    path: str
    scan: Scan | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.scan is not None


def read_scans(
    paths: Iterable[str | os.PathLike], frame: int | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Iterator[ReadResult]:
    """Read many files lazily; a bad file becomes a failed result and the batch goes on."""
    for path in paths:
        try:
            yield ReadResult(str(path), scan=read_scan(path, frame, max_pixels=max_pixels))
        except ScanReadError as exc:
            yield ReadResult(str(path), error=str(exc))


def find_scan_files(root: str | os.PathLike) -> list[Path]:
    """Files under a folder that look like scans (known extension or known magic), sorted; hidden ones skipped."""
    found = []
    for path in sorted(Path(root).rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.suffix.lower() in SCAN_EXTENSIONS:
            found.append(path)
            continue
        try:
            sniff_format(path)
        except ScanReadError:
            continue
        found.append(path)
    return found


# ---------------------------------------------------------------- shared checks and conat


def _read_pil(path: Path, frame: int | None, max_pixels: int) -> Scan:
    from PIL import Image

    try:
        image = Image.open(path)  # reads the header only
    except Image.DecompressionBombError as exc:
        raise ScanReadError(path, f"image too large to decode safely ({exc})") from None
    with image:
        width, height = image.size
        check_size(path, height, width, max_pixels)
        n_frames = int(getattr(image, "n_frames", 1))
        chosen = pick_frame(path, frame, n_frames)
        if n_frames > 1:
            image.seek(chosen)
        mode = image.mode
        if mode == "1":
            raise ScanReadError(path, "1-bit black-and-white image: an OCT B-scan needs grey levels")
        if mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("RGB")
        elif mode == "LA":
            image = image.convert("L")
        elif mode == "PA":
            image = image.convert("RGBA")
        samples = np.asarray(image)
        if mode.startswith("I;16"):
            samples = samples.astype(np.uint16)
        elif mode == "I":  # 16-bit PNG/TIFF decoded as int32 by older Pillow
            if samples.min() < 0 or samples.max() > 65535:
                raise ScanReadError(path, "32-bit integer samples outside the 16-bit range")
            samples = samples.astype(np.uint16)
        return scan_from_samples(
            path,
            samples,
            original_mode=mode,
            frame=chosen if n_frames > 1 else None,
            n_frames=n_frames,
            metadata={"format": image.format or path.suffix.lstrip(".").upper(), "width": width, "height": height},
        )


def _read_tiff(path: Path, frame: int | None, max_pixels: int) -> Scan:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        n_frames = len(tif.pages)
        if n_frames == 0:
            raise ScanReadError(path, "TIFF holds no images")
        chosen = pick_frame(path, frame, n_frames)
        page = tif.pages[chosen]
        shape = tuple(page.shape)
        height, width = (shape[0], shape[1]) if len(shape) >= 2 else (0, 0)
        if len(shape) == 3 and shape[0] in (3, 4) and shape[-1] not in (3, 4):  # planar RGB
            height, width = shape[1], shape[2]
        check_size(path, height, width, max_pixels)
        samples = page.asarray()
        photometric = getattr(page.photometric, "name", str(page.photometric))
        bits = int(page.bitspersample)
    if samples.ndim == 3 and samples.shape[0] in (3, 4) and samples.shape[-1] not in (3, 4):
        samples = np.moveaxis(samples, 0, -1)
    if photometric == "MINISWHITE" and samples.dtype.kind in "ui":
        samples = np.iinfo(samples.dtype).max - samples
    return scan_from_samples(
        path,
        samples,
        bits=bits if samples.dtype.kind in "ui" and bits in (8, 10, 12, 14, 16) else None,
        frame=chosen if n_frames > 1 else None,
        n_frames=n_frames,
        metadata={"format": "TIFF", "width": width, "height": height, "photometric": photometric},
    )


def _read_npy(path: Path, frame: int | None, max_pixels: int) -> Scan:
    array = np.load(path, mmap_mode="r", allow_pickle=False)  # header parsed, nothing read yet
    if array.ndim < 2:
        raise ScanReadError(path, f"array of shape {tuple(array.shape)} is not an image")
    squeezed = [n for n in array.shape if n != 1]
    if len(squeezed) >= 2:
        check_size(path, squeezed[0], squeezed[1], max_pixels)
    pick_frame(path, frame, 1)
    return scan_from_samples(
        path,
        np.array(array),
        frame=None,
        metadata={"format": "NPY", "dtype": str(array.dtype), "shape": list(array.shape)},
    )


def _read_dicom(path: Path, frame: int | None, max_pixels: int) -> Scan:
    import pydicom
    import pydicom.pixels

    ds = pydicom.dcmread(path, defer_size="1 MB")
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise ScanReadError(path, "DICOM file has no pixel data (not an image object)")
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    check_size(path, rows, columns, max_pixels)
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    chosen = pick_frame(path, frame, n_frames)
    samples = pydicom.pixels.pixel_array(ds, index=chosen if n_frames > 1 else None)
    if samples.ndim == 3 and n_frames > 1 and samples.shape[0] == 1:
        samples = samples[0]
    bits = int(ds.get("BitsStored", samples.dtype.itemsize * 8))
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if samples.dtype.kind == "i":  # signed storage: shift to unsigned so 0 is the darkest value
        samples = (samples.astype(np.int64) + 2 ** (bits - 1)).astype(np.uint16 if bits > 8 else np.uint8)
    if samples.dtype.kind == "u" and bits > 8 and samples.dtype != np.uint16:
        samples = samples.astype(np.uint16)
    if photometric == "MONOCHROME1" and samples.dtype.kind == "u":
        samples = (2**bits - 1) - samples
    return scan_from_samples(
        path,
        samples,
        bits=bits if samples.dtype.kind == "u" else None,
        original_mode="RGB" if photometric.startswith(("RGB", "YBR")) else "L",
        frame=chosen if n_frames > 1 else None,
        n_frames=n_frames,
        pixel_spacing_mm=_dicom_spacing(ds, chosen),
        laterality=_dicom_laterality(ds),
        metadata=_dicom_technical_metadata(ds),
    )


def _dicom_spacing(ds, frame: int) -> tuple[float, float] | None:
    """(axial, lateral) mm from PixelSpacing, else the per-frame or shared functional groups."""
    candidates = [ds]
    for group_name, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        groups = ds.get(group_name)
        if groups and len(groups) > index:
            measures = groups[index].get("PixelMeasuresSequence")
            if measures:
                candidates.append(measures[0])
    for item in candidates:
        spacing = item.get("PixelSpacing")
        if spacing is not None and len(spacing) == 2:
            return float(spacing[0]), float(spacing[1])
    return None


def _dicom_laterality(ds) -> str | None:
    values = [ds.get("ImageLaterality"), ds.get("Laterality")]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared and shared[0].get("FrameAnatomySequence"):
        values.append(shared[0].FrameAnatomySequence[0].get("FrameLaterality"))
    for value in values:
        if value in ("R", "L"):
            return {"R": "OD", "L": "OS"}[value]
    return None


def _dicom_technical_metadata(ds) -> dict:
    metadata: dict = {"format": "DICOM"}
    for keyword in DICOM_TECHNICAL_TAGS:
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        if keyword == "PixelSpacing":
            metadata[keyword] = [float(v) for v in value]
        elif keyword in _DICOM_INTEGER_TAGS:
            metadata[keyword] = int(value)
        else:
            metadata[keyword] = str(value)
    return metadata


def _read_vendor(path: Path, frame: int | None, max_pixels: int) -> Scan:
    from retinavlm.data.vendor import read_vendor_scan

    return read_vendor_scan(path, sniff_format(path), frame, max_pixels)


_READERS = {
    "png": _read_pil,
    "jpeg": _read_pil,
    "bmp": _read_pil,
    "tiff": _read_tiff,
    "npy": _read_npy,
    "dicom": _read_dicom,
    "vol": _read_vendor,
    "e2e": _read_vendor,
    "fda": _read_vendor,
}
