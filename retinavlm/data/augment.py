"""Augmentation for OCT B-scans: fovea-centred square crops and albumentations pipelines.

OCT has a physical up and down (depth), so there is no vertical flip and rotations stay small.
A horizontal flip mirrors a right eye into a left-looking one, so the pipeline flips the
laterality label together with the pixels and the two can never disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A

from retinavlm.data import lesion_masks
from retinavlm.data.quality import padding_mask

MIRRORED_LATERALITY = {"OD": "OS", "OS": "OD"}


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation strengths; `size` is the encoder's square input side."""

    size: int = 192
    hflip_p: float = 0.5
    rotate_degrees: float = 3.0
    shift_fraction: float = 0.03
    scale_fraction: float = 0.05
    affine_p: float = 0.7
    brightness: float = 0.1
    contrast: float = 0.15
    brightness_contrast_p: float = 0.5
    gamma_range: tuple[float, float] = (85.0, 115.0)
    gamma_p: float = 0.3
    speckle_range: tuple[float, float] = (0.85, 1.15)
    speckle_p: float = 0.3
    noise_std_range: tuple[float, float] = (0.01, 0.04)
    noise_p: float = 0.3
    # Blank the vitreous above the retina (`mask_above_retina`) in every view, training and evaluation alike,
    # so that nothing drawn there (a burned-in marker, text) can stand in for the retina's findings.
    mask_above_retina: bool = False
    seed: int | None = None


# ---------------------------------------------------------------- fovea-centred crop


