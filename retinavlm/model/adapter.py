"""Projection adapters: encoder tokens (B, N, encoder_dim) -> LLM embeddings (B, M, llm_dim).

`linear` is the published bridge, `mlp` the LLaVA-1.5 one (Linear-GELU-Linear), `resampler` a set of
learned queries that cross-attend to the encoder tokens, so M (the visual token count) is chosen
freely. `linear` and `mlp` may first average-pool the encoder's token grid (`pool`), so M = N / pool².
Adapters always stay in full precision: they are small and always trained.
"""

from __future__ import annotations

import torch
from torch import nn

from retinavlm.model.config import AdapterConfig


def pool_grid(tokens: torch.Tensor, grid: tuple[int, int], pool: int) -> torch.Tensor:
    """(B, H*W, C) row-major tokens -> (B, H*W / pool², C): the mean of each pool x pool block of the grid."""
    if pool == 1:
        return tokens
    height, width = grid
    feature_map = tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], height, width)
    return nn.functional.avg_pool2d(feature_map, pool).flatten(2).transpose(1, 2)


class LinearAdapter(nn.Module):
    def __init__(self, encoder_dim: int, llm_dim: int, grid: tuple[int, int] = (0, 0), pool: int = 1):
        super().__init__()
        self.grid, self.pool = grid, pool
        self.proj = nn.Linear(encoder_dim, llm_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.proj(pool_grid(tokens, self.grid, self.pool))


class MLPAdapter(nn.Module):
    def __init__(self, encoder_dim: int, llm_dim: int, grid: tuple[int, int] = (0, 0), pool: int = 1):
        super().__init__()
        self.grid, self.pool = grid, pool
        self.fc1 = nn.Linear(encoder_dim, llm_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(llm_dim, llm_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(pool_grid(tokens, self.grid, self.pool))))


class ResamplerAdapter(nn.Module):
    """Learned queries read the encoder grid through one cross-attention block (Perceiver-style).

    The encoder tokens get learned position embeddings, so the queries can tell where a finding is.
    """

    def __init__(self, encoder_dim: int, llm_dim: int, num_encoder_tokens: int, num_queries: int, num_heads: int):
        super().__init__()
        if llm_dim % num_heads:
            raise ValueError(f"resampler: LLM width {llm_dim} is not divisible by adapter.num_heads={num_heads}")
        self.kv_proj = nn.Linear(encoder_dim, llm_dim)
        self.position = nn.Parameter(torch.randn(num_encoder_tokens, llm_dim) * 0.02)
        self.queries = nn.Parameter(torch.randn(num_queries, llm_dim) * 0.02)
        self.norm_kv = nn.LayerNorm(llm_dim)
        self.norm_q = nn.LayerNorm(llm_dim)
        self.attn = nn.MultiheadAttention(llm_dim, num_heads, batch_first=True)
        self.norm_ff = nn.LayerNorm(llm_dim)
        self.ff = MLPAdapter(llm_dim, llm_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        kv = self.norm_kv(self.kv_proj(tokens) + self.position)
        queries = self.norm_q(self.queries).unsqueeze(0).expand(tokens.shape[0], -1, -1)
        out, _ = self.attn(queries, kv, kv, need_weights=False)
        out = out + queries
        return out + self.ff(self.norm_ff(out))


def create_adapter(config: AdapterConfig, encoder_dim: int, llm_dim: int, grid: tuple[int, int]) -> nn.Module:
    """The adapter for an encoder with a `grid` of tokens; a grid that `pool` does not divide is refused."""
    if grid[0] % config.pool or grid[1] % config.pool:
        raise ValueError(f"adapter.pool={config.pool} does not divide the encoder's {grid[0]}x{grid[1]} token grid")
    if config.kind == "linear":
        return LinearAdapter(encoder_dim, llm_dim, grid, config.pool)
    if config.kind == "mlp":
        return MLPAdapter(encoder_dim, llm_dim, grid, config.pool)
    if config.kind == "resampler":
        return ResamplerAdapter(encoder_dim, llm_dim, grid[0] * grid[1], config.num_queries, config.num_heads)
    raise ValueError(f"unknown adapter kind {config.kind!r}")


def num_visual_tokens(config: AdapterConfig, grid: tuple[int, int]) -> int:
    """How many LLM positions one image takes after the adapter."""
    if config.kind == "resampler":
        return config.num_queries
    return (grid[0] // config.pool) * (grid[1] // config.pool)
