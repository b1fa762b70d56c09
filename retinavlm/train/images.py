"""Scans as encoder inputs for a stage: read and fovea-cropped once, augmented per example by seed.

The fovea crop (the expensive part) runs once per scan; augmentation then works on the small square,
seeded by the example's identity, so the same step always sees the same pixels (exact resume, DDP).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from retinavlm.data.augment import AugmentConfig, fovea_center_crop, train_transform
from retinavlm.data.io import read_scan
from retinavlm.data.scan import ScanReadError
from retinavlm.train.config import ConfigError
from retinavlm.train.records import ScanRecord


def augment_config(options: dict[str, Any], size: int) -> AugmentConfig:
    """The stage's `data.augment` mapping as an AugmentConfig; unknown keys name themselves."""
    allowed = {f.name for f in dataclasses.fields(AugmentConfig)} - {"size", "seed"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(f"data.augment.{unknown[0]}: unknown augmentation option; allowed: {', '.join(sorted(allowed))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    return AugmentConfig(size=size, **values)


class ScanImages:
    """Fovea-centred squares in [0, 1] of a list of scans, and their normalised (augmented) tensors."""

    def __init__(self, records: list[ScanRecord], processor: Any, augment: AugmentConfig):
        self.processor = processor
        self.augment = augment
        self.squares: list[np.ndarray] = []
        self.refused: list[str] = []
        self.records: list[ScanRecord] = []
        for record in records:
            try:
                pixels = read_scan(record.image).pixels
            except ScanReadError as exc:
                self.refused.append(str(exc))
                continue
            self.records.append(record)
            self.squares.append(fovea_center_crop(pixels, processor.image_size, processor.crop_fraction))

    def keep(self, indices: list[int]) -> None:
        """Drop every scan not in `indices` (data-efficiency selection)."""
        self.records = [self.records[i] for i in indices]
        self.squares = [self.squares[i] for i in indices]

    def __len__(self) -> int:
        return len(self.squares)

    def tensor(self, index: int, seed: int | None = None) -> torch.Tensor:
        """(1, S, S) encoder input; augmented reproducibly when a seed is given."""
        pixels = self.squares[index]
        if seed is not None:
            transform = train_transform(dataclasses.replace(self.augment, seed=seed))
            pixels = transform(image=pixels)["image"]
        return self.processor.normalize(pixels)

    def batch(self, indices: list[int], seeds: list[int] | None = None) -> torch.Tensor:
        seeds = seeds if seeds is not None else [None] * len(indices)
        return torch.stack([self.tensor(i, s) for i, s in zip(indices, seeds)])
