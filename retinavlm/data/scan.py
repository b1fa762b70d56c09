"""The typed B-scan every reader returns and every consumer (quality gate, datasets, model) takes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from retinavlm.errors import RetinaVLMError


class ScanReadError(RetinaVLMError):
    """A file could not be read as a B-scan. `str()` is one line: the file, then the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass
class Scan:
    """One OCT B-scan.

    pixels: float32 (height, width) in [0, 1], axial depth down the rows.
    pixel_spacing_mm: (axial, lateral) size of a pixel in mm, where the file says.
    bit_depth: bits per sample of the stored image (8, 16, 32 for float sources).
    frame / n_frames: which B-scan of a volume this is (None for single images).
    metadata: header fields with patient identifiers removed.
    colour_saturation: mean chroma (max - min channel, 0..1) of a colour source; 0 for grey ones and
        for grey stored as RGB, so the quality gate can refuse colour photographs without refusing those.
    """

    pixels: np.ndarray
    source: str
    bit_depth: int
    original_mode: str = "L"
    frame: int | None = None
    n_frames: int = 1
    pixel_spacing_mm: tuple[float, float] | None = None
    laterality: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    colour_saturation: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.pixels.shape)  # type: ignore[return-value]

    def to_uint8(self) -> np.ndarray:
        return np.clip(np.rint(self.pixels * 255.0), 0, 255).astype(np.uint8)
