"""Decoded samples -> `Scan`: the size, frame and sample-type checks and conversions every reader shares.

Used by the format readers of `retinavlm.data.io` and the vendor-volume readers of `retinavlm.data.vendor`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retinavlm.data.scan import Scan, ScanReadError

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as PIL's "L"


def check_size(path: Path, height: int, width: int, max_pixels: int) -> None:
    if height <= 0 or width <= 0:
        raise ScanReadError(path, f"image has no pixels ({width}×{height})")
    if height * width > max_pixels:
        raise ScanReadError(
            path,
            f"image is {width}×{height} = {height * width:,} pixels, above the limit of {max_pixels:,} "
            "(possible decompression bomb; raise max_pixels if it is genuine)",
        )


def pick_frame(path: Path, frame: int | None, n_frames: int) -> int:
    """The requested frame, or the central one; a wrong index is the caller's error, said plainly."""
    if frame is None:
        return n_frames // 2
    if not 0 <= frame < n_frames:
        raise ScanReadError(path, f"frame {frame} out of range: the file has {n_frames} frame(s)")
    return frame


def integer_to_unit(path: Path, pixels: np.ndarray, bits: int) -> np.ndarray:
    if pixels.dtype.kind not in "ui":
        raise ScanReadError(path, f"expected integer samples, got {pixels.dtype}")
    return (pixels.astype(np.float32) / float(2**bits - 1)).clip(0.0, 1.0)


def float_to_unit(path: Path, pixels: np.ndarray) -> np.ndarray:
    """Float samples must already be in [0, 1]: guessing a scale would silently change the image."""
    pixels = pixels.astype(np.float32)
    bad = ~np.isfinite(pixels)
    if bad.any():
        raise ScanReadError(path, f"contains {int(bad.sum())} NaN or infinite value(s)")
    low, high = float(pixels.min()), float(pixels.max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise ScanReadError(path, f"float values must lie in [0, 1], found [{low:.4g}, {high:.4g}]")
    return pixels.clip(0.0, 1.0)


def colour_to_grey(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """Luma of an (H, W, 3+) image in [0, 1] and its mean chroma (0 for grey stored as RGB)."""
    rgb = pixels[..., :3]
    grey = rgb @ _LUMA
    sample = rgb[::4, ::4]
    chroma = float((sample.max(axis=-1) - sample.min(axis=-1)).mean())
    return grey.astype(np.float32), chroma


def _as_scan_array(path: Path, pixels: np.ndarray) -> np.ndarray:
    """Drop singleton axes of one frame; refuse anything that is not one 2-D B-scan."""
    if pixels.ndim == 3 and 1 in pixels.shape and pixels.shape[-1] not in (3, 4):
        pixels = pixels.reshape([n for n in pixels.shape if n != 1] or [1])
    if pixels.ndim != 2 and not (pixels.ndim == 3 and pixels.shape[-1] in (3, 4)):
        raise ScanReadError(
            path, f"array of shape {tuple(pixels.shape)} is not a single B-scan: expected (height, width)"
        )
    return pixels


def _samples_to_unit(path: Path, pixels: np.ndarray, bits: int | None = None) -> tuple[np.ndarray, int]:
    """Map stored samples to float32 [0, 1] with their bit depth; refuse types that are not grey levels."""
    kind = pixels.dtype.kind
    if kind == "b":
        raise ScanReadError(path, "boolean (1-bit) samples: an OCT B-scan needs grey levels")
    if kind == "c":
        raise ScanReadError(path, f"complex samples ({pixels.dtype}): save the magnitude as a real image")
    if kind == "f":
        return float_to_unit(path, pixels), 32 if pixels.dtype.itemsize >= 4 else 16
    if pixels.dtype == np.uint8:
        return integer_to_unit(path, pixels, bits or 8), bits or 8
    if pixels.dtype == np.uint16:
        return integer_to_unit(path, pixels, bits or 16), bits or 16
    raise ScanReadError(path, f"unsupported sample type {pixels.dtype}: use uint8, uint16 or float in [0, 1]")


def scan_from_samples(
    path: Path, samples: np.ndarray, *, bits: int | None = None, original_mode: str | None = None, **fields
) -> Scan:
    """Build the Scan from decoded samples; colour is converted to grey and remembered."""
    samples = _as_scan_array(path, samples)
    pixels, bit_depth = _samples_to_unit(path, samples, bits)
    colour_saturation = 0.0
    if pixels.ndim == 3:
        original_mode = original_mode or ("RGBA" if pixels.shape[-1] == 4 else "RGB")
        pixels, colour_saturation = colour_to_grey(pixels)
    return Scan(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        source=str(path),
        bit_depth=bit_depth,
        original_mode=original_mode or "L",
        colour_saturation=colour_saturation,
        **fields,
    )
