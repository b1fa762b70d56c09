"""The `retinavlm` command. Each subcommand lives in `retinavlm/commands/<name>.py` and is imported
only when it runs, so `retinavlm --help` stays fast (no torch import).

A command module provides `add_arguments(parser)` and `run(args) -> int`. Bad input raises a
`RetinaVLMError` (or an OSError for a file it cannot read or write); it is caught here, once, and
printed as one line with exit status 2; so is a missing optional dependency (retinavlm/extras.py), as
`retinavlm COMMAND: ... needs the 'EXTRA' extra ...`. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from retinavlm.errors import RetinaVLMError
from retinavlm.extras import MissingExtraError

# name -> (one-line help, longer description)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "run the whole pipeline on the synthetic cohort (the README's main job)",
        "Render a synthetic cohort, train the tiny model through the curricula, write reports for "
        "held-out patients and grade them against baselines; writes a run folder the viewer opens.",
    ),
    "synth": (
        "render a synthetic OCT cohort with exact labels",
        "Render B-scans from findings specifications with the knowledge-base rules; writes images, "
        "references.jsonl (DESIGN.md §3), annotations and a manifest.",
    ),
    "inspect": (
        "check whether files are usable OCT B-scans (quality gate)",
        "Read files or folders and print, per file, whether it is a usable OCT B-scan with its size, "
        "bit depth and quality figures, or the reason it was refused.",
    ),
    "report": (
        "write OCT reports for scans with a trained checkpoint",
        "Read scans (files or folders), skip and list unreadable or refused ones, and write one report per "
        "scan with a RetinaVLM checkpoint to a predictions JSONL file (DESIGN.md §3).",
    ),
    "deidentify": (
        "write de-identified copies of DICOM files (DICOM basic confidentiality profile)",
        "Copy DICOM files (a file or a folder, recursively) without identifying attributes, following the DICOM "
        "PS3.15 Annex E Basic Application Level Confidentiality Profile: UIDs replaced consistently, private tags, "
        "curves and overlays removed, pixel data unchanged; copies named by their new UID unless asked otherwise.",
    ),
    "dataset": (
        "build a patient-split Hugging Face dataset from a cohort",
        "Build a datasets.DatasetDict (train/validation/test, split by patient, stratified by label) from a "
        "synthetic cohort, a CSV/JSONL manifest or Kermany-style class folders, and save it with save_to_disk.",
    ),
    "train": (
        "run one curriculum stage from its YAML (resumes after a kill)",
        "Train one curriculum stage (stage 0 encoder pretraining, stage 1 introduction to retina, stage 2 "
        "advanced retinal specialism) from a stage YAML with KEY=VALUE overrides; checkpoints, resumes, logs "
        "metrics to CSV and TensorBoard.",
    ),
    "view": (
        "open the Streamlit report viewer and reader study on a run folder",
        "Start the report viewer (ui/app.py) on 127.0.0.1: cohort table and plots, case pages with scan, "
        "highlighted findings and rubric scores, live reports from a checkpoint, and a blinded reader study.",
    ),
    "curriculum": (
        "run the chain of curriculum stages, then the held-out evaluation",
        "Run every stage of a curriculum YAML in order, each from the previous stage's checkpoint, then score "
        "the final model's closed-ended answers on held-out patients (own vs shuffled images).",
    ),
    "evaluate": (
        "grade free-text reports against reference labels with a clinical rubric",
        "Extract findings, stage and referral from each report (negation, hedging, history, other eye), score "
        "them with a rubric YAML, and write results.json (scores with patient-bootstrap 95% CIs, F1s, "
        "per-biomarker metrics, paired comparisons), samples.jsonl, results.csv and summary.md.",
    ),
    "label-reports": (
        "turn free-text reference reports into reference labels",
        "Read {id, report} JSON lines and write reference labels (stage, referral, every biomarker present or "
        "absent) in the interchange format, taking what each report states and the knowledge-base rules for the rest.",
    ),
}


def _env_defaults() -> None:
    # Nothing is downloaded at run time (DESIGN.md §2).
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "NO_ALBUMENTATIONS_UPDATE"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retinavlm",
        description="RetinaVLM toolkit: OCT vision-language models, curricula and clinical report grading.",
    )
    from retinavlm import __version__

    parser.add_argument("--version", action="version", version=f"retinavlm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (short, long) in COMMANDS.items():
        sub.add_parser(name, help=short, description=long, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    _env_defaults()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 2
    if argv[0] not in COMMANDS:
        parser.parse_args(argv)  # --help, --version, or an "invalid choice" error (exit 2)
        return 2
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(f"retinavlm.commands.{name.replace('-', '_')}")
    short, long = COMMANDS[name]
    sub = argparse.ArgumentParser(prog=f"retinavlm {name}", description=long)
    module.add_arguments(sub)
    args = sub.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except MissingExtraError as exc:
        print(f"retinavlm {name}: {exc}", file=sys.stderr)
        return 2
    except RetinaVLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or name}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
