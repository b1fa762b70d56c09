"""Resumable training checkpoints: everything needed to continue bit-exactly, in safetensors + JSON.

A checkpoint folder `step-<N>` holds the trainable weights and buffers, the optimizer and scheduler
state, the trainer position, every process's RNG states (python, numpy, torch) and, when the stage keeps
its best validated step (`checkpoint.keep_best`), that step's weights and score. It is built under
a temporary name and renamed when complete (`atomic_dir`), so a kill leaves either the previous
checkpoints or the new one, never half of one. No pickle is written or read.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from retinavlm.atomic import atomic_dir, write_json
from retinavlm.errors import RetinaVLMError

STEP_DIR = re.compile(r"^step-(\d+)$")
STATE_FILE = "trainer_state.json"
BEST_FILE = "best.safetensors"


class ResumeError(RetinaVLMError):
    """A checkpoint cannot be resumed from. `str()` names the folder and the problem."""


@dataclass
class BestStep:
    """The validated step with the best score so far, and its trainable tensors (`trainable_state`)."""

    step: int
    value: float
    tensors: dict[str, torch.Tensor]


@dataclass
class TrainerState:
    step: int
    config_hash: str
    seconds: float = 0.0  # training time so far, so a resumed run reports the whole
    best: BestStep | None = None  # kept with the checkpoint, so a resumed run chooses among all its steps
    # The latest validations' keep_best scores (up to `checkpoint.keep_best.window`), which a step's score averages.
    recent_scores: list[float] = field(default_factory=list)


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The tensors training changes: parameters that require grad, and all buffers (e.g. BatchNorm stats)."""
    tensors = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    tensors.update({n: b.detach() for n, b in model.named_buffers() if b is not None})
    return {n: t.cpu().contiguous().clone() for n, t in tensors.items()}


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    version, mt, gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    tensors = {"torch": torch.get_rng_state(), "numpy": torch.from_numpy(np_keys.astype(np.int64))}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda{i}"] = s
    meta = {"python": [version, list(mt), gauss], "numpy": [np_kind, int(np_pos), int(np_has_gauss), float(np_gauss)]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    version, mt, gauss = meta["python"]
    random.setstate((version, tuple(mt), gauss))
    np_kind, np_pos, np_has_gauss, np_gauss = meta["numpy"]
    np.random.set_state((np_kind, tensors["numpy"].numpy().astype(np.uint32), np_pos, np_has_gauss, np_gauss))
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("cuda"))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, per_param in state["state"].items():
        scalars[str(index)] = {}
        for key, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.cpu().contiguous()
            else:
                scalars[str(index)][key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResumeError(f"{path.parent}: unreadable checkpoint ({path.name}: {type(exc).__name__}: {exc})") from None


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise ResumeError(f"{path.parent}: unreadable checkpoint ({path.name}: {type(exc).__name__}: {exc})") from None


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(s) for i, s in meta["scalars"].items()}
    for name, tensor in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    folder: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: TrainerState,
    rng_states: list[tuple[dict[str, torch.Tensor], dict[str, Any]]],
) -> None:
    """Write one complete checkpoint atomically; `rng_states` has one entry per process (by rank)."""
    with atomic_dir(folder) as tmp:
        save_file(trainable_state(model), str(tmp / "trainable.safetensors"))
        opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        write_json(tmp / "optimizer.json", opt_meta)
        write_json(tmp / "scheduler.json", scheduler.state_dict())
        for rank, (tensors, meta) in enumerate(rng_states):
            save_file(tensors, str(tmp / f"rng-rank{rank}.safetensors"))
            write_json(tmp / f"rng-rank{rank}.json", meta)
        if state.best is not None:
            save_file(state.best.tensors, str(tmp / BEST_FILE))
        write_json(
            tmp / STATE_FILE,
            {
                "step": state.step,
                "config_hash": state.config_hash,
                "seconds": state.seconds,
                "processes": len(rng_states),
                "best": None if state.best is None else {"step": state.best.step, "value": state.best.value},
                "recent_scores": state.recent_scores,
            },
        )


def load_checkpoint(
    folder: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    rank: int,
    num_processes: int,
    config_hash: str,
) -> TrainerState:
    """Restore a checkpoint in place; raise ResumeError naming the folder when it does not fit this run."""
    meta = _read_json(folder / STATE_FILE)
    missing_keys = sorted({"step", "config_hash", "seconds", "processes"} - set(meta if isinstance(meta, dict) else ()))
    if missing_keys:
        raise ResumeError(f"{folder}: unreadable checkpoint ({STATE_FILE} has no {missing_keys[0]!r})")
    if meta["config_hash"] != config_hash:
        raise ResumeError(f"{folder}: written by a run with a different stage config; use a new output_dir")
    if meta["processes"] != num_processes:
        raise ResumeError(f"{folder}: written by {meta['processes']} process(es), resuming with {num_processes}")
    # Every value is read before anything is restored in place, so a damaged file leaves the model untouched.
    try:
        step, seconds = int(meta["step"]), float(meta["seconds"])
        best_at = None if meta.get("best") is None else (int(meta["best"]["step"]), float(meta["best"]["value"]))
        recent_scores = [float(v) for v in meta.get("recent_scores", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise ResumeError(f"{folder}: unreadable checkpoint ({STATE_FILE}: {type(exc).__name__}: {exc})") from None
    weights = _read_tensors(folder / "trainable.safetensors")
    expected = set(trainable_state(model))
    best = None if best_at is None else BestStep(*best_at, _read_tensors(folder / BEST_FILE))
    for name, tensors in ({"trainable": weights} | ({"best": best.tensors} if best else {})).items():
        if set(tensors) != expected:
            missing = sorted(expected - set(tensors))[:3]
            raise ResumeError(f"{folder}: {name} tensors do not match the model (missing e.g. {missing})")
    optimizer_state = _unflatten_optimizer(
        _read_tensors(folder / "optimizer.safetensors"), _read_json(folder / "optimizer.json")
    )
    scheduler_state = _read_json(folder / "scheduler.json")
    rng_tensors, rng_meta = (
        _read_tensors(folder / f"rng-rank{rank}.safetensors"),
        _read_json(folder / f"rng-rank{rank}.json"),
    )
    try:
        restore_tensors(model, weights)
    except ValueError as exc:
        raise ResumeError(f"{folder}: {exc}") from None
    try:
        optimizer.load_state_dict(optimizer_state)
    except ValueError as exc:  # torch's report on a state saved for other parameter groups
        raise ResumeError(f"{folder}: the optimizer state does not fit this run's optimizer ({exc})") from None
    scheduler.load_state_dict(scheduler_state)
    set_rng_state(rng_tensors, rng_meta)
    return TrainerState(step, config_hash, seconds, best, recent_scores)


def restore_tensors(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy `tensors` (named as `trainable_state` names them) into the model's parameters and buffers, in place."""
    named = dict(model.named_parameters()) | dict(model.named_buffers())
    with torch.no_grad():
        for name, tensor in tensors.items():
            if named[name].shape != tensor.shape:
                raise ValueError(f"{name} has shape {tuple(tensor.shape)}, model has {tuple(named[name].shape)}")
            named[name].copy_(tensor)


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first (temporary folders of a killed write are skipped)."""
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name)) and (p / STATE_FILE).is_file()
    ]
    return [p for _, p in sorted(found)]


def remove_stale(root: Path) -> None:
    """Delete what a killed write left: temporary folders (their names start with a dot)."""
    if root.is_dir():
        for p in root.iterdir():
            if p.name.startswith(".step-") and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)


def prune(root: Path, keep_last: int) -> None:
    for old in list_checkpoints(root)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
