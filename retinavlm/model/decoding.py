"""Greedy decoding over a static KV cache (docs/PERFORMANCE.md).

One preallocated cache and fixed shapes per step, so on CUDA the decode step can be compiled (CUDA
graphs); the token ids equal plain greedy `generate`'s.
"""

from __future__ import annotations

import inspect

import torch
from transformers import PreTrainedModel, StaticCache


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
        # transformers 5.x renamed the decoder's `past_key_values` argument to `cache`; pass the name it takes.
        decoder_arguments = inspect.signature(llm.get_decoder().forward).parameters
        self.cache_argument = "cache" if "cache" in decoder_arguments else "past_key_values"
        self.decode = (
            torch.compile(self._step, mode="reduce-overhead", fullgraph=False) if compile_decode else self._step
        )

    def _step(self, inputs: torch.Tensor, mask: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        out = self.llm.get_decoder()(
            inputs_embeds=inputs,
            attention_mask=mask,
            position_ids=position,
            use_cache=True,
            **{self.cache_argument: self.cache},
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
