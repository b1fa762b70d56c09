"""Run one stage in several local CPU processes (data parallel over gloo), as `torchrun` would, from Python.

A step of the tiny model gains nothing from a second torch thread (docs/PERFORMANCE.md), so on a 2-core CPU one
core idles; a second process uses it. `StageTrainer` already splits every step's batch over the processes; the
main process validates and writes checkpoints and the final model. GPUs are launched with `accelerate launch`
(docs/TRAINING.md, "Several processes"), not from here.
"""

from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp

from retinavlm.errors import RetinaVLMError
from retinavlm.knowledge import KnowledgeBase
from retinavlm.train.config import ConfigError, StageConfig


class TrainingProcessError(RetinaVLMError):
    """A training process of a several-process stage failed; `str()` names the stage and the failure."""


def train_in_processes(cfg: StageConfig, restart: bool, knowledge: KnowledgeBase | None, force_knowledge: bool) -> None:
    """Train the stage in `cfg.train.processes` processes on this machine's CPU; returns when they have finished."""
    world = cfg.train.processes
    if torch.cuda.is_available():
        raise ConfigError(
            f"runs {world} CPU processes; on GPUs start one process per GPU with accelerate launch",
            "train.processes",
            cfg.source,
        )
    threads = max(1, (os.cpu_count() or 1) // world)
    try:
        mp.start_processes(
            _train,
            args=(world, _free_port(), threads, cfg, restart, knowledge, force_knowledge),
            nprocs=world,
            start_method="spawn",
        )
    except mp.ProcessRaisedException as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        raise TrainingProcessError(f"{cfg.name}: a training process failed: {lines[-1].strip()}") from exc
    except mp.ProcessExitedException as exc:
        raise TrainingProcessError(f"{cfg.name}: a training process exited: {exc}") from exc


def _train(
    rank: int,
    world: int,
    port: int,
    threads: int,
    cfg: StageConfig,
    restart: bool,
    knowledge: KnowledgeBase | None,
    force_knowledge: bool,
) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_WORLD_SIZE=str(world),
        ACCELERATE_USE_CPU="1",
    )
    torch.set_num_threads(threads)
    from retinavlm.train.trainer import StageTrainer  # after the environment: Accelerate reads it

    StageTrainer(cfg, restart, None, knowledge, force_knowledge).run()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
