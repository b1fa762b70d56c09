"""The machine a result was measured on, recorded beside every timing (run summaries, benchmarks).

Timings only compare on the same hardware, so each result names its CPU by model (Linux's
`/proc/cpuinfo`; `platform.processor()` is empty there) and the load on the machine when it started.
"""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name, e.g. "AMD EPYC 9B14 96-Core Processor"; the architecture where the OS does not say."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, Any]:
    """CPU, cores, torch threads, GPU and the 1-minute load average (other work skews wall times)."""
    import torch

    info = {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    with contextlib.suppress(OSError):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    return info
