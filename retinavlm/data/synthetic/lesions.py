"""One drawing class per biomarker of DESIGN.md §3, each drawn the way it looks on OCT.

A lesion is placed when it is built (size, position and count drawn from its rng, inside the
central window around the fovea so it survives the 192x192 fovea crop), then `deform` edits the
per-column geometry (lifts, gaps, thinning) and `paint` draws its content into the reflectivity
map, returning the pixels it drew (a mask, used by tests and as a segmentation label).
Sizes are physical (µm) and converted with the grid's pixel spacing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.ndimage import gaussian_filter

from retinavlm.data.synthetic.anatomy import Geometry, bump, plateau

# Greatest linear dimension of a druse per size class (knowledge base: small < 63 µm,
# medium 63–125 µm, large > 125 µm), with its height and how many a scan shows.
DRUSEN = {
    "small": {"width_um": (48, 62), "height_um": (35, 50), "count": (5, 10)},
    "medium": {"width_um": (75, 120), "height_um": (50, 75), "count": (3, 6)},
    "large": {"width_um": (250, 650), "height_um": (75, 130), "count": (1, 3)},
}
# Pigment epithelial detachments per type: width, height, reflectivity of the content.
PED = {
    "drusenoid": {"width_um": (900, 1600), "height_um": (90, 170), "fill": 0.40},
    "serous": {"width_um": (800, 1500), "height_um": (120, 260), "fill": 0.02},
    "fibrovascular": {"width_um": (900, 1700), "height_um": (80, 170), "fill": 0.30},
}


class Lesion:
    """Base class: subclasses set `biomarker` and override `deform` and `paint`."""

    biomarker = ""

    def __init__(
        self,
        attributes: Mapping[str, str],
        geometry: Geometry,
        window: tuple[float, float],
        rng: np.random.Generator,
        placed: Mapping[str, Lesion],
    ):
        self.attributes = dict(attributes)
        self.rng = rng
        self.window = window
        self.cols = geometry.grid.cols
        self.grid = geometry.grid
        self.place(geometry, placed)

    def place(self, geometry: Geometry, placed: Mapping[str, Lesion]) -> None:
        """Draw size and position; called once from __init__."""

    def deform(self, geometry: Geometry) -> None:
        """Change layer positions or band strengths before the reflectivity map is drawn."""

    def paint(self, image: np.ndarray, geometry: Geometry) -> np.ndarray:
        """Draw content into `image` in place; return the boolean mask of pixels drawn."""
        raise NotImplementedError

    def centre(self, halfwidth: float) -> float:
        """A random column such that [centre - halfwidth, centre + halfwidth] stays in the window."""
        lo, hi = self.window[0] + halfwidth, self.window[1] - halfwidth
        return float(self.rng.uniform(lo, hi)) if hi > lo else (self.window[0] + self.window[1]) / 2

    def span(self, width_um: tuple[float, float]) -> tuple[float, float]:
        half = self.grid.cols_for(self.rng.uniform(*width_um)) / 2
        centre = self.centre(half)
        return centre - half, centre + half


def band_mask(rows: int, top: np.ndarray, bottom: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Pixels with top <= row < bottom in the selected columns."""
    y = np.arange(rows, dtype=np.float32)[:, None]
    return (y >= top) & (y < bottom) & columns[None, :]


def ellipse(shape: tuple[int, int], row: float, col: float, axial: float, lateral: float) -> np.ndarray:
    """Boolean mask of a filled ellipse, evaluated only in its bounding box."""
    mask = np.zeros(shape, bool)
    r0, r1 = max(int(row - axial), 0), min(int(row + axial) + 2, shape[0])
    c0, c1 = max(int(col - lateral), 0), min(int(col + lateral) + 2, shape[1])
    y = np.arange(r0, r1, dtype=np.float32)[:, None]
    x = np.arange(c0, c1, dtype=np.float32)[None, :]
    mask[r0:r1, c0:c1] = ((x - col) / lateral) ** 2 + ((y - row) / axial) ** 2 <= 1.0
    return mask


