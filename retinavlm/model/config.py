"""The model's configuration: one JSON-serialisable dataclass tree that checkpoints store and loading
dispatches on (never on folder names).

The defaults are the tiny CPU model (small ResNet, MLP adapter, a Llama-architecture LLM built from
scratch). The published RetinaVLM is `encoder.name="resnet50"`, `adapter.kind="linear"`,
`llm.path=<local Llama-3-8B-Instruct>`, `llm.quantization="8bit"`; see docs/MODEL.md.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

# One of Llama 3's reserved special tokens: it exists in the real Llama 3 / 3.1 tokenizers as a single
# token with an (unused) embedding row, so the real model needs no vocabulary resize; the toolkit's
# own tokenizer defines the same string. See docs/MODEL.md "Image token".
DEFAULT_IMAGE_TOKEN = "<|reserved_special_token_10|>"

ADAPTER_KINDS = ("linear", "mlp", "resampler")
QUANTIZATIONS = (None, "8bit", "4bit")
DTYPES = ("float32", "bfloat16", "float16")


class ConfigError(ValueError):
    """A model configuration is malformed: unknown keys, wrong types or values out of range."""


@dataclass
class EncoderConfig:
    name: str = "resnet_tiny"
    image_size: int = 192
    weights: str | None = None  # local safetensors file with the encoder's state dict
    freeze: bool = False
    pixel_mean: float = 0.5
    pixel_std: float = 0.5
    # Side of the fovea-centred square crop as a fraction of the scan's shorter side (1: the whole height).
    crop_fraction: float = 1.0


@dataclass
class AdapterConfig:
    kind: str = "mlp"
    num_queries: int = 16  # resampler only: the number of visual tokens it makes
    num_heads: int = 8  # resampler only


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class LLMConfig:
    """Either `path` (a local Hugging Face Llama folder) or `tiny` (built here from the sizes below)."""

    path: str | None = None
    tiny: bool | None = None  # defaults to `path is None`
    quantization: str | None = None
    dtype: str = "float32"  # weights of an unquantized LLM; compute dtype of a quantized one
    lora: LoraSettings | None = None
    # Tiny model sizes (ignored when `path` is set). vocab_size is the tokenizer's training target.
    vocab_size: int = 2048
    hidden_size: int = 256
    intermediate_size: int = 704
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 1024
    rope_theta: float = 10000.0

    def __post_init__(self) -> None:
        if self.tiny is None:
            self.tiny = self.path is None
        if self.tiny == (self.path is not None):
            raise ConfigError("llm: set exactly one of `path` (a local Llama folder) or `tiny: true`")


@dataclass
class RetinaVLMConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    image_token: str = DEFAULT_IMAGE_TOKEN
    seed: int = 0  # initialisation of everything not loaded from a file

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.adapter.kind not in ADAPTER_KINDS:
            raise ConfigError(f"adapter.kind {self.adapter.kind!r} is not one of {', '.join(ADAPTER_KINDS)}")
        if self.llm.quantization not in QUANTIZATIONS:
            raise ConfigError(f"llm.quantization {self.llm.quantization!r} must be null, '8bit' or '4bit'")
        if self.llm.dtype not in DTYPES:
            raise ConfigError(f"llm.dtype {self.llm.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.encoder.image_size <= 0 or self.adapter.num_queries <= 0:
            raise ConfigError("encoder.image_size and adapter.num_queries must be positive")
        if not 0 < self.encoder.crop_fraction <= 1:
            raise ConfigError(f"encoder.crop_fraction must be in (0, 1], got {self.encoder.crop_fraction}")
        if self.encoder.pixel_std <= 0:
            raise ConfigError("encoder.pixel_std must be positive")
        if not self.image_token:
            raise ConfigError("image_token must be a non-empty string")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetinaVLMConfig:
        return _build(cls, data, "config")


def _build(cls: type, data: Any, where: str) -> Any:
    """Construct dataclass `cls` from plain data, refusing unknown keys and wrong types by name."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise ConfigError(f"{where}: must not be null")
    for option in options:
        if dataclasses.is_dataclass(option):
            return _build(option, value, where)
        origin = typing.get_origin(option)
        if origin is list and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option in (int, str, bool) and type(value) is option:
            return value
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ConfigError(f"{where}: expected {names}, got {type(value).__name__} {value!r}")
