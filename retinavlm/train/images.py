"""Scans as encoder inputs for a stage: read and fovea-cropped once, augmented per example by seed.

The fovea crop (the expensive part) runs once per scan; augmentation then works on the small square,
seeded by the example's identity, so the same step always sees the same pixels (exact resume, DDP).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from retinavlm.data import lesion_masks
from retinavlm.data.augment import AugmentConfig, OctTransform, crop_square, encoder_box, train_transform
from retinavlm.data.io import read_scan
from retinavlm.data.scan import ScanReadError
from retinavlm.errors import ConfigError
from retinavlm.train.records import ScanRecord


def augment_config(options: dict[str, Any], size: int) -> AugmentConfig:
    """The stage's `data.augment` mapping as an AugmentConfig; unknown keys name themselves."""
    if options.get("mask_above_retina"):
        raise ConfigError(
            "data.augment.mask_above_retina: not available in model stages: the processor does not mask at "
            "inference, so the model would be trained on inputs unlike the ones it reports on (the scan "
            "classifier's ClassifierConfig.mask_above_retina masks every split)"
        )
    allowed = {f.name for f in dataclasses.fields(AugmentConfig)} - {"size", "seed"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(
            f"data.augment.{unknown[0]}: unknown augmentation option; allowed: {', '.join(sorted(allowed))}"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    return AugmentConfig(size=size, **values)


class ScanImages:
    """The encoder's squares in [0, 1] of a list of scans (as the processor crops), and their normalised
    (augmented) tensors.

    With `masks_from` (a cohort folder with lesion masks) each square keeps its lesion-mask bit field,
    cut and augmented with the pixels; a scan whose mask is missing or unreadable is refused like an
    unreadable scan.
    """

    def __init__(
        self, records: list[ScanRecord], processor: Any, augment: AugmentConfig, masks_from: str | Path | None = None
    ):
        self.processor = processor
        self.augment = augment
        self._transform: OctTransform | None = None  # built once, reseeded per sample
        self.squares: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        self.refused: list[str] = []
        self.records: list[ScanRecord] = []
        for record in records:
            try:
                pixels = np.asarray(read_scan(record.image).pixels, np.float32)
                box = encoder_box(pixels, processor.crop, processor.crop_fraction)
                if masks_from is not None:
                    field = lesion_masks.read_mask(lesion_masks.mask_path(masks_from, record.id), pixels.shape)
                    self.masks.append(lesion_masks.crop_mask(field, box, processor.image_size, lesion_masks.MAX_BITS))
            except (ScanReadError, lesion_masks.LesionMaskError) as exc:
                self.refused.append(str(exc))
                continue
            self.records.append(record)
            self.squares.append(crop_square(pixels, box, processor.image_size))

    def keep(self, indices: list[int]) -> None:
        """Drop every scan not in `indices` (data-efficiency selection)."""
        self.records = [self.records[i] for i in indices]
        self.squares = [self.squares[i] for i in indices]
        self.masks = [self.masks[i] for i in indices] if self.masks else []

    def __len__(self) -> int:
        return len(self.squares)

    def tensor(self, index: int, seed: int | None = None) -> torch.Tensor:
        """(1, S, S) encoder input; augmented reproducibly when a seed is given."""
        return self.sample(index, seed)[0]

    def sample(self, index: int, seed: int | None = None) -> tuple[torch.Tensor, np.ndarray | None]:
        """The encoder input and, when masks were loaded, its (S, S) lesion bits moved with the pixels."""
        pixels = self.squares[index]
        mask = self.masks[index] if self.masks else None
        if seed is not None:
            if self._transform is None:
                self._transform = train_transform(self.augment)
            moved = self._transform.reseed(seed)(image=pixels, **({} if mask is None else {"mask": mask}))
            pixels, mask = moved["image"], moved.get("mask")
        return self.processor.normalize(pixels), mask

    def batch(self, indices: list[int], seeds: list[int] | None = None) -> torch.Tensor:
        seeds = seeds if seeds is not None else [None] * len(indices)
        return torch.stack([self.tensor(i, s) for i, s in zip(indices, seeds)])

    def batch_with_masks(self, indices: list[int], seeds: list[int]) -> tuple[torch.Tensor, np.ndarray]:
        """(B, 1, S, S) inputs and (B, S, S) lesion bit fields; needs masks."""
        if not self.masks:
            raise ValueError("these scans were loaded without lesion masks")
        samples = [self.sample(i, s) for i, s in zip(indices, seeds)]
        return torch.stack([x for x, _ in samples]), np.stack([m for _, m in samples])
