"""Frozen-encoder feature cache: the encoder runs once per scan and augmented view, not once per step.

View 0 of a scan is the plain crop; views 1.. are seeded augmentations. The cache file is keyed by a
hash of the encoder's weights, the scans and the augmentation, so a changed encoder or cohort can
never be served stale features.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load, save

from retinavlm.atomic import write_bytes
from retinavlm.model.encoder import pool_tokens
from retinavlm.train.images import ScanImages


def encoder_fingerprint(encoder: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def view_seed(seed: int, scan_id: str, view: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{scan_id}/{view}".encode()).digest()[:4], "little")


@torch.no_grad()
def cached_features(
    model, images: ScanImages, views: int, seed: int, cache_dir: Path, batch_size: int = 32, progress=None
) -> torch.Tensor:
    """(scans, views, tokens, dim) encoder outputs, read from `cache_dir` or computed and stored there."""
    key = {
        "encoder": encoder_fingerprint(model.encoder),
        "scans": [r.id for r in images.records],
        "views": views,
        "seed": seed,
        "augment": asdict(images.augment),
    }
    name = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = cache_dir / f"features-{name}.safetensors"
    if path.is_file():
        return load(path.read_bytes())["features"]
    model.encoder.eval()
    jobs = [(i, v) for i in range(len(images)) for v in range(views)]
    chunks = []
    for start in range(0, len(jobs), batch_size):
        part = jobs[start : start + batch_size]
        pixels = torch.stack(
            [images.tensor(i, None if v == 0 else view_seed(seed, images.records[i].id, v)) for i, v in part]
        )
        chunks.append(model.encode_images(pixels).float().cpu())
        if progress is not None:
            progress(len(part))
    features = torch.cat(chunks).reshape(len(images), views, *chunks[0].shape[1:])
    write_bytes(path, save({"features": features.contiguous()}))
    return features


@torch.no_grad()
def pooled_features(encoder: torch.nn.Module, images: ScanImages, batch_size: int = 64) -> np.ndarray:
    """(scans, 2 * dim) pooled tokens (`pool_tokens`) of each plain (unaugmented) scan: the scan's embedding."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    chunks = [
        pool_tokens(encoder(images.batch(list(range(s, min(s + batch_size, len(images))))).to(device))).float().cpu()
        for s in range(0, len(images), batch_size)
    ]
    encoder.train(was_training)
    return torch.cat(chunks).numpy()