def texture(shape: tuple[int, int], rng: np.random.Generator, sigma: tuple[float, float]) -> np.ndarray:
    """Smooth zero-mean, unit-variance noise: heterogeneous lesion content."""
    field = gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma)
    return field / (field.std() + 1e-6)


def compress(geometry: Geometry, lift: np.ndarray, fraction: float) -> None:
    """The outer nuclear layer gives way over a sub-RPE elevation, so the inner surface lifts less."""
    onl = geometry.thickness["onl"]
    geometry.thickness["onl"] = np.maximum(onl - fraction * lift, 0.3 * onl)


class Drusen(Lesion):
    """RPE bumps of the given size class over medium-reflective sub-RPE deposits."""

    biomarker = "drusen"

    def place(self, geometry, placed):
        spec = DRUSEN[self.attributes.get("size", "medium")]
        self.profile = np.zeros(self.cols, np.float32)
        for _ in range(int(self.rng.integers(spec["count"][0], spec["count"][1] + 1))):
            half = self.grid.cols_for(self.rng.uniform(*spec["width_um"])) / 2
            height = self.grid.rows_for(self.rng.uniform(*spec["height_um"]))
            self.profile = np.maximum(self.profile, bump(self.cols, self.centre(half), half, height, power=2.0))

    def deform(self, geometry):
        geometry.rpe_lift += self.profile
        compress(geometry, self.profile, 0.6)

    def paint(self, image, geometry):
        tops = geometry.boundaries()
        return band_mask(image.shape[0], tops["rpe"], tops["bruch"], self.profile > 1.0)


class PigmentEpithelialDetachment(Lesion):
    """A dome of RPE lifted off Bruch's membrane; content reflectivity depends on the PED type."""

    biomarker = "ped"

    def place(self, geometry, placed):
        self.kind = self.attributes.get("type", "drusenoid")
        spec = PED[self.kind]
        half = self.grid.cols_for(self.rng.uniform(*spec["width_um"])) / 2
        height = self.grid.rows_for(self.rng.uniform(*spec["height_um"]))
        power = {"serous": 1.0, "drusenoid": 2.0, "fibrovascular": 1.6}[self.kind]
        self.profile = bump(self.cols, self.centre(half), half, height, power)
        if self.kind != "serous":  # drusenoid and fibrovascular domes are lumpy, serous ones smooth
            wobble = gaussian_filter(self.rng.standard_normal(self.cols).astype(np.float32), 6.0)
            self.profile *= 1.0 + 0.3 * wobble / (np.abs(wobble).max() + 1e-6) * (self.profile > 0)
        self.fill = spec["fill"]

    def deform(self, geometry):
        inside = self.profile > 0.5
        geometry.rpe_lift += self.profile
        geometry.sub_rpe_fill[inside] = self.fill
        compress(geometry, self.profile, 0.3)

    def paint(self, image, geometry):
        tops = geometry.boundaries()
        mask = band_mask(image.shape[0], tops["rpe"] + geometry.rpe_thickness, tops["bruch"], self.profile > 0.5)
        if self.kind == "fibrovascular":  # heterogeneous, layered neovascular tissue
            image[mask] += 0.22 * texture(image.shape, self.rng, (1.5, 4.0))[mask]
        return mask


class RpeIrregularity(Lesion):
    """Undulating, shallowly elevated RPE with uneven band brightness."""

    biomarker = "rpe_irregularity"

    def place(self, geometry, placed):
        self.start, self.stop = self.span((450, 1100))
        waves = gaussian_filter(self.rng.standard_normal(self.cols).astype(np.float32), 2.5)
        waves = np.abs(waves) / (np.abs(waves).max() + 1e-6)
        self.lift = self.grid.rows_for(self.rng.uniform(30, 50)) * waves * plateau(self.cols, self.start, self.stop, 3)
        clumps = gaussian_filter(self.rng.standard_normal(self.cols).astype(np.float32), 1.5)
        self.strength = 1.0 + 0.5 * clumps / (np.abs(clumps).max() + 1e-6) * plateau(
            self.cols, self.start, self.stop, 3
        )

    def deform(self, geometry):
        geometry.rpe_lift += self.lift
        geometry.rpe_strength *= self.strength

    def paint(self, image, geometry):
        tops = geometry.boundaries()
        return band_mask(
            image.shape[0], tops["rpe"] - 2, tops["bruch"] + 2, plateau(self.cols, self.start, self.stop, 0) > 0
        )


