"""Fast paths of the VLM that skip work without changing results (docs/PERFORMANCE.md).

- Answer-only loss: the LM head and cross-entropy run only at positions whose next token is an
  answer token (label != -100), in chunks that are recomputed in backward, so the (tokens x vocab)
  logits of a 128k-vocabulary model are never materialised for the prompt and image tokens.
- Greedy decoding over a static KV cache: one preallocated cache and fixed shapes per step, so on
  CUDA the decode step can be compiled (CUDA graphs); the token ids equal plain `generate`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers import PreTrainedModel, StaticCache

IGNORE_INDEX = -100


@dataclass
class FastSettings:
    """Runtime switches (not saved with a checkpoint: they change speed, never the model)."""

    answer_only_loss: bool = True  # forward(labels=...) computes the head and loss at answer tokens only
    loss_chunk_tokens: int = 1024  # answer positions per LM-head chunk: bounds the logits memory
    static_cache_generation: bool = True  # greedy generate runs the static-cache loop below
    compile_decode: bool | None = None  # torch.compile the decode step; None = on CUDA only


def answer_token_losses(
    hidden: torch.Tensor, lm_head: nn.Module, labels: torch.Tensor, chunk_tokens: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of each answer token predicted from the position before it, and its sequence index.

    `hidden` is the decoder output (B, T, D); `labels` (B, T) holds -100 outside answers. Returns
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


class StaticGreedyDecoder:
    """Greedy decoding of left-padded prompt embeddings over a static KV cache.

    Kept on the model and reused across calls, so the cache and a compiled decode step (CUDA graphs)
    survive between reports; the cache length is rounded up to `CACHE_BUCKET` to limit recompiles.
    Returns the new token ids (B, steps) exactly as plain greedy `generate` does: finished rows are
    padded with `pad_id` and decoding stops when every row has stopped.
    """

    CACHE_BUCKET = 64

    def __init__(self, llm: PreTrainedModel, compile_decode: bool):
        self.llm = llm  # the causal LM whose decoder and head run here; LoRA layers, if any, are inside it
        self.cache: StaticCache | None = None
        self.cache_key: tuple | None = None
        self.decode = (
            torch.compile(self._step, mode="reduce-overhead", fullgraph=False) if compile_decode else self._step
        )

    def _step(self, inputs: torch.Tensor, mask: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        out = self.llm.get_decoder()(
            inputs_embeds=inputs, attention_mask=mask, position_ids=position, past_key_values=self.cache, use_cache=True
        )
        return self.llm.get_output_embeddings()(out.last_hidden_state[:, -1]).float()

    def _fresh_cache(self, batch: int, length: int, like: torch.Tensor) -> None:
        key = (batch, length, like.device, like.dtype)
        if self.cache is not None and self.cache_key == key:
            self.cache.reset()
        else:
            self.cache, self.cache_key = StaticCache(config=self.llm.config, max_cache_len=length), key

    @torch.no_grad()
    def __call__(
        self, embeds: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int, stop_ids: list[int], pad_id: int
    ) -> torch.Tensor:
        batch, prompt_length = attention_mask.shape
        device = embeds.device
        length = -(-(prompt_length + max_new_tokens) // self.CACHE_BUCKET) * self.CACHE_BUCKET
        self._fresh_cache(batch, length, embeds)
        # The 2-D mask covers the whole cache from the start (future slots are hidden by causality), so
        # every decode step sees the same shapes.
        mask = torch.ones(batch, length, dtype=torch.long, device=device)
        mask[:, :prompt_length] = attention_mask.to(device)
        positions = (mask[:, :prompt_length].cumsum(-1) - 1).clamp(min=0)
        logits = self._step(embeds, mask, positions)
        position = positions[:, -1:]
        stops = torch.tensor(stop_ids, device=device)
        unfinished = torch.ones(batch, dtype=torch.bool, device=device)
        embed = self.llm.get_input_embeddings()
        tokens = []
        for index in range(max_new_tokens):
            next_tokens = torch.where(
                unfinished, logits.argmax(-1), torch.full_like(logits[:, 0], pad_id, dtype=torch.long)
            )
            tokens.append(next_tokens)
            unfinished &= ~torch.isin(next_tokens, stops)
            if index == max_new_tokens - 1 or not unfinished.any():
                break
            position = position + 1
            logits = self.decode(embed(next_tokens[:, None]), mask, position).clone()
        return torch.stack(tokens, dim=1)
