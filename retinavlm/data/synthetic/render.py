"""Render one B-scan from a findings specification: anatomy, lesions, speckle, then the scanner.

Anatomy, each lesion and the noise draw from separate seeds, so the same eye with and without
one lesion differs only where that lesion is drawn (what the lesion tests rely on), and repeat
visits of an eye share its anatomy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import gaussian_filter1d

from retinavlm.data.synthetic import anatomy
from retinavlm.data.synthetic.anatomy import Grid
from retinavlm.data.synthetic.config import Acquisition, ScannerDomain, ShortcutCue
from retinavlm.data.synthetic.lesions import LESIONS, Lesion
from retinavlm.knowledge import KnowledgeError

EYES = ("OD", "OS")


@dataclass(frozen=True)
class ScanSpec:
    """What to draw. present: biomarker id -> attributes (e.g. {"drusen": {"size": "large"}})."""

    present: dict[str, dict[str, str]] = field(default_factory=dict)
    eye: str = "OD"
    watermark: bool = True
    anatomy_seed: int | None = None
    lesion_seed: int | None = None
    cue: ShortcutCue | None = None  # a shortcut marker to burn into the encoder's field of view


@dataclass
class RenderedScan:
    """The image (float32 in [0, 1]), the pixels each lesion drew, and where the fovea is."""

    pixels: np.ndarray
    masks: dict[str, np.ndarray]
    fovea: tuple[int, int]  # (row, col) of the foveal pit's floor
    pixel_spacing_um: tuple[float, float]  # (axial, lateral)


def render(
    spec: ScanSpec,
    domain: ScannerDomain,
    rng: np.random.Generator,
    grid: Grid = Grid(),
    central_halfwidth_um: float = 1250.0,
    acquisition: Acquisition = Acquisition(),
) -> RenderedScan:
    """Render a scan and its lesion masks, in the domain's resolution and the spec's eye, framed as `acquisition` draws."""
    if spec.eye not in EYES:
        raise ValueError(f"eye must be one of {EYES}, got {spec.eye!r}")
    unknown = [b for b in spec.present if b not in LESIONS]
    if unknown:
        raise KnowledgeError(f"no drawing for biomarker(s) {', '.join(unknown)}; drawable: {', '.join(LESIONS)}")
    anatomy_seed = spec.anatomy_seed if spec.anatomy_seed is not None else int(rng.integers(2**63))
    lesion_seed = spec.lesion_seed if spec.lesion_seed is not None else int(rng.integers(2**63))

    depths = (acquisition.retina_depth_min, acquisition.retina_depth_max)
    geometry = anatomy.sample_geometry(grid, np.random.default_rng([anatomy_seed, 0]), depths)
    window = geometry.central_cols(central_halfwidth_um)
    placed: dict[str, Lesion] = {}
    for index, (biomarker, cls) in enumerate(LESIONS.items()):
        if biomarker in spec.present:
            lesion_rng = np.random.default_rng([lesion_seed, index])
            placed[biomarker] = cls(spec.present[biomarker], geometry, window, lesion_rng, placed)
    for lesion in placed.values():
        lesion.deform(geometry)

    image = anatomy.reflectivity(geometry)
    anatomy.add_choroid(image, geometry, np.random.default_rng([anatomy_seed, 1]))
    masks = {biomarker: lesion.paint(image, geometry) for biomarker, lesion in placed.items()}
    anatomy.add_vessels(image, geometry)
    fovea_col = int(round(geometry.fovea_col))
    fovea = (int(round(geometry.boundaries()["ilm"][fovea_col])), fovea_col)

    image = anatomy.add_speckle(image + np.float32(domain.background), domain.speckle, rng)
    pixels = _scanner(image, domain)
    if (domain.rows, domain.cols) != (grid.rows, grid.cols):
        pixels = _resize(pixels, domain.rows, domain.cols, Image.Resampling.BILINEAR)
        masks = {
            k: _resize(m.astype(np.float32), domain.rows, domain.cols, Image.Resampling.NEAREST) > 0.5
            for k, m in masks.items()
        }
        fovea = (int(fovea[0] * domain.rows / grid.rows), int(fovea[1] * domain.cols / grid.cols))
    if spec.eye == "OS":  # the mirror image: the optic nerve and the thick nerve fibres swap sides
        pixels = pixels[:, ::-1]
        masks = {k: m[:, ::-1] for k, m in masks.items()}
        fovea = (fovea[0], domain.cols - 1 - fovea[1])
    # Drawn after the speckle, and only when on, so a cohort without registration keeps its random stream.
    if acquisition.registration_p > 0 and rng.random() < acquisition.registration_p:
        degrees = float(rng.uniform(-acquisition.registration_degrees, acquisition.registration_degrees))
        pixels, masks, fovea = _register(pixels, masks, fovea, degrees)
    if spec.watermark and domain.watermark:
        pixels = _stamp(pixels, domain.watermark)
    if spec.cue is not None:
        pixels = stamp_cue(pixels, spec.cue)
    spacing = (grid.axial_um * grid.rows / domain.rows, grid.lateral_um * grid.cols / domain.cols)
    return RenderedScan(np.ascontiguousarray(pixels, np.float32), masks, fovea, spacing)


def render_scan(
    spec: ScanSpec,
    domain: ScannerDomain,
    rng: np.random.Generator,
    grid: Grid = Grid(),
    central_halfwidth_um: float = 1250.0,
    acquisition: Acquisition = Acquisition(),
) -> np.ndarray:
    """The rendered B-scan alone: float32 (rows, cols) in [0, 1]."""
    return render(spec, domain, rng, grid, central_halfwidth_um, acquisition).pixels


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)


def _scanner(image: np.ndarray, domain: ScannerDomain) -> np.ndarray:
    """The vendor's look: optical blur, then contrast curve and gain."""
    if domain.blur > 0:
        image = gaussian_filter1d(image, domain.blur, axis=1)
    return np.clip(domain.gain * np.clip(image, 0, None) ** domain.gamma, 0.0, 1.0).astype(np.float32)


