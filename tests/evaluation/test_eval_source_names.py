"""`retinavlm evaluate` puts no scan file name into its outputs: a reference's `image` (a source path such as
`CNV-1016042-1.jpeg`, whose name carries a patient number) is read but never written, so the command
needs no --keep-source-names; ids and patient ids are the caller's keys and are passed through."""

import json
from pathlib import Path

from retinavlm.cli import main

SOURCE = "kermany/CNV/CNV-1016042-1.jpeg"


def test_reference_images_never_reach_the_outputs(tmp_path: Path, capsys) -> None:
    reference = {
        "id": "scan-1",
        "patient_id": "patient-1",
        "image": SOURCE,
        "stage": "late_wet_active",
        "referral": "urgent",
        "biomarkers": {"srf": "present"},
    }
    (tmp_path / "refs.jsonl").write_text(json.dumps(reference) + "\n")
    report = {"id": "scan-1", "report": "Subretinal fluid. Active neovascular AMD; refer urgently.", "model": "m"}
    (tmp_path / "preds.jsonl").write_text(json.dumps(report) + "\n")
    out = tmp_path / "out"
    argv = ["evaluate", "--predictions", str(tmp_path / "preds.jsonl"), "--references", str(tmp_path / "refs.jsonl")]
    assert main([*argv, "--out", str(out), "--bootstrap", "0"]) == 0

    written = "\n".join(path.read_text() for path in sorted(out.iterdir())) + "".join(capsys.readouterr())
    assert "scan-1" in written and "patient-1" in written  # the keys are passed through
    for name in ("CNV-1016042-1", "1016042", "kermany"):
        assert name not in written
