"""Training metrics to a tidy CSV (step, metric, value) and to TensorBoard.

The CSV is rewritten atomically at each flush; on resume, rows after the checkpoint's step are
dropped so the file reads as if the run had never been interrupted. TensorBoard event files are
append-only logs by design; `purge_step` hides the events a killed run wrote after its checkpoint.
tensorboard is a base dependency, not an extra: the main job (`retinavlm demo`) trains, so a plain
`pip install retinavlm` must be able to write this log.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from retinavlm.atomic import write_text

FIELDS = ("step", "metric", "value")


class MetricsLog:
    def __init__(self, output_dir: Path, start_step: int, enabled: bool = True, tensorboard: bool = True):
        self.path = output_dir / "metrics.csv"
        self.enabled = enabled
        self.rows: list[tuple[int, str, float]] = []
        self.writer = None
        if not enabled:
            return
        if self.path.is_file():
            with self.path.open(newline="") as handle:
                self.rows = [(int(r["step"]), r["metric"], float(r["value"])) for r in csv.DictReader(handle)]
            self.rows = [r for r in self.rows if r[0] <= start_step]
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(output_dir / "tensorboard"), purge_step=start_step or None)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        for name, value in metrics.items():
            self.rows.append((step, name, float(value)))
            if self.writer is not None:
                self.writer.add_scalar(name, float(value), step)

    def flush(self) -> None:
        if not self.enabled:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(FIELDS)
        writer.writerows(self.rows)
        write_text(self.path, buffer.getvalue())
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