def _register(
    pixels: np.ndarray, masks: dict[str, np.ndarray], fovea: tuple[int, int], degrees: float
) -> tuple[np.ndarray, dict[str, np.ndarray], tuple[int, int]]:
    """The scan rotated about its centre as a device registers it, the corners it exposes white (the wedges of
    real exports); the lesion masks and the fovea move with it."""
    import cv2  # lazy, as in cue_box: OpenCV only for the cohorts that register

    rows, cols = pixels.shape
    matrix = cv2.getRotationMatrix2D(((cols - 1) / 2, (rows - 1) / 2), degrees, 1.0)
    turned = cv2.warpAffine(pixels, matrix, (cols, rows), flags=cv2.INTER_LINEAR, borderValue=1.0)
    turned_masks = {
        k: cv2.warpAffine(m.astype(np.uint8), matrix, (cols, rows), flags=cv2.INTER_NEAREST, borderValue=0) > 0
        for k, m in masks.items()
    }
    col, row = matrix @ np.array([fovea[1], fovea[0], 1.0])
    return turned, turned_masks, (int(np.clip(round(row), 0, rows - 1)), int(np.clip(round(col), 0, cols - 1)))


def _resize(array: np.ndarray, rows: int, cols: int, method: Image.Resampling) -> np.ndarray:
    return np.asarray(Image.fromarray(array.astype(np.float32)).resize((cols, rows), method))


def _stamp(pixels: np.ndarray, text: str) -> np.ndarray:
    """Burn the vendor's text into the bottom-right corner, as exported B-scans often carry."""
    canvas = Image.fromarray(np.ascontiguousarray(pixels, np.float32))
    font = ImageFont.load_default(size=max(10, pixels.shape[0] // 28))
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = pixels.shape[1] - (right - left) - 8
    y = pixels.shape[0] - (bottom - top) - 10
    draw.text((x - left, y - top), text, fill=0.85, font=font)
    return np.asarray(canvas)


CUE_INSET = 0.03  # the cue's gap to the crop's top and left edges, as a fraction of the crop's side


CUE_PLACEMENT_ROUNDS = 4  # the marker nudges the crop it is placed in by a row or two; a few rounds settle it


def cue_box(pixels: np.ndarray, cue: ShortcutCue) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the cue in the scan: the top-left (vitreous) corner of the encoder's
    fovea crop of side `cue.crop_fraction`, as that crop is found on the scan with the cue in it."""
    from retinavlm.data.augment import fovea_crop_box  # lazy: pulls in OpenCV and albumentations

    crop = fovea_crop_box(pixels, cue.crop_fraction)
    for _ in range(CUE_PLACEMENT_ROUNDS):
        top, left, side, _ = crop
        inset, width = round(CUE_INSET * side), max(1, round(cue.size * side))
        box = (top + inset, left + inset, width, width)
        crop, previous = fovea_crop_box(_burn(pixels, box, cue.intensity), cue.crop_fraction), crop
        if crop == previous:
            break
    return box


def cue_square_box(cue: ShortcutCue, size: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the cue in a (size, size) encoder input cut with the cue's crop fraction."""
    inset, width = round(CUE_INSET * size), max(1, round(cue.size * size))
    return inset, inset, width, width


def stamp_cue(pixels: np.ndarray, cue: ShortcutCue) -> np.ndarray:
    """The scan with the cue burned in at `cue_box`."""
    return _burn(pixels, cue_box(pixels, cue), cue.intensity)


def _burn(pixels: np.ndarray, box: tuple[int, int, int, int], value: float) -> np.ndarray:
    top, left, height, width = box
    marked = np.array(pixels, np.float32)
    marked[top : top + height, left : left + width] = value
    return marked
