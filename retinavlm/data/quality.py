"""The quality gate: is this image a usable OCT B-scan, and if not, why not?

An OCT B-scan is mostly dark, with bright layers that run across the width and carry speckle; the
vitreous (dark, featureless) lies above the retina and the choroid (textured, fading with depth)
below it. Each figure below measures one of those traits; the thresholds and reasons are data
(`curricula/quality_gate.yaml`), so a clinic can retune them without touching code.

A scan is `accepted` (possibly with warning flags), `low_quality` (an OCT scan too noisy or dark
to read) or `refused` (not a usable OCT B-scan at all); both refusals carry a one-line reason.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from retinavlm.data.scan import Scan
from retinavlm.errors import ConfigError
from retinavlm.resources import curricula_dir
from retinavlm.yaml_files import read_yaml_mapping

SIZE_FIGURES = ("height", "width", "min_side", "n_pixels")
IMAGE_FIGURES = (
    "mean", "p01", "p50", "p99", "dynamic_range", "median_to_p99", "padding_fraction", "clipped_fraction",
    "noise_sigma", "snr_db", "structure", "layer_anisotropy", "layer_continuity", "bright_bands", "band_likeness",
    "fade_below", "sharp_top_edge", "brighter_below", "layers_above", "upright_votes",
)  # fmt: skip
FIGURES = (*SIZE_FIGURES, *IMAGE_FIGURES, "colour_saturation")
ORIENTATION_CUES = ("fade_below", "sharp_top_edge", "brighter_below", "layers_above")
PADDING_FRINGE = 3  # working pixels around registration padding filled with it: JPEG leaves a bright fringe
LEVELS = ("refused", "low_quality")  # the levels a rule can refuse at; an image no rule refuses is "accepted"


@dataclass(frozen=True)
class Rule:
    """One threshold on one figure: a refusal (with its reason) or a warning flag (with its name)."""

    figure: str
    min: float | None = None
    max: float | None = None
    reason: str = ""
    name: str = ""
    level: str = "refused"

    def fails(self, value: float) -> bool:
        return (self.min is not None and value < self.min) or (self.max is not None and value > self.max)

    def explain(self, value: float) -> str:
        limit = self.min if self.min is not None and value < self.min else self.max
        return self.reason.format(value=value, limit=limit)


@dataclass(frozen=True)
class QualityConfig:
    reject: tuple[Rule, ...]
    flags: tuple[Rule, ...]
    working_side: int = 256
    blur_sigma: float = 2.0
    strips: int = 8
    profile_side: int = 128
    profile_strips: int = 16
    band_level: float = 0.3
    gap_level: float = 0.1


@dataclass
class QualityReport:
    """`level` is "accepted", "low_quality" or "refused"; `ok` (accepted) is what most callers need."""

    ok: bool
    reason: str = ""
    flags: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    level: str = "accepted"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "level": self.level,
            "reason": self.reason,
            "flags": list(self.flags),
            "figures": dict(self.figures),
        }


def default_config_path() -> Path:
    return curricula_dir() / "quality_gate.yaml"


def load_quality_config(path: str | os.PathLike | None = None) -> QualityConfig:
    path = Path(path) if path is not None else default_config_path()
    return _load_quality_config(str(path))


@lru_cache(maxsize=8)
def _load_quality_config(path: str) -> QualityConfig:
    data = read_yaml_mapping(path, ConfigError, "quality gate config")
    if not isinstance(data.get("reject"), list):
        raise ConfigError("malformed quality gate config: `reject` must be a list of rules", source=path)
    analysis = data.get("analysis") or {}
    if not isinstance(analysis, dict):
        raise ConfigError("malformed quality gate config: `analysis` must be a mapping", source=path)
    defaults = QualityConfig(reject=(), flags=())
    numbers = {
        item.name: _number(analysis.get(item.name, getattr(defaults, item.name)), f"analysis.{item.name}", path)
        for item in fields(QualityConfig)
        if item.name not in ("reject", "flags")
    }
    return QualityConfig(
        reject=tuple(_rule(raw, f"reject[{i}]", path) for i, raw in enumerate(data["reject"])),
        flags=tuple(_rule(raw, f"flags[{i}]", path, flag=True) for i, raw in enumerate(data.get("flags") or [])),
        **{name: int(value) if isinstance(getattr(defaults, name), int) else value for name, value in numbers.items()},
    )


def _number(value: Any, key: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"malformed quality gate config: expected a number, got {value!r}", key, path)
    return float(value)


def _rule(raw: Any, key: str, path: str, flag: bool = False) -> Rule:
    """One rule from the YAML, checked: a known figure, numeric limits, a known level, a reason or a name."""
    if not isinstance(raw, dict):
        raise ConfigError(f"malformed quality gate config: expected a mapping, got {raw!r}", key, path)
    unknown = set(raw) - {"figure", "min", "max", "reason", "name", "level"}
    if unknown:
        raise ConfigError(f"malformed quality gate config: unknown keys {sorted(unknown)}", key, path)
    if raw.get("figure") not in FIGURES:
        raise ConfigError(f"quality gate rule names an unknown figure {raw.get('figure')!r}", key, path)
    limits = {name: _number(raw[name], f"{key}.{name}", path) for name in ("min", "max") if raw.get(name) is not None}
    if not limits:
        raise ConfigError("malformed quality gate config: a rule needs `min` or `max`", key, path)
    level = raw.get("level", "refused")
    if level not in LEVELS:
        raise ConfigError(f"malformed quality gate config: level must be one of {list(LEVELS)}", key, path)
    text = str(raw.get("name" if flag else "reason", ""))
    if not text:
        raise ConfigError(
            f"malformed quality gate config: a {'flag needs a `name`' if flag else 'rule needs a `reason`'}", key, path
        )
    reason = str(raw.get("reason", ""))
    try:  # a reason is a format string of {value} and {limit}; a typo in it would otherwise fail on some scan
        reason.format(value=0.0, limit=0.0)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"reason is not a valid template ({type(exc).__name__}: {exc})", f"{key}.reason", path
        ) from None
    return Rule(figure=raw["figure"], reason=reason, name=str(raw.get("name", "")), level=level, **limits)


def assess_quality(scan: Scan, config: QualityConfig | None = None) -> QualityReport:
    """Accept or refuse one scan; an accepted scan may still carry warning flags."""
    config = config or load_quality_config()
    figures = size_figures(scan.pixels)
    size_rules = [rule for rule in config.reject if rule.figure in SIZE_FIGURES]
    refusal = _first_failure(size_rules, figures)
    if refusal:  # never analyse an image we refuse to hold
        return _refusal(refusal, figures)
    figures.update(image_figures(scan.pixels, config))
    figures["colour_saturation"] = round(float(scan.colour_saturation), 4)
    refusal = _first_failure(config.reject, figures)
    if refusal:
        return _refusal(refusal, figures)
    flags = [rule.name for rule in config.flags if rule.fails(figures[rule.figure])]
    return QualityReport(ok=True, flags=flags, figures=figures)


def _refusal(rule: Rule, figures: dict[str, float]) -> QualityReport:
    return QualityReport(ok=False, reason=rule.explain(figures[rule.figure]), figures=figures, level=rule.level)


def _first_failure(rules: list[Rule] | tuple[Rule, ...], figures: dict[str, float]) -> Rule | None:
    """The first rule the figures fail; rules are checked when loaded, so every figure they name exists."""
    return next((rule for rule in rules if rule.fails(figures[rule.figure])), None)


def size_figures(pixels: np.ndarray) -> dict[str, float]:
    height, width = pixels.shape[:2]
    return {"height": height, "width": width, "min_side": min(height, width), "n_pixels": height * width}


def padding_mask(pixels: np.ndarray) -> np.ndarray:
    """Flat white regions touching the top or bottom edge: registration padding, not tissue.

    Exported B-scans are often padded with pure white where the frame was shifted to follow
    the retina; those pixels would otherwise count as clipped signal. The opening keeps the
    flat padding but cuts it loose from saturated tissue that happens to touch it.
    """
    top = float(pixels.max())
    saturated = pixels >= top - 1e-3  # float tolerance: resampled padding is not bit-exact
    if top < 0.5 or not (saturated[0].any() or saturated[-1].any()):
        return np.zeros(pixels.shape, dtype=bool)
    flat = cv2.morphologyEx(saturated.view(np.uint8), cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
    labels, _ = ndimage.label(flat)
    edge_labels = np.union1d(labels[0], labels[-1])
    return np.isin(labels, edge_labels[edge_labels > 0])


def image_figures(pixels: np.ndarray, config: QualityConfig) -> dict[str, float]:
    """Intensity, noise and layer-structure figures of a (H, W) float image in [0, 1]."""
    pixels = np.asarray(pixels, dtype=np.float32)
    padding = padding_mask(pixels)
    tissue = pixels[~padding] if (~padding).sum() >= 64 else pixels.ravel()
    p01, p05, p50, p99 = _quantiles(tissue, (0.01, 0.05, 0.5, 0.99))
    dynamic_range = p99 - p01

    # Noise: robust sigma of neighbouring-pixel differences, dominated by the dark background.
    diffs = np.abs(np.diff(pixels, axis=1))[~(padding[:, 1:] | padding[:, :-1])]
    noise_sigma = 1.4826 * _quantiles(diffs, (0.5,))[0] / math.sqrt(2) if diffs.size else 0.0
    snr_db = 20 * math.log10((dynamic_range + 1e-6) / (noise_sigma + 1e-6))

    working = _fill_padding(_working_copy(pixels, config.working_side), padding, p05)
    smooth = cv2.GaussianBlur(working, (0, 0), config.blur_sigma)
    structure = float(smooth.var()) / (float(working.var()) + 1e-12)
    grad_rows = float(np.abs(np.diff(smooth, axis=0)).mean())
    grad_cols = float(np.abs(np.diff(smooth, axis=1)).mean())
    anisotropy = grad_rows / (grad_rows + grad_cols + 1e-12)

    return {
        "mean": round(float(tissue.mean()), 4),
        "p01": round(p01, 4),
        "p50": round(p50, 4),
        "p99": round(p99, 4),
        "dynamic_range": round(dynamic_range, 4),
        "median_to_p99": round(p50 / (p99 + 1e-6), 4),
        "padding_fraction": round(float(padding.mean()), 4),
        "clipped_fraction": round(float((tissue >= 1.0 - 1.0 / 512).mean()), 4),
        "noise_sigma": round(noise_sigma, 5),
        "snr_db": round(snr_db, 2),
        "structure": round(structure, 4),
        "layer_anisotropy": round(anisotropy, 4),
        "layer_continuity": round(_layer_continuity(smooth, config.strips), 4),
        **_depth_figures(working, config),
    }


def _fill_padding(working: np.ndarray, padding: np.ndarray, background_level: float) -> np.ndarray:
    """The working copy with registration padding (and its JPEG fringe) set to the tissue's background level.

    White padding next to the tissue is a strong edge of no anatomical meaning: left in, it would
    skew the layer figures of a dim scan and be taken for the brightest layer.
    """
    if not padding.any() or padding.all():
        return working
    touched = cv2.resize(padding.view(np.uint8), working.shape[::-1], interpolation=cv2.INTER_AREA) > 0
    touched = cv2.dilate(touched.view(np.uint8), np.ones((PADDING_FRINGE, PADDING_FRINGE), np.uint8)) > 0
    return np.where(touched, np.float32(background_level), working)


def _quantiles(values: np.ndarray, fractions: tuple[float, ...]) -> tuple[float, ...]:
    """Quantiles of values in [0, 1] from a 16-bit histogram: exact to 1/65535, and far faster than sorting."""
    counts = np.bincount(np.rint(values * 65535.0).astype(np.int64).ravel(), minlength=65536)
    cumulative = np.cumsum(counts)
    ranks = [fraction * (cumulative[-1] - 1) for fraction in fractions]
    return tuple(float(np.searchsorted(cumulative, rank, side="right")) / 65535.0 for rank in ranks)


def _working_copy(pixels: np.ndarray, side: int) -> np.ndarray:
    """Area-downsample by an integer factor so the long side is about `side` pixels."""
    height, width = pixels.shape
    factor = max(1, round(max(height, width) / side))
    if factor == 1:
        return pixels
    return cv2.resize(pixels, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)


def _layer_continuity(smooth: np.ndarray, strips: int) -> float:
    """Share of the image's variance explained by one depth profile per vertical strip.

    Layers that run across the width make every strip look like its own average profile.
    """
    total = float(((smooth - smooth.mean()) ** 2).sum())
    if total <= 0:
        return 0.0
    residual = 0.0
    for columns in np.array_split(np.arange(smooth.shape[1]), min(strips, smooth.shape[1])):
        strip = smooth[:, columns]
        residual += float(((strip - strip.mean(axis=1, keepdims=True)) ** 2).sum())
    return 1.0 - residual / total


# Orientation cues, measured on depth profiles scaled so the background is 0 and the brightest layer 1.
TISSUE_LEVEL = 0.3  # above this a profile is tissue (retina with RPE and choroid), below it vitreous or deep fade
EDGE_HIGH, EDGE_LOW = 0.4, 0.2  # an edge of the tissue runs from EDGE_HIGH down to EDGE_LOW
CORE_LEVEL = 0.5  # the bright core of the tissue band, whose immediate neighbours are compared
BEYOND_ROWS = 10  # profile rows beyond each edge of the tissue in which fading is measured
NEXT_ROWS = 6  # profile rows just above and just below the bright core
LAYER_ROWS = 10  # profile rows above and below the brightest layer (the RPE) whose texture is compared


def _depth_figures(working: np.ndarray, config: QualityConfig) -> dict[str, float]:
    """Stripes and orientation, from one mean depth profile per vertical strip of a small resampled copy.

    Each orientation cue is positive for an upright scan and changes sign when the scan is flipped
    upside down; `upright_votes` is the number of cues that say "upright" minus the number that say
    "upside down".
    """
    side = config.profile_side
    small = cv2.resize(working, (side, side), interpolation=cv2.INTER_AREA)
    smooth = cv2.GaussianBlur(small, (0, 0), 1.5)
    background, top = np.percentile(smooth, (10, 99.5))
    scaled = (smooth - background) / max(float(top - background), 1e-3)
    strips = np.array_split(np.arange(side), config.profile_strips)
    profiles = np.stack([scaled[:, columns].mean(axis=1) for columns in strips])  # (strips, depth)

    cues = {
        "fade_below": _median_over(profiles, _fade_below),
        "sharp_top_edge": _median_over(profiles, _sharp_top_edge),
        "brighter_below": _median_over(profiles, _brighter_below),
        "layers_above": _layers_above(small, profiles, strips),
    }
    votes = sum(np.sign(value) for value in cues.values())
    bands = [_bands(profile, config.band_level, config.gap_level) for profile in profiles]
    return {
        "bright_bands": float(np.median([len(b) for b in bands])),
        "band_likeness": round(float(np.median([_likeness(b) for b in bands])), 4),
        **{name: round(value, 4) for name, value in cues.items()},
        "upright_votes": float(votes),
    }


def _median_over(profiles: np.ndarray, cue) -> float:
    values = [value for value in map(cue, profiles) if value is not None]
    return float(np.median(values)) if values else 0.0


def _fade_below(profile: np.ndarray) -> float | None:
    """Below the tissue the choroid fades with depth; above it the vitreous is flat."""
    tissue = np.flatnonzero(profile > TISSUE_LEVEL)
    if not tissue.size:
        return None
    above = profile[max(0, tissue[0] - 1 - BEYOND_ROWS) : max(0, tissue[0] - 1)]
    below = profile[tissue[-1] + 2 : tissue[-1] + 2 + BEYOND_ROWS]
    if min(len(above), len(below)) < BEYOND_ROWS // 2:
        return None
    fall_below = below[: len(below) // 3].mean() - below[-(len(below) // 3) :].mean()
    fall_above = above[-(len(above) // 3) :].mean() - above[: len(above) // 3].mean()
    return float(fall_below - fall_above)


def _sharp_top_edge(profile: np.ndarray) -> float | None:
    """The vitreous-retina edge is sharp; the tissue's lower edge fades out over more rows."""
    tissue = np.flatnonzero(profile > EDGE_HIGH)
    if not tissue.size:
        return None
    first, last = tissue[0], tissue[-1]
    dark_above = np.flatnonzero(profile[:first] < EDGE_LOW)
    dark_below = np.flatnonzero(profile[last:] < EDGE_LOW)
    top_width = first - (dark_above[-1] if dark_above.size else 0)
    bottom_width = (last + dark_below[0] if dark_below.size else len(profile) - 1) - last
    return float((bottom_width - top_width) / (bottom_width + top_width + 1e-9))


