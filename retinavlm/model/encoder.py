"""OCT encoders: single-channel backbones that turn a B-scan into a grid of visual tokens.

Built from transformers' own `ResNetModel` / `ViTModel` rather than timm or torchvision, because the
PyPI torchvision wheel does not import beside the CPU torch 2.13 wheel ("operator torchvision::nms
does not exist"); the architectures are the same. Weights come from a local safetensors file only.

Tokens keep their spatial meaning: (batch, rows * cols, channels) in row-major order, i.e. token
`r * cols + c` is the feature-map cell (r, c). The published implementation reshaped the
channel-major (B, C, H, W) map straight to (B, H*W, C), which interleaves channels and positions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn
from transformers import ResNetConfig, ResNetModel, ViTConfig, ViTModel

from retinavlm.errors import RetinaVLMError


class EncoderConfigError(RetinaVLMError):
    """An encoder name or image size no registered encoder can build."""


class EncoderWeightsError(RetinaVLMError):
    """An encoder weights file is missing, unreadable or does not fit the architecture."""


def feature_map_to_tokens(feature_map: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H*W, C), row-major over the grid."""
    return feature_map.flatten(2).transpose(1, 2)


def pool_tokens(tokens: torch.Tensor) -> torch.Tensor:
    """(B, N, C) -> (B, 2C): the mean and the max over the tokens, a scan-level embedding.

    The max keeps a small finding that lights up one token of many (a focus, a short double-layer sign);
    a mean alone dilutes it by the token count.
    """
    return torch.cat([tokens.mean(1), tokens.amax(1)], dim=-1)


class OCTEncoder(nn.Module):
    """A backbone plus what the rest of the model needs to know: token count, width and grid."""

    def __init__(self, backbone: nn.Module, dim: int, grid: tuple[int, int], has_cls_token: bool):
        super().__init__()
        self.backbone = backbone
        self.dim = dim
        self.grid = grid
        self.has_cls_token = has_cls_token
        # CNNs run channels-last: on the CPU (oneDNN) a stage-0 step of resnet_tiny_s16 at 192 px is 1.3x faster
        # than channel-major (benchmarks/stage0_step.py). The state dict stays contiguous, so that safetensors
        # (which refuses strided tensors) saves it as it would any other model's.
        self.channels_last = not has_cls_token
        if self.channels_last:
            self.backbone.to(memory_format=torch.channels_last)
            self.register_state_dict_post_hook(_contiguous_state)

    @property
    def num_tokens(self) -> int:
        return self.grid[0] * self.grid[1]

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            pixel_values = pixel_values.contiguous(memory_format=torch.channels_last)
        hidden = self.backbone(pixel_values=pixel_values).last_hidden_state
        if self.has_cls_token:
            return hidden[:, 1:]  # ViT patches are already row-major
        return feature_map_to_tokens(hidden)


def _contiguous_state(module: nn.Module, state: dict[str, torch.Tensor], prefix: str, metadata: dict) -> None:
    for key in [k for k in state if k.startswith(prefix)]:
        state[key] = state[key].contiguous()


_ENCODERS: dict[str, Callable[[int], OCTEncoder]] = {}


def register_encoder(name: str) -> Callable:
    def wrap(factory: Callable[[int], OCTEncoder]) -> Callable[[int], OCTEncoder]:
        _ENCODERS[name] = factory
        return factory

    return wrap


def list_encoders() -> list[str]:
    return sorted(_ENCODERS)


def create_encoder(name: str, image_size: int = 192, weights: str | os.PathLike | None = None) -> OCTEncoder:
    """Build a registered encoder for square `image_size` inputs; load `weights` when given."""
    if name not in _ENCODERS:
        raise EncoderConfigError(f"unknown encoder {name!r}; available: {', '.join(list_encoders())}")
    encoder = _ENCODERS[name](image_size)
    if weights is not None:
        load_encoder_weights(encoder, weights)
    return encoder


