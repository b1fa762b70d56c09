"""Rank stage-0 encoders by a linear probe on real held-out patients: diagnosis and referral macro-F1.

For each encoder (random, or NAME=STAGE0_FOLDER), frozen pooled features (`pool_tokens`) of the whole scan
at 128 px; a balanced logistic regression (scripts/measure_domain_gap.py's `probe`) fitted on the real
cohort's training patients and scored on its validation patients, for
- diagnosis: the scan's known label signature (stage, referral, condition, known findings), which on
  Kermany is its class (CNV, DME, DRUSEN, NORMAL);
- referral: none, routine, urgent.
The test patients are never read. Splits: the stage's defaults (SplitConfig: 0.15, 0.15, seed 0).

    python scripts/ssl_probe_table.py --real ../shared/data/kermany-oct2017 \\
        --encoder random --encoder simclr=runs/simclr/final --seed 0 --out probe_table.json
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from measure_domain_gap import ENCODER, IMAGE_SIZE, encoder_weights, features, labelled, probe

from retinavlm.atomic import write_json
from retinavlm.data.cohorts.splits import SplitConfig
from retinavlm.knowledge import load_knowledge
from retinavlm.model.encoder import create_encoder
from retinavlm.train.records import load_splits
from retinavlm.train.scan_classifier import ClassifierConfig, label_signature, load_squares


def probe_row(name: str, weights: str | None, squares: dict, records: dict, seed: int) -> dict:
    """Diagnosis and referral macro-F1 of one encoder's probe, validation patients only."""
    torch.manual_seed(seed)  # the random encoder's init; a checkpoint overwrites it
    encoder = create_encoder(ENCODER, IMAGE_SIZE, weights)
    x = {split: features(encoder, s) for split, s in squares.items()}
    diagnosis = {split: [label_signature(r).name() for r in rs] for split, rs in records.items()}
    row = {"encoder": name, "seed": seed}
    row["diagnosis_macro_f1"] = probe(x["train"], diagnosis["train"], x["validation"], diagnosis["validation"])
    train_rows, train_y = labelled(records["train"], "referral")
    val_rows, val_y = labelled(records["validation"], "referral")
    row["referral_macro_f1"] = probe(x["train"][train_rows], train_y, x["validation"][val_rows], val_y)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", required=True, help="a real cohort source (e.g. the Kermany class folders)")
    parser.add_argument(
        "--encoder", action="append", default=[], help="random, or NAME=STAGE0_FOLDER (repeatable; default random)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the random encoder's init seed")
    parser.add_argument("--out", required=True, help="JSON file for the rows")
    args = parser.parse_args()
    splits = load_splits(args.real, load_knowledge(), SplitConfig())
    records = {"train": splits.train, "validation": splits.validation}
    config = ClassifierConfig(image_size=IMAGE_SIZE, crop="none")
    squares = {split: load_squares(rs, config) for split, rs in records.items()}
    rows = []
    for spec in args.encoder or ["random"]:
        name, _, folder = spec.partition("=")
        if not folder and name != "random":
            sys.exit(f"error: --encoder {spec}: expected random or NAME=STAGE0_FOLDER")
        row = probe_row(name, encoder_weights(folder) if folder else None, squares, records, args.seed)
        print(json.dumps(row), flush=True)
        rows.append(row)
    write_json(args.out, {"real": args.real, "scans": {k: len(v) for k, v in records.items()}, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
