"""Healthy retinal anatomy of a synthetic B-scan: layer geometry, reflectivity, choroid, vessels, speckle.

Geometry is kept per A-scan (one value per column) so that lesions can lift, thicken or thin
layers with vectorised profile arithmetic before anything is drawn. Depths are in rows of the
canonical grid (Spectralis-like: 3.9 µm axial, 11.5 µm lateral); the scan is rendered as a right
eye (OD, optic nerve to the right) and mirrored for OS at the very end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, gaussian_filter1d

# Retinal layers above the RPE, outer to inner: outer segments, inner segments, outer nuclear,
# outer plexiform, inner nuclear, inner plexiform, ganglion cell and nerve fibre layers.
LAYERS = ("os", "is", "onl", "opl", "inl", "ipl", "gcl", "nfl")

# Typical parafoveal thickness in µm (Spectralis normative values, rounded).
LAYER_THICKNESS_UM = {"os": 30, "is": 28, "onl": 80, "opl": 30, "inl": 36, "ipl": 38, "gcl": 42, "nfl": 22}

# Display-scale reflectivity of each band (before speckle): plexiform and fibre layers are bright,
# nuclear layers dark; photoreceptor and RPE bands are drawn as lines on top.
LAYER_REFLECTIVITY = {
    "os": 0.30,
    "is": 0.16,
    "onl": 0.13,
    "opl": 0.40,
    "inl": 0.16,
    "ipl": 0.40,
    "gcl": 0.30,
    "nfl": 0.60,
}
VITREOUS = 0.02
RPE_THICKNESS_UM = 20.0


@dataclass(frozen=True)
class Grid:
    """The canonical pixel grid every scan is rendered on before the scanner domain resamples it."""

    rows: int = 496
    cols: int = 512
    axial_um: float = 3.9
    lateral_um: float = 11.5

    def rows_for(self, um: float) -> float:
        return um / self.axial_um

    def cols_for(self, um: float) -> float:
        return um / self.lateral_um


@dataclass
class Geometry:
    """Per-column anatomy. Lesions edit these arrays; `boundaries()` turns them into row positions.

    rpe_lift: sub-RPE elevation (drusen, PED, double-layer sign); subretinal: gap between RPE and
    photoreceptor tips (fluid or material); *_strength: how much of a band survives (atrophy);
    sub_rpe_fill / subretinal_fill: reflectivity of what fills those gaps; choroid_gain: brightness
    of the choroid under each column (hypertransmission > 1, shadowing < 1).
    """

    grid: Grid
    fovea_col: float
    bruch: np.ndarray
    thickness: dict[str, np.ndarray]
    choroid_thickness: np.ndarray
    rpe_lift: np.ndarray = None  # type: ignore[assignment]
    subretinal: np.ndarray = None  # type: ignore[assignment]
    subretinal_material: np.ndarray = None  # type: ignore[assignment]
    sub_rpe_fill: np.ndarray = None  # type: ignore[assignment]
    subretinal_fill: np.ndarray = None  # type: ignore[assignment]
    rpe_strength: np.ndarray = None  # type: ignore[assignment]
    photoreceptor_strength: np.ndarray = None  # type: ignore[assignment]
    choroid_gain: np.ndarray = None  # type: ignore[assignment]
    vessels: list[tuple[float, float, float]] = field(default_factory=list)  # (col, width, darkening)

    def __post_init__(self) -> None:
        cols = self.grid.cols
        zeros, ones = np.zeros(cols, np.float32), np.ones(cols, np.float32)
        defaults = {
            "rpe_lift": zeros,
            "subretinal": zeros,
            "subretinal_material": zeros,
            "sub_rpe_fill": np.full(cols, 0.38, np.float32),
            "subretinal_fill": np.full(cols, 0.03, np.float32),
            "rpe_strength": ones,
            "photoreceptor_strength": ones,
            "choroid_gain": ones,
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value.copy())

    @property
    def rpe_thickness(self) -> float:
        return self.grid.rows_for(RPE_THICKNESS_UM)

    def boundaries(self) -> dict[str, np.ndarray]:
        """Top row of every band, per column: bruch, rpe, then each retinal layer, then `ilm`."""
        rpe_top = self.bruch - self.rpe_thickness - self.rpe_lift
        tops = {"bruch": self.bruch, "rpe": rpe_top, "retina_bottom": rpe_top - self.subretinal}
        below = tops["retina_bottom"]
        for name in LAYERS:
            below = below - self.thickness[name]
            tops[name] = below
        tops["ilm"] = below
        return tops

    def central_cols(self, halfwidth_um: float) -> tuple[float, float]:
        half = self.grid.cols_for(halfwidth_um)
        return self.fovea_col - half, self.fovea_col + half


def bump(cols: int, centre: float, halfwidth: float, height: float, power: float = 0.8) -> np.ndarray:
    """A dome profile (elliptic cap raised to `power`) over columns, zero outside its half-width."""
    x = (np.arange(cols, dtype=np.float32) - centre) / max(halfwidth, 0.5)
    return (height * np.clip(1.0 - x * x, 0.0, None) ** (power / 2.0)).astype(np.float32)


def plateau(cols: int, start: float, stop: float, edge: float) -> np.ndarray:
    """1 between `start` and `stop` with smooth edges `edge` columns wide, 0 elsewhere."""
    x = np.arange(cols, dtype=np.float32)
    edge = max(edge, 0.5)
    return (np.clip((x - start) / edge + 0.5, 0, 1) * np.clip((stop - x) / edge + 0.5, 0, 1)).astype(np.float32)


def sample_geometry(grid: Grid, rng: np.random.Generator, depth_range: tuple[float, float]) -> Geometry:
    """A healthy right eye: curved, tilted Bruch's membrane, foveal pit, nasal-thick nerve fibres.

    `depth_range`: where Bruch's membrane lies at the fovea, as fractions of the rows (cohort.yaml `acquisition`).
    """
    cols = np.arange(grid.cols, dtype=np.float32)
    fovea = grid.cols / 2 + rng.uniform(-0.04, 0.04) * grid.cols
    u = (cols - fovea) / grid.cols
    depth = grid.rows * rng.uniform(*depth_range)
    bruch = depth - rng.uniform(10, 45) * u * u * 4 + rng.uniform(-30, 30) * u

    pit_sigma = grid.cols_for(rng.uniform(480, 620))
    pit = np.exp(-(((cols - fovea) / pit_sigma) ** 2))
    rim = np.exp(-(((np.abs(cols - fovea) - 1.9 * pit_sigma) / (1.6 * pit_sigma)) ** 2))
    nasal = 1.0 / (1.0 + np.exp(-(cols - fovea) / (0.12 * grid.cols)))  # 0 temporal, 1 nasal (OD)
    shape = {
        "os": 1.0 + 0.25 * pit,
        "is": 1.0 + 0.15 * pit,
        "onl": 1.0 + 0.55 * pit,
        "opl": 1.0 - 0.6 * pit,
        "inl": (1.0 - 0.97 * pit) * (1 + 0.15 * rim),
        "ipl": (1.0 - 0.95 * pit) * (1 + 0.15 * rim),
        "gcl": (1.0 - 0.97 * pit) * (1 + 0.45 * rim),
        "nfl": (1.0 - 0.95 * pit) * (0.6 + 1.6 * nasal),
    }
    scale = rng.uniform(0.9, 1.1)
    thickness = {
        name: (grid.rows_for(LAYER_THICKNESS_UM[name]) * scale * shape[name]).astype(np.float32) for name in LAYERS
    }
    choroid = grid.rows_for(rng.uniform(180, 320)) * (1 + 0.15 * np.sin(cols / grid.cols * 6 + rng.uniform(0, 6)))
    geometry = Geometry(grid, float(fovea), bruch.astype(np.float32), thickness, choroid.astype(np.float32))
    # Superficial retinal vessels, more of them towards the optic nerve (nasal).
    for _ in range(int(rng.integers(2, 6))):
        side = rng.uniform(0.25, 1.0) if rng.random() < 0.7 else -rng.uniform(0.25, 1.0)
        col = float(np.clip(fovea + side * grid.cols / 2, 2, grid.cols - 3))
        geometry.vessels.append((col, float(rng.uniform(1.5, 3.5)), float(rng.uniform(0.2, 0.5))))
    return geometry


def reflectivity(geometry: Geometry) -> np.ndarray:
    """Noise-free reflectivity map (rows x cols) of the retina and the sub-RPE and subretinal gaps."""
    grid = geometry.grid
    tops = geometry.boundaries()
    image = np.full((grid.rows, grid.cols), VITREOUS, np.float32)
    image[int(np.clip(np.ceil(np.max(tops["bruch"])), 0, grid.rows)) :] = 0.0
    # Only the rows between the inner retinal surface and Bruch's membrane need the band logic.
    lo = int(np.clip(np.floor(np.min(tops["ilm"])) - 4, 0, grid.rows))
    hi = int(np.clip(np.ceil(np.max(tops["bruch"])) + 4, lo, grid.rows))
    y = np.arange(lo, hi, dtype=np.float32)[:, None]
    band = np.full((hi - lo, grid.cols), VITREOUS, np.float32)
    # Superficial to deep: each band overwrites everything below its top boundary.
    for name in reversed(LAYERS):
        band = np.where(y >= tops[name], np.float32(LAYER_REFLECTIVITY[name]), band)
    band = np.where(y >= tops["retina_bottom"], geometry.subretinal_fill, band)
    band = np.where(y >= tops["rpe"], geometry.sub_rpe_fill, band)
    band = np.where(y >= tops["bruch"], np.float32(0.0), band)
    image[lo:hi] = gaussian_filter1d(band, 0.8, axis=0)

    pr = geometry.photoreceptor_strength
    lines = (
        (tops["onl"] + geometry.thickness["onl"], 1.2, 0.22 * pr),  # external limiting membrane
        (tops["os"] - 0.5, 1.6, 0.55 * pr),  # ellipsoid zone
        (tops["retina_bottom"] - 2.0, 1.4, 0.22 * pr),  # interdigitation zone
        (tops["rpe"] + geometry.rpe_thickness / 2, geometry.rpe_thickness / 2 + 0.6, 0.8 * geometry.rpe_strength),
        (tops["bruch"] + 0.5, 1.1, np.full(grid.cols, 0.45, np.float32)),  # Bruch's membrane
    )
    for centre, width, amplitude in lines:
        _add_line(image, centre, width, amplitude)
    return image


def _add_line(image: np.ndarray, centre: np.ndarray, width: float | np.ndarray, amplitude: np.ndarray) -> None:
    """Add a thin hyperreflective band with a Gaussian axial profile, computed only near its rows."""
    lo = max(int(np.floor(np.min(centre) - 4 * np.max(width))), 0)
    hi = min(int(np.ceil(np.max(centre) + 4 * np.max(width))) + 1, image.shape[0])
    if hi <= lo:
        return
    y = np.arange(lo, hi, dtype=np.float32)[:, None]
    image[lo:hi] += amplitude * np.exp(-(((y - centre) / width) ** 2))


def add_choroid(image: np.ndarray, geometry: Geometry, rng: np.random.Generator) -> None:
    """Choriocapillaris, stroma with dark vessel lumens (larger deeper), then the fading sclera."""
    grid = geometry.grid
    depth_rows = int(np.ceil(np.max(geometry.choroid_thickness))) + 120
    fine = _smooth_noise((depth_rows, grid.cols), 2, (1.0, 1.5), rng)
    coarse = _smooth_noise((depth_rows, grid.cols), 4, (1.25, 2.25), rng)
    d = np.arange(depth_rows, dtype=np.float32)[:, None]
    rel = d / geometry.choroid_thickness
    mix = np.clip(rel * 1.5, 0, 1)
    field = (1 - mix) * fine + mix * coarse
    lumen = 1.0 / (1.0 + np.exp(-(field - 0.4) * 3.0))  # 1 inside a vessel
    stroma = 0.42 - 0.3 * lumen + 0.15 * np.exp(-(((d - 3) / 4.0) ** 2))  # bright choriocapillaris on top
    edge = 1.0 / (1.0 + np.exp((rel - 1.0) * 12.0))  # choroid-sclera junction
    texture = (edge * stroma + (1 - edge) * 0.08) * np.exp(-d / 120.0) * geometry.choroid_gain
    # Paste the depth-ordered texture under Bruch's membrane of every column.
    start = np.rint(geometry.bruch + 1).astype(int)
    rows = start[None, :] + np.arange(depth_rows)[:, None]
    cols = np.broadcast_to(np.arange(grid.cols), rows.shape)
    keep = (rows >= 0) & (rows < grid.rows)
    image[rows[keep], cols[keep]] += texture[keep]  # every (row, col) pair occurs once


def _smooth_noise(
    shape: tuple[int, int], factor: int, sigma: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Gaussian-smoothed noise, made at 1/factor resolution and enlarged: the same look, far cheaper."""
    small = (-(-shape[0] // factor), -(-shape[1] // factor))
    field = gaussian_filter(rng.standard_normal(small, dtype=np.float32), sigma)
    size = (small[1] * factor, small[0] * factor)
    field = np.asarray(Image.fromarray(field).resize(size, Image.Resampling.BILINEAR))[: shape[0], : shape[1]]
    return field / (field.std() + 1e-6)


def add_vessels(image: np.ndarray, geometry: Geometry) -> None:
    """Superficial vessels: a bright lumen wall in the inner retina and a dark shadow column below."""
    tops = geometry.boundaries()
    rows = image.shape[0]
    y = np.arange(rows, dtype=np.float32)[:, None]
    for col, width, darkening in geometry.vessels:
        lo, hi = max(int(col - 3 * width), 0), min(int(col + 3 * width) + 1, image.shape[1])
        x = np.arange(lo, hi, dtype=np.float32)
        profile = np.exp(-(((x - col) / width) ** 2))
        vessel_row = tops["gcl"][int(col)] + 0.5 * geometry.thickness["gcl"][int(col)]
        below = 1.0 / (1.0 + np.exp(-np.clip(y - vessel_row - width, -30, 30)))
        image[:, lo:hi] *= 1.0 - darkening * profile * below
        image[:, lo:hi] += 0.35 * profile * np.exp(-(((y - vessel_row) / width) ** 2))


def add_speckle(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative log-normal speckle (a fast gamma-like model of log-compressed OCT speckle)."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    noise = _blur121(_blur121(noise).T).T  # speckle grains about 2 pixels across
    noise *= np.float32(strength / 0.375)  # 0.375: the standard deviation left after the two blurs
    noise -= np.float32(strength * strength / 2)
    return image * np.exp(noise, out=noise)


def _blur121(a: np.ndarray) -> np.ndarray:
    """A [1, 2, 1] / 4 blur down the rows (edges use their one neighbour)."""
    out = 0.5 * a
    out[1:] += 0.25 * a[:-1]
    out[:-1] += 0.25 * a[1:]
    return out
