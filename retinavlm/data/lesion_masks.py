"""Lesion masks: which pixels of a B-scan each biomarker occupies, one 16-bit PNG per scan.

Bit i of a pixel is set when biomarker `bits[i]` covers it; `bits` (the knowledge base's biomarker ids
in order) is recorded in the cohort's manifest under `lesion_masks`, so a reader never guesses the
order. The synthetic renderer knows every lesion's pixels exactly; a real cohort with a segmentation
can be converted to the same layout. Stage 0 uses them to tell the encoder *where* a finding is
(`ssl.token_head: masks`), which matters for findings a few pixels across.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from retinavlm.errors import RetinaVLMError

FOLDER = "masks"
MAX_BITS = 16


class LesionMaskError(RetinaVLMError):
    """A lesion mask file or a cohort's mask record is missing or does not fit its scan."""


def encode_mask(masks: Mapping[str, np.ndarray], bits: Sequence[str], shape: tuple[int, int]) -> bytes:
    """PNG bytes of the (rows, cols) uint16 bit field of `masks` (biomarker id -> boolean image)."""
    if len(bits) > MAX_BITS:
        raise ValueError(f"a 16-bit mask holds at most {MAX_BITS} biomarkers, got {len(bits)}")
    field = np.zeros(shape, np.uint16)
    for index, biomarker in enumerate(bits):
        if biomarker in masks:
            field |= masks[biomarker].astype(np.uint16) << np.uint16(index)
    buffer = io.BytesIO()
    Image.fromarray(field).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def mask_path(cohort: str | Path, scan_id: str) -> Path:
    return Path(cohort) / FOLDER / f"{scan_id}.png"


def cohort_mask_bits(cohort: str | Path) -> list[str] | None:
    """The biomarker order of a cohort's masks, or None when its manifest records no masks."""
    try:
        manifest = json.loads((Path(cohort) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    record = manifest.get("lesion_masks") if isinstance(manifest, dict) else None
    bits = record.get("bits") if isinstance(record, dict) else None
    return list(bits) if isinstance(bits, list) and all(isinstance(b, str) for b in bits) else None


def bit_positions(cohort: str | Path, biomarker_ids: Sequence[str]) -> list[int]:
    """Which bit of the cohort's masks holds each biomarker; LesionMaskError when it has no masks or lacks one."""
    bits = cohort_mask_bits(cohort)
    if bits is None:
        raise LesionMaskError(f"{cohort} has no lesion masks (no lesion_masks in its manifest.json)")
    missing = [b for b in biomarker_ids if b not in bits]
    if missing:
        raise LesionMaskError(f"{cohort}'s lesion masks have no bit for {missing[0]}")
    return [bits.index(b) for b in biomarker_ids]


def read_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """The uint16 bit field of one scan; it must have the scan's (rows, cols)."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            field = np.asarray(image)
    except FileNotFoundError:
        raise LesionMaskError(f"{path}: lesion mask not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise LesionMaskError(f"{path}: not a readable PNG lesion mask ({exc})") from None
    if field.ndim != 2 or field.dtype.kind not in "ui":
        raise LesionMaskError(
            f"{path}: expected a single-channel integer mask, got {field.dtype} of shape {field.shape}"
        )
    if field.shape != shape:
        raise LesionMaskError(
            f"{path}: mask is {field.shape[0]}x{field.shape[1]} but its scan is {shape[0]}x{shape[1]}"
        )
    return field.astype(np.uint16)


def crop_mask(field: np.ndarray, box: tuple[int, int, int, int], size: int, n_bits: int) -> np.ndarray:
    """Cut the encoder's (top, left, height, width) box out of a bit field and resize it to (size, size).

    Each bit is resized on its own (area average, then any coverage counts), so that a lesion thinner
    than the downscaling step still marks the pixel it falls in.
    """
    top, left, height, width = box
    if (top, left, height, width) == (0, 0, *field.shape) and height == width == size:
        # Already the encoder's square (training augments cropped squares): a resize to the same size moves
        # nothing, so only the bits past n_bits go; skipping the per-bit resizes saves ~0.8 ms a sample.
        return field.astype(np.uint16) & np.uint16((1 << min(n_bits, 16)) - 1)
    return resize_bits(field[top : top + height, left : left + width], size, n_bits)


def resize_bits(square: np.ndarray, size: int, n_bits: int) -> np.ndarray:
    """The first `n_bits` bits of a bit field resized to (size, size) one by one: a pixel keeps a bit when any of
    the bit's area reaches it."""
    height, width = square.shape
    interpolation = cv2.INTER_AREA if min(height, width) > size else cv2.INTER_LINEAR
    out = np.zeros((size, size), np.uint16)
    for index in range(n_bits):
        bit = ((square >> np.uint16(index)) & 1).astype(np.float32)
        if bit.any():
            covered = cv2.resize(bit, (size, size), interpolation=interpolation) > 0
            out |= covered.astype(np.uint16) << np.uint16(index)
    return out


def token_targets(fields: np.ndarray, grid: tuple[int, int], bit_positions: Sequence[int]) -> np.ndarray:
    """(B, S, S) bit fields -> (B, rows * cols, len(bit_positions)) float32: 1 where a biomarker touches a token's cell.

    `bit_positions[j]` is the bit of the j-th biomarker asked for. Tokens are row-major over the encoder's
    grid, as `retinavlm.model.encoder.feature_map_to_tokens` orders them.
    """
    batch, size, _ = fields.shape
    rows, cols = grid
    if size % rows or size % cols:
        raise ValueError(f"a {size}-pixel mask does not divide into a {rows}x{cols} token grid")
    # OR the bit fields over each cell first, then split the bits: a bit is set in the OR exactly when some
    # pixel of the cell has it, and the reduction runs on one array instead of one per biomarker (30x faster, benchmarks/stage0_step.py).
    cells = np.bitwise_or.reduce(fields.reshape(batch, rows, size // rows, cols, size // cols), axis=(2, 4))
    bits = (cells.reshape(batch, rows * cols, 1) >> np.asarray(bit_positions, dtype=np.uint16)) & 1
    return bits.astype(np.float32)
