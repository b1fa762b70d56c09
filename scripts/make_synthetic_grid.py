"""Make docs/images/synthetic_grid.png: one synthetic B-scan per AMD stage plus biomarker close-ups.

Run: python scripts/make_synthetic_grid.py [--out docs/images/synthetic_grid.png] [--seed 0]
Each stage example is drawn from the default cohort recipe and labelled with its derived stage and
findings; the close-ups crop the central 2.5 mm around the fovea, as the encoder sees it.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from retinavlm.atomic import write_bytes
from retinavlm.data.synthetic import ScanSpec, load_cohort_config, plan_cohort, render
from retinavlm.knowledge import load_knowledge, stage_from_findings

CLOSE_UPS = (
    {"drusen": {"size": "small"}},
    {"drusen": {"size": "large"}},
    {"ped": {"type": "serous"}},
    {"ped": {"type": "fibrovascular"}},
    {"double_layer_sign": {}},
    {"hyperreflective_foci": {}, "rpe_irregularity": {}},
)


def label(present: dict) -> str:
    parts = [f"{b} ({', '.join(a.values())})" if a else b for b, a in present.items()]
    return ", ".join(parts) or "no findings"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "images" / "synthetic_grid.png")
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kb = load_knowledge()
    config = load_cohort_config(kb=kb)
    domain = config.domains["spectralis_like"]
    plans = plan_cohort(400, args.seed, config, kb)
    examples = [next(p for p in plans if p.stage == stage) for stage in kb.stage_ids]

    fig, axes = plt.subplots(4, 3, figsize=(15, 16.5))
    for ax, plan in zip(axes.flat[:6], examples):
        spec = ScanSpec(plan.present, "OD", False, plan.anatomy_seed, plan.lesion_seed)
        scan = render(spec, domain, np.random.default_rng(plan.index), config.grid, config.central_halfwidth_um)
        ax.imshow(scan.pixels, cmap="gray", vmin=0, vmax=1, aspect="auto")
        ax.set_title(f"{kb.stage(plan.stage).name} · referral: {plan.referral}\n{label(plan.present)}", fontsize=9)
    half = int(config.central_halfwidth_um / config.grid.lateral_um)
    for i, (ax, present) in enumerate(zip(axes.flat[6:], CLOSE_UPS)):
        scan = render(
            ScanSpec(present, "OD", False, 20 + i, 40 + i),
            domain,
            np.random.default_rng(i),
            config.grid,
            config.central_halfwidth_um,
        )
        row, col = scan.fovea
        top = max(row - 70, 0)
        ax.imshow(
            scan.pixels[top : top + 200, max(col - half, 0) : col + half], cmap="gray", vmin=0, vmax=1, aspect="auto"
        )
        findings = {b: {"state": "present", **a} for b, a in present.items()}
        ax.set_title(
            f"close-up: {label(present)}\nstage: {kb.stage(stage_from_findings(findings, kb)).name}", fontsize=9
        )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Synthetic OCT B-scans (retinavlm synth), 496 x 512 px, 3.9 µm x 11.5 µm per pixel", fontsize=12)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    write_bytes(args.out, buffer.getvalue())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