class DoubleLayerSign(Lesion):
    """RPE lifted shallowly and flatly off Bruch's: two bright lines with a thin grey gap."""

    biomarker = "double_layer_sign"

    def place(self, geometry, placed):
        self.start, self.stop = self.span((600, 1300))
        height = self.grid.rows_for(self.rng.uniform(30, 48))
        self.profile = height * plateau(self.cols, self.start, self.stop, 6)

    def deform(self, geometry):
        geometry.rpe_lift += self.profile
        geometry.sub_rpe_fill[self.profile > 0.5] = 0.16
        compress(geometry, self.profile, 0.5)

    def paint(self, image, geometry):
        tops = geometry.boundaries()
        return band_mask(image.shape[0], tops["rpe"] + geometry.rpe_thickness, tops["bruch"], self.profile > 0.5)


class RpeAtrophy(Lesion):
    """RPE loss with collapse of the photoreceptor bands and thinning of the outer nuclear layer."""

    biomarker = "rpe_atrophy"

    def place(self, geometry, placed):
        self.start, self.stop = self.span((350, 1100))
        self.loss = plateau(self.cols, self.start, self.stop, 3)

    def deform(self, geometry):
        geometry.rpe_strength *= 1.0 - 0.85 * self.loss
        geometry.photoreceptor_strength *= 1.0 - 0.9 * self.loss
        for name, keep in (("os", 0.1), ("is", 0.15), ("onl", 0.45)):
            geometry.thickness[name] *= 1.0 - (1.0 - keep) * self.loss

    def paint(self, image, geometry):
        tops = geometry.boundaries()
        return band_mask(image.shape[0], tops["rpe"], tops["bruch"] + 1, self.loss > 0.5)


class Hypertransmission(Lesion):
    """Bright columns of signal into the choroid where the RPE no longer absorbs it."""

    biomarker = "hypertransmission"

    def place(self, geometry, placed):
        atrophy = placed.get("rpe_atrophy")
        if isinstance(atrophy, RpeAtrophy):  # the defect lies under the atrophic RPE
            self.start, self.stop = atrophy.start, atrophy.stop
        else:
            self.start, self.stop = self.span((350, 1100))
        self.column = plateau(self.cols, self.start, self.stop, 2)

    def deform(self, geometry):
        geometry.choroid_gain *= 1.0 + 1.8 * self.column
        geometry.rpe_strength *= 1.0 - 0.5 * self.column

    def paint(self, image, geometry):
        bruch = geometry.bruch
        return band_mask(image.shape[0], bruch + 3, bruch + geometry.choroid_thickness, self.column > 0.5)


class SubretinalMaterial(Lesion):
    """Hyperreflective material stacked on the RPE under the retina; subclasses set its look."""

    width_um = (400, 1000)
    height_um = (45, 130)
    brightness = 0.62
    heterogeneity = 0.15
    shadow = 0.3

    def place(self, geometry, placed):
        half = self.grid.cols_for(self.rng.uniform(*self.width_um)) / 2
        height = self.grid.rows_for(self.rng.uniform(*self.height_um))
        self.profile = bump(self.cols, self.centre(half), half, height, power=1.5)

    def deform(self, geometry):
        self.below = geometry.subretinal_material.copy()  # material already stacked there
        geometry.subretinal += self.profile
        geometry.subretinal_material += self.profile
        geometry.choroid_gain *= 1.0 - self.shadow * np.clip(self.profile, 0, 1)

    def paint(self, image, geometry):
        tops = geometry.boundaries()
        bottom = tops["rpe"] - self.below
        mask = band_mask(image.shape[0], bottom - self.profile, bottom, self.profile > 0.5)
        content = self.brightness + self.heterogeneity * texture(image.shape, self.rng, (1.2, 2.5))
        image[mask] = content[mask]
        return mask


class Shrm(SubretinalMaterial):
    """Subretinal hyperreflective material: heterogeneous, moderately bright, above the RPE."""

    biomarker = "shrm"


