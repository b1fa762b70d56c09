"""Stage 0's encoder objectives: modules that hold the encoder and the heads one objective needs.

Each is called as `objective(views, targets) -> loss` (through the accelerate/DDP wrapper, so gradients
are synchronised) and trained by the shared stage lifecycle (`retinavlm.train.trainer.StageTrainer`).

- `SupervisedWarmUp`: biomarker presence, stage and referral from the scan's labels; unknown labels are
  masked out of the loss, never read as absent. Optionally a biomarker head on every token (`mil`,
  `masks`), and a condition head (no other condition, or a non-AMD condition such as DME) with
  `ssl.condition_head`.
- `SimCLR`: NT-Xent on two augmented views (Chen et al. 2020).
- `MaskedReconstruction`: MAE-style, each token predicts the pixels of its blanked grid cell.
- `BYOL`: an online network with a predictor regresses an EMA target network's projection of the other
  view (Grill et al. 2020); no negatives.
- `BarlowTwins`: the cross-correlation of the two views' projections is pushed to the identity
  (Zbontar et al. 2021); no negatives, no target network.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from retinavlm.model.encoder import OCTEncoder, pool_tokens
from retinavlm.train.config import SSL

UNKNOWN = -100  # class target of an unknown stage, referral or condition: cross-entropy's ignore_index


class EncoderObjective(nn.Module):
    """The encoder plus heads; `views` is how many augmented views of each scan `forward` takes."""

    views = 1

    def __init__(self, encoder: OCTEncoder):
        super().__init__()
        self.encoder = encoder

    def after_step(self, step: int, total_steps: int) -> None:
        """Called after each optimizer step (BYOL moves its target network here)."""


class SupervisedWarmUp(EncoderObjective):
    """Scan-level heads on the pooled tokens; `token_head` adds a biomarker head on every token.

    With `conditions` > 0 a condition head is added: in a real cohort a diagnosis such as DME often leaves
    the AMD stage unknown and shares its referral and fluid with active wet AMD, so without it nothing in
    the encoder's objective tells the two apart."""

    def __init__(
        self,
        encoder: OCTEncoder,
        sizes: tuple[int, int, int],
        token_head: str,
        positive_weight: torch.Tensor,
        token_positive_weight: torch.Tensor | None = None,
        conditions: int = 0,
    ):
        super().__init__(encoder)
        self.sizes = sizes
        self.token_head_kind = token_head
        self.head = nn.Linear(2 * encoder.dim, sum(sizes))
        if token_head != "none":
            self.token_head = nn.Linear(encoder.dim, sizes[0])
        # Created last, and only when asked for, so the other heads' initialisation does not depend on it.
        self.condition_head = nn.Linear(2 * encoder.dim, conditions) if conditions else None
        self.register_buffer("positive_weight", positive_weight, persistent=False)
        self.register_buffer("token_positive_weight", token_positive_weight, persistent=False)

    def scan_logits(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, nb + ns + nr [+ nc]): the scan-level heads' biomarker, stage, referral (and condition) logits."""
        return self._scan_logits(pool_tokens(self.encoder(pixels)))

    def _scan_logits(self, pooled: torch.Tensor) -> torch.Tensor:
        logits = self.head(pooled)
        if self.condition_head is not None:
            logits = torch.cat([logits, self.condition_head(pooled)], dim=1)
        return logits.float()

    def forward(self, views: list[torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """`targets`: biomarkers (B, nb) 0/1 with `known` (B, nb); stage, referral, condition (B,) with UNKNOWN."""
        tokens = self.encoder(views[0])
        logits = self._scan_logits(pool_tokens(tokens))
        nb, ns, nr = self.sizes
        known = targets["known"]
        loss = (
            masked_bce(logits[:, :nb], targets["biomarkers"], known, self.positive_weight)
            + known_cross_entropy(logits[:, nb : nb + ns], targets["stage"])
            + known_cross_entropy(logits[:, nb + ns : nb + ns + nr], targets["referral"])
        )
        if self.condition_head is not None:
            loss = loss + known_cross_entropy(logits[:, nb + ns + nr :], targets["condition"])
        if self.token_head_kind == "none":
            return loss
        token_logits = self.token_head(tokens).float()
        # A soft maximum over the tokens (log-mean-exp): the scan has the finding where its strongest token sees it.
        strongest = torch.logsumexp(token_logits, dim=1) - math.log(tokens.shape[1])
        loss = loss + masked_bce(strongest, targets["biomarkers"], known, self.positive_weight)
        if self.token_head_kind == "masks":
            loss = loss + masked_bce(
                token_logits,
                targets["token_biomarkers"],
                known.unsqueeze(1).expand_as(token_logits),
                self.token_positive_weight,
            )
        return loss


def masked_bce(
    logits: torch.Tensor, targets: torch.Tensor, known: torch.Tensor, pos_weight: torch.Tensor | None
) -> torch.Tensor:
    """Binary cross-entropy averaged over the known entries only (0 when none is known).

    Written as the weighted mean rescaled, so that with every entry known it is bit for bit the plain mean.
    """
    mean = F.binary_cross_entropy_with_logits(logits, targets, weight=known, pos_weight=pos_weight)
    return mean * (known.numel() / known.sum().clamp(min=1))


def known_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the rows whose class is known (0 when none is)."""
    losses = F.cross_entropy(logits, targets, ignore_index=UNKNOWN, reduction="sum")
    return losses / (targets != UNKNOWN).sum().clamp(min=1)


class SimCLR(EncoderObjective):
    views = 2

    def __init__(self, encoder: OCTEncoder, projection_dim: int, temperature: float):
        super().__init__(encoder)
        dim = encoder.dim
        self.head = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, projection_dim))
        self.temperature = temperature

    def forward(self, views: list[torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        z = F.normalize(self.head(pool_tokens(self.encoder(torch.cat(views)))).float(), dim=1)
        return nt_xent(z, self.temperature)


def nt_xent(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss: row i of the first half and row i of the second are the positive pair."""
    n = z.shape[0] // 2
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(similarity, targets)


class MaskedReconstruction(EncoderObjective):
    """MAE on the encoder's token grid (the ViT's patches and the CNN's cells alike)."""

    def __init__(self, encoder: OCTEncoder, image_size: int, mask_ratio: float):
        super().__init__(encoder)
        cell = image_size // encoder.grid[1]
        self.head = nn.Linear(encoder.dim, cell * cell)
        self.mask_ratio = mask_ratio

    def forward(self, views: list[torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """`targets["mask"]`: (B, cells) bool, the cells to blank (drawn by the caller from a seed)."""
        pixels, mask = views[0], targets["mask"]
        rows, cols = self.encoder.grid
        cell = pixels.shape[-1] // cols
        cells = pixels.unfold(2, cell, cell).unfold(3, cell, cell).reshape(pixels.shape[0], rows * cols, cell * cell)
        blanked = torch.where(mask.unsqueeze(-1), torch.zeros_like(cells), cells)
        image = blanked.reshape(pixels.shape[0], rows, cols, cell, cell).permute(0, 1, 3, 2, 4).reshape_as(pixels)
        predicted = self.head(self.encoder(image)).float()
        return ((predicted - cells) ** 2).mean(-1)[mask].mean()


def mlp(width_in: int, hidden: int, width_out: int) -> nn.Sequential:
    """The projector/predictor shape of BYOL and Barlow Twins: linear, batch norm, ReLU, linear."""
    return nn.Sequential(nn.Linear(width_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, width_out))


class BYOL(EncoderObjective):
    """Online encoder + projector + predictor; the target (encoder + projector) is their moving average.

    The target's weights are buffers, not parameters: the optimizer never sees them, and the resume
    state (which keeps every buffer) restores them exactly. Its momentum rises from `momentum` to 1
    over the run on a cosine (BYOL's schedule).
    """

    views = 2

    def __init__(self, encoder: OCTEncoder, projection_dim: int, hidden_dim: int, momentum: float):
        super().__init__(encoder)
        self.projector = mlp(2 * encoder.dim, hidden_dim, projection_dim)
        self.predictor = mlp(projection_dim, hidden_dim, projection_dim)
        self.base_momentum = momentum
        self.target = nn.ModuleDict({"encoder": copy.deepcopy(encoder), "projector": copy.deepcopy(self.projector)})
        for module in self.target.modules():
            for name, param in list(module.named_parameters(recurse=False)):
                delattr(module, name)
                module.register_buffer(name, param.detach().clone())
        self.moving = [n for n, _ in self.named_parameters() if n.split(".", 1)[0] in ("encoder", "projector")]

    def forward(self, views: list[torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        both = torch.cat(views)
        online = self.predictor(self.projector(pool_tokens(self.encoder(both)))).float()
        with torch.no_grad():
            target = self.target["projector"](pool_tokens(self.target["encoder"](both))).float()
        n = views[0].shape[0]
        # Each view's prediction regresses the other view's target projection (the symmetrised loss).
        swapped = torch.cat([target[n:], target[:n]])
        return (2 - 2 * F.cosine_similarity(online, swapped, dim=-1)).mean() * 2

    def momentum(self, step: int, total_steps: int) -> float:
        return 1 - (1 - self.base_momentum) * (math.cos(math.pi * step / max(1, total_steps)) + 1) / 2

    @torch.no_grad()
    def after_step(self, step: int, total_steps: int) -> None:
        tau = self.momentum(step, total_steps)
        params = dict(self.named_parameters())
        for name in self.moving:
            self.target.get_buffer(name).lerp_(params[name].detach(), 1 - tau)


class BarlowTwins(EncoderObjective):
    """Cross-correlation of the two views' batch-standardised projections; diagonal to 1, the rest to 0."""

    views = 2

    def __init__(self, encoder: OCTEncoder, projection_dim: int, hidden_dim: int, redundancy_weight: float):
        super().__init__(encoder)
        self.projector = mlp(2 * encoder.dim, hidden_dim, projection_dim)
        self.redundancy_weight = redundancy_weight

    def forward(self, views: list[torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        z = self.projector(pool_tokens(self.encoder(torch.cat(views)))).float()
        return barlow_twins_loss(*z.chunk(2), self.redundancy_weight)


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, redundancy_weight: float) -> torch.Tensor:
    """sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2, C the views' cross-correlation over the batch."""
    n = z1.shape[0]
    z1 = (z1 - z1.mean(0)) / (z1.std(0) + 1e-6)
    z2 = (z2 - z2.mean(0)) / (z2.std(0) + 1e-6)
    c = z1.T @ z2 / n
    on_diagonal = (torch.diagonal(c) - 1).pow(2).sum()
    off_diagonal = c.pow(2).sum() - torch.diagonal(c).pow(2).sum()
    return on_diagonal + redundancy_weight * off_diagonal


def build_objective(
    ssl: SSL,
    encoder: OCTEncoder,
    image_size: int,
    sizes: tuple[int, int, int],
    positive_weight: torch.Tensor | None = None,
    token_positive_weight: torch.Tensor | None = None,
    conditions: int = 0,
) -> EncoderObjective:
    """The objective `ssl.method` names, with its settings from the stage's `ssl` block (`conditions`: classes
    of the supervised warm-up's condition head, 0 for none)."""
    if ssl.method == "simclr":
        return SimCLR(encoder, ssl.projection_dim, ssl.temperature)
    if ssl.method == "mae":
        return MaskedReconstruction(encoder, image_size, ssl.mask_ratio)
    if ssl.method == "byol":
        return BYOL(encoder, ssl.projection_dim, ssl.hidden_dim, ssl.momentum)
    if ssl.method == "barlow_twins":
        return BarlowTwins(encoder, ssl.projection_dim, ssl.hidden_dim, ssl.redundancy_weight)
    return SupervisedWarmUp(encoder, sizes, ssl.token_head, positive_weight, token_positive_weight, conditions)
