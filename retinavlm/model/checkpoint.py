"""Save and load a RetinaVLM as one folder, dispatching on its config (never on folder names).

    checkpoint.json        manifest: format version, knowledge-base version, base-LLM reference,
                           and the size and sha256 of every file below (truncation is caught here)
    config.json            RetinaVLMConfig
    adapter.safetensors    projection adapter
    encoder.safetensors    encoder, unless it is exactly the `encoder.weights` file it was loaded from
    lora.safetensors       LoRA matrices, when configured
    llm/                   the tiny LLM's base weights (HF folder, quantized form if quantized);
                           a Llama loaded from `llm.path` is referenced, never copied
    tokenizer/             tokenizer files and chat template

Written through `atomic_dir`, so a crash never leaves a half-written checkpoint. Safetensors only.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from peft import get_peft_model_state_dict, set_peft_model_state_dict
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from retinavlm import __version__
from retinavlm.atomic import atomic_dir, write_json
from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.model.config import ConfigError, RetinaVLMConfig
from retinavlm.model.encoder import check_state_dict, create_encoder, load_encoder_weights
from retinavlm.model.llm import base_state_dict, load_llm, quiet_transformers
from retinavlm.model.tokenizer import load_tokenizer

if TYPE_CHECKING:
    from retinavlm.model.vlm import RetinaVLM

FORMAT = "retinavlm-checkpoint"
FORMAT_VERSION = 1
MANIFEST = "checkpoint.json"


class CheckpointError(RetinaVLMError):
    """A checkpoint folder is missing, truncated, corrupt or does not match its config."""


class KnowledgeMismatchError(CheckpointError):
    """A checkpoint trained under one knowledge base is used with another (allowed only when forced)."""


def save_checkpoint(model: RetinaVLM, folder: str | os.PathLike) -> None:
    config = model.config
    with atomic_dir(folder) as tmp:
        write_json(tmp / "config.json", config.to_dict())
        save_tensors(model.adapter.state_dict(), tmp / "adapter.safetensors")
        if not _encoder_is_weights_file(model):
            save_tensors(model.encoder.state_dict(), tmp / "encoder.safetensors")
        if model.has_lora:
            save_tensors(get_peft_model_state_dict(model.llm, save_embedding_layers=False), tmp / "lora.safetensors")
        if config.llm.path is None:
            base = model.llm.get_base_model() if model.has_lora else model.llm
            with quiet_transformers():
                base.config.save_pretrained(tmp / "llm")
                base.generation_config.save_pretrained(tmp / "llm")
            save_tensors(base_state_dict(model.llm), tmp / "llm" / "model.safetensors")
        model.processor.tokenizer.save_pretrained(tmp / "tokenizer")
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        write_json(
            tmp / MANIFEST,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "retinavlm_version": __version__,
                "knowledge_base": model.knowledge_version,
                "base_llm": config.llm.path,
                "files": {p.relative_to(tmp).as_posix(): _fingerprint(p) for p in files},
            },
        )


def load_checkpoint(
    folder: str | os.PathLike,
    device: str,
    model_class: type[RetinaVLM],
    knowledge: KnowledgeBase | None = None,
    force_knowledge: bool = False,
) -> RetinaVLM:
    """Load a checkpoint trained under `knowledge` (default: the default knowledge base).

    A checkpoint trained under another knowledge base is refused (its answers use other stage,
    referral or biomarker definitions) unless `force_knowledge`, which only warns.
    """
    folder = Path(folder)
    manifest = _verify(folder)
    try:
        config = RetinaVLMConfig.from_dict(_read_json(folder / "config.json"))
    except ConfigError as exc:
        raise CheckpointError(f"{folder / 'config.json'}: {exc}") from None
    check_knowledge(folder, manifest.get("knowledge_base"), knowledge or load_knowledge(), force_knowledge)
    try:
        tokenizer = load_tokenizer(folder / "tokenizer", config.image_token)
        encoder = create_encoder(config.encoder.name, config.encoder.image_size)
        encoder_file = folder / "encoder.safetensors"
        load_encoder_weights(encoder, encoder_file if encoder_file.is_file() else _encoder_weights_path(config))
        llm_folder = config.llm.path if config.llm.path is not None else folder / "llm"
        llm = load_llm(llm_folder, config.llm.quantization, config.llm.dtype, device)
        model = model_class.assemble(config, encoder, llm, tokenizer, device, manifest.get("knowledge_base", "unknown"))
    except RetinaVLMError as exc:  # a part of the checkpoint is missing, unreadable or does not fit the others
        raise CheckpointError(f"{folder}: {exc}") from None
    _load_into(model.adapter.state_dict(), folder / "adapter.safetensors", model.adapter.load_state_dict)
    if model.has_lora:
        _load_into(
            get_peft_model_state_dict(model.llm, save_embedding_layers=False),
            folder / "lora.safetensors",
            lambda state: set_peft_model_state_dict(model.llm, state),
        )
    return model.eval()


def check_knowledge(folder: Path, recorded: str | None, knowledge: KnowledgeBase, force: bool) -> None:
    """Refuse (or with `force`, warn about) a checkpoint whose recorded knowledge base is not `knowledge`."""
    if recorded == knowledge.version_tag:
        return
    message = (
        f"{folder}: trained under knowledge base {recorded or 'unknown'}, this run uses {knowledge.version_tag} "
        f"({knowledge.path})"
    )
    if not force:
        raise KnowledgeMismatchError(f"{message}; pass --force-knowledge to use it anyway")
    warnings.warn(message, stacklevel=3)


def _encoder_weights_path(config: RetinaVLMConfig) -> str:
    if config.encoder.weights is None:
        raise CheckpointError("checkpoint has no encoder.safetensors and its config names no encoder.weights file")
    return config.encoder.weights


def _encoder_is_weights_file(model: RetinaVLM) -> bool:
    """True when the encoder is bit-identical to its `encoder.weights` file, so a reference suffices."""
    path = model.config.encoder.weights
    if path is None or not Path(path).is_file():
        return False
    reference = load_file(path)
    current = model.encoder.state_dict()
    return reference.keys() == current.keys() and all(torch.equal(reference[k], current[k].cpu()) for k in current)


def save_tensors(state: dict[str, torch.Tensor], path: Path) -> None:
    """A state dict as safetensors (CPU, contiguous), the one weights format the toolkit writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(path), metadata={"format": "pt"})


def _load_into(expected: dict[str, torch.Tensor], path: Path, load) -> None:
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
    check_state_dict(expected, state, f"{path}: does not match the model its config describes", CheckpointError)
    load(state)


def _fingerprint(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def _verify(folder: Path) -> dict:
    """Check the manifest and every file it lists; return the manifest."""
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: checkpoint folder not found")
    if not (folder / MANIFEST).is_file():
        raise CheckpointError(f"{folder}: not a RetinaVLM checkpoint (no {MANIFEST})")
    manifest = _read_json(folder / MANIFEST)
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise CheckpointError(f"{folder / MANIFEST}: not a RetinaVLM checkpoint manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{folder}: checkpoint format version {manifest.get('format_version')}, this toolkit reads {FORMAT_VERSION}"
        )
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"{path}: missing from the checkpoint")
        size = path.stat().st_size
        if size != expected.get("bytes"):
            raise CheckpointError(
                f"{path}: {size} bytes, the checkpoint recorded {expected.get('bytes')} (truncated or replaced)"
            )
        if _sha256(path) != expected.get("sha256"):
            raise CheckpointError(f"{path}: contents differ from the checkpoint's checksum (corrupt or edited)")
    return manifest