def find_fovea_column(pixels: np.ndarray, working_side: int = 256, min_pit_fraction: float = 0.02) -> int:
    """Column of the foveal pit: where the inner retinal boundary dips furthest below both its shoulders.

    The inner boundary (first bright row from the top) at each column is compared with its
    highest point within a shoulder-width on either side; the deepest such dip near the centre
    is the fovea, so a tilt or gentle curvature of the retina does not move it. Without a clear
    pit (pathology, or not a foveal scan) it falls back to the centre column.
    """
    height, width = pixels.shape
    factor = max(1, round(max(height, width) / working_side))
    work = cv2.resize(pixels, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
    padding = cv2.dilate(padding_mask(work).view(np.uint8), np.ones((5, 5), np.uint8))  # and its blurred edge
    work[padding > 0] = 0.0
    smooth = cv2.GaussianBlur(work, (0, 0), 3)
    rows, columns = smooth.shape
    shoulder = columns // 6
    if shoulder < 2:
        return width // 2
    background, bright = np.percentile(smooth, [50, 99])
    inside = smooth > background + 0.2 * (bright - background)
    boundary = np.where(inside.any(axis=0), inside.argmax(axis=0), rows).astype(np.float32)
    boundary = ndimage.median_filter(boundary, size=max(3, (columns // 32) | 1), mode="nearest")

    # Highest point of the boundary within a shoulder-width on each side of every column.
    windows = np.lib.stride_tricks.sliding_window_view(boundary, shoulder)
    candidates = np.arange(max(shoulder, int(columns * 0.2)), min(columns - shoulder, int(columns * 0.8) + 1))
    if candidates.size == 0:
        return width // 2
    left_peak = windows[candidates - shoulder].min(axis=1)
    right_peak = windows[candidates + 1].min(axis=1)
    dip = boundary[candidates] - np.maximum(left_peak, right_peak)
    best = float(dip.max())
    if best < min_pit_fraction * rows:
        return width // 2
    deepest = candidates[dip >= best - 0.5]  # the middle of a flat-bottomed pit
    return int((float(np.median(deepest)) + 0.5) * factor)


def fovea_center_crop(pixels: np.ndarray, size: int = 192, fraction: float = 1.0) -> np.ndarray:
    """Square crop centred on the fovea (columns) and the retina (rows), resized to (size, size), float32 in [0, 1].

    The side is `fraction` of the scan's shorter side. Below 1 the crop zooms in on the retinal band, so
    that thin findings (a double-layer sign, foci a few pixels wide) survive the resize to a small input.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    return crop_square(pixels, fovea_crop_box(pixels, fraction), size)


CROP_MODES = ("fovea", "none")


def encoder_square(pixels: np.ndarray, size: int, crop: str = "fovea", fraction: float = 1.0) -> np.ndarray:
    """The encoder's (size, size) input in [0, 1]: the fovea-centred square (`crop="fovea"`) or the whole scan resized.

    `"none"` keeps the scan's whole field of view whatever its pixel width: a crop side set by the scan's
    height spans twice the retina on a 512-column scan that it spans on a 1024-column scan of the same
    section, so real cohorts of mixed widths (and synthetic scans beside them) are only framed alike uncropped.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    return crop_square(pixels, encoder_box(pixels, crop, fraction), size)


def encoder_box(pixels: np.ndarray, crop: str = "fovea", fraction: float = 1.0) -> tuple[int, int, int, int]:
    """(top, left, height, width) of what the encoder sees (`encoder_square`), so a lesion mask is cut alike."""
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {', '.join(CROP_MODES)}, got {crop!r}")
    if crop == "fovea":
        return fovea_crop_box(pixels, fraction)
    return 0, 0, *np.shape(pixels)


def crop_square(pixels: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """The (top, left, height, width) box of float pixels, resized to (size, size) and clipped to [0, 1]."""
    top, left, height, width = box
    crop = pixels[top : top + height, left : left + width]
    interpolation = cv2.INTER_AREA if min(height, width) > size else cv2.INTER_LINEAR
    return np.clip(cv2.resize(crop, (size, size), interpolation=interpolation), 0.0, 1.0)


def fovea_crop_box(pixels: np.ndarray, fraction: float = 1.0) -> tuple[int, int, int, int]:
    """(top, left, side, side) of `fovea_center_crop`'s square, so that a lesion mask can be cut the same way."""
    if pixels.ndim != 2:
        raise ValueError(f"expected a (height, width) B-scan, got shape {pixels.shape}")
    if not 0 < fraction <= 1:
        raise ValueError(f"crop fraction must be in (0, 1], got {fraction}")
    height, width = pixels.shape
    side = max(1, int(round(fraction * min(height, width))))
    centre_column = find_fovea_column(pixels) if width > side else width // 2
    left = int(np.clip(centre_column - side // 2, 0, width - side))
    top = int(np.clip(retina_centre_row(pixels) - side // 2, 0, height - side)) if height > side else 0
    return top, left, side, side


PADDING_LEVEL = 0.98  # registration wedges and blank borders of real exports are white, within JPEG noise
PADDING_MIN_RUN = 0.02  # a shorter white run at a row's end, as a fraction of the width, is tissue (a saturated RPE)


def border_padding(pixels: np.ndarray) -> np.ndarray:
    """Where a scan is white padding: the white run at either end of each row, as a registration wedge or a blank
    border leaves it, when it spans at least `PADDING_MIN_RUN` of the width."""
    white = pixels >= PADDING_LEVEL
    min_run = max(1, round(PADDING_MIN_RUN * pixels.shape[1]))
    padding = np.zeros_like(white)
    for runs in (np.cumprod(white, axis=1), np.cumprod(white[:, ::-1], axis=1)[:, ::-1]):
        padding |= runs.astype(bool) & (runs.sum(axis=1, keepdims=True) >= min_run)
    return padding


def retina_centre_row(pixels: np.ndarray) -> int:
    """The row at the centre of the bright retinal band: the mean row weighted by brightness above background.

    Subtracting the background (the median row) keeps the dark vitreous and noise floor from pulling the
    centre towards the middle of the image. Border padding is left out of each row's mean: a registration wedge
    can cover a fifth of a real scan, at its top or bottom, and would otherwise pull the centre into itself.
    """
    tissue = ~border_padding(pixels)
    counts = tissue.sum(axis=1)
    sums = np.where(tissue, pixels, 0.0).sum(axis=1)
    row_means = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)
    profile = ndimage.gaussian_filter1d(row_means, sigma=max(1.0, pixels.shape[0] / 64))
    weights = np.clip(profile - np.median(profile), 0.0, None)
    if weights.sum() <= 0:
        return pixels.shape[0] // 2
    return int(np.average(np.arange(pixels.shape[0]), weights=weights))


RETINA_ROW_QUANTILE = 70  # a row is retina when at least 30 % of its columns are bright: a marker is narrower
RETINA_MARGIN = 0.04  # rows kept above the retina's top, as a fraction of the square's side


def vitreous_rows(square: np.ndarray) -> int:
    """How many rows at the top of an encoder square lie above the retina (less a margin).

    The retina's top is the first row whose 70th-percentile brightness (smoothed) rises a third of the way
    from the darkest to the brightest row, so a marker narrower than 30 % of the width never counts as retina.
    """
    square = np.asarray(square, np.float32)
    smooth = cv2.GaussianBlur(square, (0, 0), max(1.0, square.shape[0] / 64))
    level = np.percentile(smooth, RETINA_ROW_QUANTILE, axis=1)
    darkest, brightest = float(level.min()), float(level.max())
    if brightest <= darkest:
        return 0
    top = int(np.argmax(level > darkest + (brightest - darkest) / 3))
    return max(0, top - round(RETINA_MARGIN * square.shape[0]))


def mask_above_retina(square: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """The square with its `vitreous_rows` set to `fill`: findings lie within or under the retina, so nothing
    a grader reads is blanked, while anything drawn in the vitreous (a marker, text) is."""
    masked = np.array(square, np.float32)
    masked[: vitreous_rows(masked)] = fill
    return masked


# ---------------------------------------------------------------- pipelines


class OctTransform:
    """Fovea crop, then (for training) a seeded horizontal flip that carries the laterality, then albumentations.

    Call as `transform(image=pixels, laterality="OD")`; returns {"image", "laterality", "flipped"}. With
    `mask=` (a lesion-mask bit field of the image's shape) the mask is cropped, flipped and moved with the
    pixels and returned as "mask", so that it still marks the same lesions.
    """

    def __init__(
        self,
        size: int,
        pixel_ops: list[A.BasicTransform],
        hflip_p: float,
        seed: int | None,
        mask_vitreous: bool = False,
    ):
        self.size = size
        self.mask_vitreous = mask_vitreous
        self.hflip_p = hflip_p
        self.rng = np.random.default_rng(seed)
        self.pipeline = A.Compose(pixel_ops, seed=seed) if pixel_ops else None

    def reseed(self, seed: int | None) -> OctTransform:
        """Draw from here on exactly as a new transform built with `seed` would; building one costs more
        than applying it, so a training loop reseeds one transform per sample instead."""
        self.rng = np.random.default_rng(seed)
        if self.pipeline is not None:
            self.pipeline.set_random_seed(seed)
        return self

    def __call__(
        self, *, image: np.ndarray, laterality: str | None = None, mask: np.ndarray | None = None
    ) -> dict[str, Any]:
        if mask is not None and np.shape(mask) != np.shape(image):
            raise ValueError(f"mask shape {np.shape(mask)} differs from the image's {np.shape(image)}")
        image = np.asarray(image, dtype=np.float32)
        box = fovea_crop_box(image)
        pixels = crop_square(image, box, self.size)
        if self.mask_vitreous:
            pixels = mask_above_retina(pixels)
        if mask is not None:
            mask = lesion_masks.crop_mask(mask, box, self.size, lesion_masks.MAX_BITS)
        flipped = bool(self.hflip_p > 0 and self.rng.random() < self.hflip_p)
        if flipped:
            pixels = np.ascontiguousarray(pixels[:, ::-1])
            mask = None if mask is None else np.ascontiguousarray(mask[:, ::-1])
            laterality = MIRRORED_LATERALITY.get(laterality, laterality) if laterality else laterality
        if self.pipeline is not None:
            moved = self.pipeline(image=pixels, **({} if mask is None else {"mask": mask}))
            pixels, mask = moved["image"], moved.get("mask", mask)
        out = {"image": np.clip(pixels, 0.0, 1.0).astype(np.float32), "laterality": laterality, "flipped": flipped}
        if mask is not None:
            out["mask"] = np.asarray(mask, np.uint16)
        return out


def train_transform(config: AugmentConfig | None = None) -> OctTransform:
    """Random but OCT-plausible changes: small rotations and shifts, contrast, gamma, speckle and noise."""
    cfg = config or AugmentConfig()
    pixel_ops = [
        A.Affine(
            rotate=(-cfg.rotate_degrees, cfg.rotate_degrees),
            translate_percent=(-cfg.shift_fraction, cfg.shift_fraction),
            scale=(1 - cfg.scale_fraction, 1 + cfg.scale_fraction),
            border_mode=cv2.BORDER_CONSTANT,
            fill=0,
            p=cfg.affine_p,
        ),
        A.RandomBrightnessContrast(
            brightness_limit=cfg.brightness, contrast_limit=cfg.contrast, p=cfg.brightness_contrast_p
        ),
        A.RandomGamma(gamma_limit=cfg.gamma_range, p=cfg.gamma_p),
        A.MultiplicativeNoise(multiplier=cfg.speckle_range, elementwise=True, p=cfg.speckle_p),
        A.GaussNoise(std_range=cfg.noise_std_range, p=cfg.noise_p),
    ]
    return OctTransform(cfg.size, pixel_ops, cfg.hflip_p, cfg.seed, cfg.mask_above_retina)


def eval_transform(config: AugmentConfig | None = None) -> OctTransform:
    """The deterministic part only: fovea-centred crop and resize (and the vitreous mask when it is on)."""
    cfg = config or AugmentConfig()
    return OctTransform(cfg.size, [], hflip_p=0.0, seed=cfg.seed, mask_vitreous=cfg.mask_above_retina)
