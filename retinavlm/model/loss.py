"""The answer-only loss: cross-entropy at answer tokens only, in chunks (docs/PERFORMANCE.md).

The LM head and cross-entropy run only at positions whose next token is an answer token
(label != IGNORE_INDEX), in chunks that are recomputed in backward, so the (tokens x vocab) logits of a
128k-vocabulary model are never materialised for the prompt and image tokens.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

IGNORE_INDEX = -100  # label value the loss skips (transformers' convention)


def answer_token_losses(
    hidden: torch.Tensor, lm_head: nn.Module, labels: torch.Tensor, chunk_tokens: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of each answer token predicted from the position before it, and its sequence index.

    `hidden` is the decoder output (B, T, D); `labels` (B, T) holds IGNORE_INDEX outside answers. Returns
    float32 losses (N,) and sequence indices (N,) for the N answer tokens, in row-major order.
    """
    where, targets = _answer_targets(labels, hidden.device)
    states, sequence = hidden[:, :-1][where], where.nonzero()[:, 0]
    chunks = [
        _chunk_losses(lm_head, states[i : i + chunk_tokens], targets[i : i + chunk_tokens])
        for i in range(0, states.shape[0], chunk_tokens)
    ]
    losses = torch.cat(chunks) if chunks else states.new_zeros(0, dtype=torch.float32)
    return losses, sequence


def logit_token_losses(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`answer_token_losses` from already computed logits (B, T, V): the same losses and indices."""
    where, targets = _answer_targets(labels, logits.device)
    losses = F.cross_entropy(logits[:, :-1][where].float(), targets, reduction="none")
    return losses, where.nonzero()[:, 0]


def _answer_targets(labels: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the next token is an answer token (B, T-1), and those tokens (N,)."""
    targets = labels[:, 1:].to(device)
    where = targets != IGNORE_INDEX
    return where, targets[where]


def _chunk_losses(lm_head: nn.Module, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if torch.is_grad_enabled() and states.requires_grad:
        # Keep only the chunk's hidden states for backward; its logits are recomputed there.
        return checkpoint(_head_cross_entropy, lm_head, states, targets, use_reentrant=False)
    return _head_cross_entropy(lm_head, states, targets)


def _head_cross_entropy(lm_head: nn.Module, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(lm_head(states).float(), targets, reduction="none")


def sequence_means(losses: torch.Tensor, sequence: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Mean loss per sequence over its answer tokens (0 for a sequence without any), shape (B,)."""
    totals = losses.new_zeros(batch_size).index_add(0, sequence, losses)
    counts = torch.bincount(sequence, minlength=batch_size).clamp(min=1)
    return totals / counts
