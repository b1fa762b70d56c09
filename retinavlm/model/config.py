"""The model's configuration: one JSON-serialisable dataclass tree that checkpoints store and loading
dispatches on (never on folder names).

The defaults are the tiny CPU model (small ResNet, MLP adapter, a Llama-architecture LLM built from
scratch). The published RetinaVLM is `encoder.name="resnet50"`, `adapter.kind="linear"`,
`llm.path=<local Llama-3-8B-Instruct>`, `llm.quantization="8bit"`; see docs/MODEL.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from retinavlm import schema
from retinavlm.errors import ConfigError

# One of Llama 3's reserved special tokens: it exists in the real Llama 3 / 3.1 tokenizers as a single
# token with an (unused) embedding row, so the real model needs no vocabulary resize; the toolkit's
# own tokenizer defines the same string. See docs/MODEL.md "Image token".
DEFAULT_IMAGE_TOKEN = "<|reserved_special_token_10|>"


@dataclass
class EncoderConfig:
    name: str = "resnet_tiny"
    image_size: int = 192
    weights: str | None = None  # local safetensors file with the encoder's state dict
    freeze: bool = False
    pixel_mean: float = 0.5
    pixel_std: float = 0.5
    # What the encoder sees of a scan: `fovea`, a square centred on the fovea whose side is `crop_fraction` of
    # the scan's shorter side; or `none`, the whole scan resized to a square, which frames scans of any width
    # (real acquisitions span 512-1536 columns) and synthetic scans alike.
    crop: Literal["fovea", "none"] = "fovea"
    crop_fraction: float = 1.0


@dataclass
class AdapterConfig:
    kind: Literal["linear", "mlp", "resampler"] = "mlp"
    num_queries: int = 16  # resampler only: the number of visual tokens it makes
    num_heads: int = 8  # resampler only
    # linear and mlp: average each pool x pool block of the encoder's token grid before projecting, so a larger
    # image (a finer grid) takes no more of the LLM's positions: 192 px -> 12x12 -> pool 2 -> 6x6 = 36 tokens
    pool: int = 1


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
    quantization: Literal["8bit", "4bit"] | None = None
    # Weights of an unquantized LLM; compute dtype of a quantized one.
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
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
            raise ConfigError("set exactly one of `path` (a local Llama folder) or `tiny: true`")


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
        """Ranges the field types cannot say; errors name the key within this config."""
        if self.encoder.image_size <= 0:
            raise ConfigError(f"must be positive, got {self.encoder.image_size}", "encoder.image_size")
        if self.adapter.num_queries <= 0:
            raise ConfigError(f"must be positive, got {self.adapter.num_queries}", "adapter.num_queries")
        if self.adapter.pool < 1:
            raise ConfigError(f"must be at least 1, got {self.adapter.pool}", "adapter.pool")
        if self.adapter.pool > 1 and self.adapter.kind == "resampler":
            raise ConfigError("the resampler chooses its token count itself (num_queries); use pool: 1", "adapter.pool")
        if not 0 < self.encoder.crop_fraction <= 1:
            raise ConfigError(f"must be in (0, 1], got {self.encoder.crop_fraction}", "encoder.crop_fraction")
        if self.encoder.pixel_std <= 0:
            raise ConfigError(f"must be positive, got {self.encoder.pixel_std}", "encoder.pixel_std")
        if not self.image_token:
            raise ConfigError("must be a non-empty string", "image_token")

    def to_dict(self) -> dict[str, Any]:
        return schema.to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> RetinaVLMConfig:
        """The config in `data` (from `source`, a file named in errors), with every key and type checked."""
        return schema.from_dict(cls, data, source)
