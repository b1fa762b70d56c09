"""Data efficiency: keep fewer training scans by dropping near duplicates in encoder-embedding space,
and give rare and hard scans more of the training examples.

- `random`: a seeded random subset (the baseline of the curve).
- `redundancy`: k-centre greedy on L2-normalised embeddings: start from one scan, repeatedly add the
  scan farthest from everything kept. Near duplicates (a patient's repeat visit, the other eye's mirror
  image) are added last, so they are the ones dropped.
- `rare_weight` > 1: a scan's weight grows with the rarity of its stage in the kept set and with how
  many of its nearest neighbours carry a different stage (a hard, boundary case).
"""

from __future__ import annotations

import numpy as np

from retinavlm.train.config import Selection
from retinavlm.train.features import pooled_features
from retinavlm.train.images import ScanImages

NEIGHBOURS = 5


def k_center_greedy(embeddings: np.ndarray, count: int, seed: int) -> list[int]:
    """Indices of `count` rows chosen so that every row is close to a chosen one (farthest-first)."""
    x = embeddings / (np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-12)
    first = int(np.random.default_rng(seed).integers(len(x)))
    chosen = [first]
    distance = np.linalg.norm(x - x[first], axis=1)
    while len(chosen) < count:
        nxt = int(np.argmax(distance))
        chosen.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(x - x[nxt], axis=1))
    return sorted(chosen)


def scan_weights(embeddings: np.ndarray, labels: list[str], rare_weight: float) -> np.ndarray:
    """1 for a common, easy scan, up to `rare_weight` for the rarest stage or a scan among other stages."""
    if rare_weight == 1.0 or len(labels) < 2:
        return np.ones(len(labels))
    values, counts = np.unique(labels, return_counts=True)
    frequency = dict(zip(values, counts))
    rarity = np.array([1.0 - frequency[label] / counts.max() for label in labels])
    x = embeddings / (np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-12)
    distances = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    k = min(NEIGHBOURS, len(labels) - 1)
    neighbours = np.argsort(distances, axis=1)[:, :k]
    label_array = np.array(labels)
    hardness = (label_array[neighbours] != label_array[:, None]).mean(axis=1)
    return 1.0 + (rare_weight - 1.0) * np.maximum(rarity, hardness)


def select_scans(model, images: ScanImages, selection: Selection, seed: int) -> tuple[list[int], np.ndarray]:
    """Which training scans to keep, and their relative weights (in the kept order)."""
    n = len(images)
    count = max(1, round(selection.keep_fraction * n))
    embeddings = pooled_features(model.encoder, images)
    if selection.method == "random":
        keep = sorted(np.random.default_rng(seed).choice(n, size=count, replace=False).tolist())
    elif selection.method == "redundancy":
        keep = k_center_greedy(embeddings, count, seed)
    else:
        keep = list(range(n))
    weights = scan_weights(embeddings[keep], [str(images.records[i].stage) for i in keep], selection.rare_weight)
    return keep, weights