class Fibrosis(SubretinalMaterial):
    """A thick, very bright, compact subretinal scar that shadows the choroid beneath."""

    biomarker = "fibrosis"
    width_um = (700, 1600)
    height_um = (70, 190)
    brightness = 0.9
    heterogeneity = 0.06
    shadow = 0.65

    def deform(self, geometry):
        super().deform(geometry)
        geometry.rpe_strength *= 1.0 - 0.5 * np.clip(self.profile, 0, 1)


class SubretinalFluid(Lesion):
    """A dark, homogeneous pocket lifting the neurosensory retina off the RPE."""

    biomarker = "srf"

    def place(self, geometry, placed):
        half = self.grid.cols_for(self.rng.uniform(600, 1600)) / 2
        height = self.grid.rows_for(self.rng.uniform(60, 200))
        self.profile = bump(self.cols, self.centre(half), half, height, power=1.6)

    def deform(self, geometry):
        geometry.subretinal += self.profile

    def paint(self, image, geometry):
        top = geometry.boundaries()["retina_bottom"]
        return band_mask(image.shape[0], top, top + self.profile, self.profile > 1.0)


class IntraretinalFluid(Lesion):
    """Dark, round cystoid spaces in the inner nuclear, outer plexiform and outer nuclear layers."""

    biomarker = "irf"
    host_layers = ("inl", "opl", "opl", "onl")

    def place(self, geometry, placed):
        self.cysts = []
        for _ in range(int(self.rng.integers(1, 6))):
            half = self.grid.cols_for(self.rng.uniform(80, 220))
            axial = self.grid.rows_for(self.rng.uniform(30, 75))
            layer = self.host_layers[int(self.rng.integers(len(self.host_layers)))]
            self.cysts.append((self.centre(half), half, axial, layer))

    def deform(self, geometry):
        for col, half, axial, layer in self.cysts:
            geometry.thickness[layer] += bump(self.cols, col, half, 1.6 * axial, power=1.0)

    def paint(self, image, geometry):
        tops = geometry.boundaries()
        mask = np.zeros(image.shape, bool)
        for col, half, axial, layer in self.cysts:
            c = int(round(col))
            row = tops[layer][c] + geometry.thickness[layer][c] / 2
            mask |= ellipse(image.shape, row, col, axial, half)
        image[mask] = 0.0
        return mask


class HyperreflectiveFoci(Lesion):
    """Small bright dots in the outer and inner nuclear layers, each with a faint shadow."""

    biomarker = "hyperreflective_foci"
    host_layers = ("onl", "onl", "opl", "inl")

    def place(self, geometry, placed):
        self.foci = []
        for _ in range(int(self.rng.integers(3, 9))):
            radius = self.grid.cols_for(self.rng.uniform(26, 40))
            layer = self.host_layers[int(self.rng.integers(len(self.host_layers)))]
            self.foci.append((self.centre(radius), radius, layer, float(self.rng.uniform(0.2, 0.8))))

    def paint(self, image, geometry):
        tops = geometry.boundaries()
        mask = np.zeros(image.shape, bool)
        for col, radius, layer, depth in self.foci:
            c = int(round(col))
            row = tops[layer][c] + depth * geometry.thickness[layer][c]
            mask |= ellipse(image.shape, row, col, radius * 1.1, radius)
            lo, hi = max(int(col - radius), 0), int(col + radius) + 1
            image[int(row + radius) + 1 :, lo:hi] *= 0.75  # the dot's faint shadow
        image[mask] = 0.95
        return mask


# Every biomarker the renderer can draw, in drawing order: sub-RPE changes first, then the
# RPE itself, material under the retina, fluid on top of that, and intraretinal changes last.
LESIONS: dict[str, type[Lesion]] = {
    cls.biomarker: cls
    for cls in (
        Drusen,
        PigmentEpithelialDetachment,
        RpeIrregularity,
        DoubleLayerSign,
        RpeAtrophy,
        Hypertransmission,
        Fibrosis,
        Shrm,
        SubretinalFluid,
        IntraretinalFluid,
        HyperreflectiveFoci,
    )
}
