"""What the scan panel draws: contrast window, zoom, and a heat-map blended over the B-scan."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from PIL import Image


def adjust(pixels: np.ndarray, low: float = 0.0, high: float = 1.0, gamma: float = 1.0) -> np.ndarray:
    """Contrast window [low, high] mapped to [0, 1], then gamma; float32 (H, W)."""
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"contrast window must satisfy 0 <= low < high <= 1, got ({low}, {high})")
    out = np.clip((pixels.astype(np.float32) - low) / (high - low), 0.0, 1.0)
    return out ** np.float32(gamma) if gamma != 1.0 else out


def zoom(pixels: np.ndarray, factor: float, centre: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """The part of the scan a `factor`x zoom around `centre` (row, column fractions) shows."""
    if factor < 1.0:
        raise ValueError(f"zoom factor must be at least 1, got {factor}")
    height, width = pixels.shape[:2]
    h, w = max(1, round(height / factor)), max(1, round(width / factor))
    top = int(np.clip(round(centre[0] * height - h / 2), 0, height - h))
    left = int(np.clip(round(centre[1] * width - w / 2), 0, width - w))
    return pixels[top : top + h, left : left + w]


def blend_heatmap(pixels: np.ndarray, heat: np.ndarray, alpha: float = 0.45, colormap: str = "inferno") -> np.ndarray:
    """The scan in grey with `heat` ([0, 1], any size; resized to the scan) coloured over it; uint8 RGB."""
    height, width = pixels.shape
    resized = np.asarray(Image.fromarray(heat.astype(np.float32)).resize((width, height), Image.BILINEAR))
    colours = colormaps[colormap](np.clip(resized, 0.0, 1.0))[..., :3]
    weight = alpha * np.clip(resized, 0.0, 1.0)[..., None]  # cold regions stay grey
    grey = np.repeat(pixels[..., None], 3, axis=2)
    return np.clip(np.rint((grey * (1 - weight) + colours * weight) * 255.0), 0, 255).astype(np.uint8)