def _brighter_below(profile: np.ndarray) -> float | None:
    """Just below the bright core lies the choroid; just above the tissue, the dark vitreous."""
    core = np.flatnonzero(profile > CORE_LEVEL)
    if not core.size:
        return None
    first, last = core[0], core[-1]
    above = profile[max(0, first - NEXT_ROWS) : first].mean() if first > 0 else 0.0
    below = profile[last + 1 : last + 1 + NEXT_ROWS].mean() if last < len(profile) - 1 else 0.0
    return float(below - above)


def _layers_above(small: np.ndarray, profiles: np.ndarray, strips: list[np.ndarray]) -> float:
    """Above the RPE lie horizontal retinal layers; below it the choroid's vessels run in all directions.

    The score is the share of vertical gradient above the brightest layer minus the share below it.
    """
    fine = cv2.GaussianBlur(small, (0, 0), 0.7)
    vertical = np.abs(np.diff(fine, axis=0))[:, :-1]
    horizontal = np.abs(np.diff(fine, axis=1))[:-1, :]
    peaks = ndimage.median_filter(
        profiles.argmax(axis=1), size=5, mode="nearest"
    )  # one RPE row per strip, outliers damped
    depth = vertical.shape[0]
    sums = np.zeros((2, 2))  # [above, below] x [vertical, horizontal]
    for columns, peak in zip(strips, peaks):
        columns = columns[columns < horizontal.shape[1]]
        for side, rows in enumerate(
            (
                slice(max(0, peak - LAYER_ROWS), max(0, peak - 2)),
                slice(min(depth, peak + 2), min(depth, peak + LAYER_ROWS)),
            )
        ):
            sums[side] += vertical[rows][:, columns].sum(), horizontal[rows][:, columns].sum()
    share = sums[:, 0] / (sums.sum(axis=1) + 1e-9)
    return float(share[0] - share[1])


def _bands(profile: np.ndarray, band_level: float, gap_level: float) -> list[tuple[int, float]]:
    """(width, peak) of each bright band in one depth profile; bands are separated by background, not by dips."""
    rows = np.flatnonzero((profile > band_level) | (profile < gap_level))  # rows that are clearly in or out
    bright = profile[rows] > band_level
    previous_dark = np.r_[True, ~bright[:-1]]
    starts = rows[bright & previous_dark]
    ends = np.r_[rows[~bright & ~previous_dark], len(profile)]  # the first background row after each band
    bands = []
    for start in starts:
        segment = profile[start : ends[np.searchsorted(ends, start)]]
        bands.append((int((segment > band_level).sum()), float(segment.max())))
    return bands


def _likeness(bands: list[tuple[int, float]]) -> float:
    """How alike neighbouring bands are in width and brightness (1: identical); 0 for a single band."""
    if len(bands) < 2:
        return 0.0
    return min(min(w1, w2) / max(w1, w2) * min(p1, p2) / max(p1, p2) for (w1, p1), (w2, p2) in zip(bands, bands[1:]))