def load_encoder_weights(encoder: nn.Module, path: str | os.PathLike) -> None:
    """Load a safetensors state dict strictly; a missing file or mismatched keys are one clear error."""
    path = Path(path)
    if not path.is_file():
        raise EncoderWeightsError(f"{path}: encoder weights file not found")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise EncoderWeightsError(f"{path}: not a readable safetensors file ({exc})") from None
    check_state_dict(
        encoder.state_dict(), state, f"{path}: weights do not fit the {type(encoder).__name__}", EncoderWeightsError
    )
    encoder.load_state_dict(state)


def check_state_dict(
    expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], context: str, error: type[Exception]
) -> None:
    """Raise `error` (starting with `context`) unless `state` has exactly the expected keys and shapes."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s) (e.g. {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) (e.g. {unexpected[0]})")
    if wrong:
        k = wrong[0]
        problems.append(
            f"{len(wrong)} shape mismatch(es) (e.g. {k}: {tuple(state[k].shape)} vs {tuple(expected[k].shape)})"
        )
    if problems:
        raise error(f"{context}: {'; '.join(problems)}")


def _resnet(
    image_size: int, embedding_size: int, hidden_sizes: list[int], depths: list[int], layer_type: str
) -> OCTEncoder:
    stride = 4 * 2 ** (len(depths) - 1)  # stem (conv 2 + pool 2), then every stage after the first halves
    if image_size % stride:
        raise EncoderConfigError(f"ResNet encoders need an image size divisible by {stride}, got {image_size}")
    config = ResNetConfig(
        num_channels=1,
        embedding_size=embedding_size,
        hidden_sizes=hidden_sizes,
        depths=depths,
        layer_type=layer_type,
        hidden_act="relu",
    )
    side = image_size // stride
    return OCTEncoder(ResNetModel(config), hidden_sizes[-1], (side, side), has_cls_token=False)


def _vit(
    image_size: int, patch_size: int, hidden_size: int, layers: int, heads: int, intermediate_size: int
) -> OCTEncoder:
    if image_size % patch_size:
        raise EncoderConfigError(
            f"ViT encoders need an image size divisible by the patch size {patch_size}, got {image_size}"
        )
    config = ViTConfig(
        num_channels=1,
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
    )
    side = image_size // patch_size
    return OCTEncoder(ViTModel(config, add_pooling_layer=False), hidden_size, (side, side), has_cls_token=True)


@register_encoder("resnet50")
def resnet50(image_size: int) -> OCTEncoder:
    """The published choice: 192x192 -> 6x6x2048 -> 36 tokens."""
    return _resnet(image_size, 64, [256, 512, 1024, 2048], [3, 4, 6, 3], "bottleneck")


@register_encoder("resnet_tiny")
def resnet_tiny(image_size: int) -> OCTEncoder:
    """ResNet-18 topology at a quarter of its width (16-128 channels): trains on 2 CPU cores in minutes."""
    return _resnet(image_size, 16, [16, 32, 64, 128], [2, 2, 2, 2], "basic")


@register_encoder("resnet_tiny_s16")
def resnet_tiny_s16(image_size: int) -> OCTEncoder:
    """`resnet_tiny` without its last downsampling (16-32-128 channels, output stride 16): 128 px -> 8x8 tokens.

    On a CPU budget this is the better default: a finding a few pixels wide (a focus, a double-layer sign)
    owns a token instead of sharing one with a 32-pixel square, for about the same compute.
    """
    return _resnet(image_size, 16, [16, 32, 128], [2, 2, 2], "basic")


@register_encoder("vit")
def vit_base(image_size: int) -> OCTEncoder:
    """ViT-B/16: 192x192 -> 12x12 = 144 tokens of width 768."""
    return _vit(image_size, 16, 768, 12, 12, 3072)


@register_encoder("vit_tiny")
def vit_tiny(image_size: int) -> OCTEncoder:
    """A 2-layer ViT with 32-pixel patches: 192x192 -> 6x6 tokens, for CPU tests."""
    return _vit(image_size, 32, 64, 2, 4, 128)
