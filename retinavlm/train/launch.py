"""Run a function in several local CPU processes that form one gloo process group, as `torchrun` would, from
Python.

A step of the tiny model gains nothing from a second torch thread (docs/PERFORMANCE.md), so on a multi-core CPU
the other cores idle; more processes use them. The trainer (`train.processes`) passes its own one-process stage
run as the target: `StageTrainer` already splits every step's batch over the processes, and the main process
validates and writes checkpoints and the final model. GPUs are launched with `accelerate launch`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import torch
import torch.multiprocessing as mp

from retinavlm.errors import RetinaVLMError


class TrainingProcessError(RetinaVLMError):
    """A process of a several-process run failed; `str()` names the run and the failure."""


def run_in_cpu_processes(target: Callable[..., object], args: tuple, processes: int, what: str) -> None:
    """`target(*args)` in `processes` spawned processes (each with its share of the cores as torch threads);
    returns when all have finished. `target` must be importable by name (a module-level function)."""
    threads = max(1, (os.cpu_count() or 1) // processes)
    try:
        mp.start_processes(
            _start, args=(processes, _free_port(), threads, target, args), nprocs=processes, start_method="spawn"
        )
    except mp.ProcessRaisedException as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        raise TrainingProcessError(f"{what}: a process failed: {lines[-1].strip()}") from exc
    except mp.ProcessExitedException as exc:
        raise TrainingProcessError(f"{what}: a process exited: {exc}") from exc


def _start(rank: int, world: int, port: int, threads: int, target: Callable[..., object], args: tuple) -> None:
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
    target(*args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
